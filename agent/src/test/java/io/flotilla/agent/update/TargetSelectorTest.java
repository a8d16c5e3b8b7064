package io.flotilla.agent.update;

import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.agent.AgentException;
import io.flotilla.agent.ExitCode;
import io.flotilla.protocol.device.ComposeAppRef;
import io.flotilla.protocol.device.TargetCustom;
import io.flotilla.protocol.device.TargetsMetadata;
import io.flotilla.protocol.device.TargetsSigned;
import io.flotilla.protocol.device.TufTarget;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class TargetSelectorTest {

  private static final String HW = "amd64-linux";
  private final List<String> warnings = new ArrayList<>();

  private static String uri(String app, char digit) {
    return "reg:5000/acme/" + app + "@sha256:" + String.valueOf(digit).repeat(64);
  }

  private static TufTarget target(
      String hw, String version, List<String> tags, Map<String, String> apps) {
    Map<String, ComposeAppRef> refs = new HashMap<>();
    apps.forEach((name, uri) -> refs.put(name, new ComposeAppRef(uri)));
    return TufTarget.containersOnly(
        new TargetCustom(
            hw, version, List.of(hw), tags, TargetCustom.FORMAT_OSTREE, null, null, "sha", refs));
  }

  private static TargetsMetadata metadata(Map<String, TufTarget> targets) {
    return new TargetsMetadata(
        List.of(), new TargetsSigned(TargetsSigned.TYPE, "2030-01-01T00:00:00Z", 1, targets));
  }

  private final TargetsMetadata fleet =
      metadata(
          Map.of(
              "amd64-linux-9",
                  target(
                      HW,
                      "9",
                      List.of("main"),
                      Map.of("web", uri("web", '1'), "db", uri("db", '2'))),
              "amd64-linux-10",
                  target(
                      HW,
                      "10",
                      List.of("main"),
                      Map.of("web", uri("web", '3'), "db", uri("db", '2'))),
              "amd64-linux-11", target(HW, "11", List.of("devel"), Map.of("web", uri("web", '4'))),
              "arm64-linux-12",
                  target("arm64-linux", "12", List.of("main"), Map.of("web", uri("web", '5')))));

  private TargetSelector selector(String tag, List<String> shortlist) {
    return new TargetSelector(
        HW, Optional.ofNullable(tag), Optional.ofNullable(shortlist), warnings::add);
  }

  @Test
  void picksTheHighestVersionNumericallyForHardwareIdAndTag() {
    SelectedTarget selected = selector("main", null).select(fleet, OptionalLong.empty());
    assertEquals("amd64-linux-10", selected.name(), "10 beats 9 although \"9\" > \"10\" as text");
    assertEquals(
        Map.of(
            "db",
            "reg:5000/acme/db@sha256:" + "2".repeat(64),
            "web",
            "reg:5000/acme/web@sha256:" + "3".repeat(64)),
        Map.of(
            "db",
            selected.apps().get("db").toString(),
            "web",
            selected.apps().get("web").toString()));
    assertFalse(selected.newerAvailable());
    assertEquals(
        "amd64-linux-11", selector("devel", null).select(fleet, OptionalLong.empty()).name());
    assertEquals(
        "amd64-linux-11",
        selector(null, null).select(fleet, OptionalLong.empty()).name(),
        "no tag: all tags");
  }

  @Test
  void requestedVersionIsHonouredAndSaysWhenANewerOneExists() {
    SelectedTarget nine = selector("main", null).select(fleet, OptionalLong.of(9));
    assertEquals("amd64-linux-9", nine.name());
    assertTrue(nine.newerAvailable());
    AgentException missing =
        assertThrows(
            AgentException.class, () -> selector("main", null).select(fleet, OptionalLong.of(11)));
    assertEquals(ExitCode.TARGET_NOT_FOUND, missing.exitCode());
    assertTrue(missing.getMessage().contains("[9, 10]"), missing.getMessage());
  }

  @Test
  void nothingForThisHardwareOrTagIsNoMatchingTarget() {
    AgentException e =
        assertThrows(
            AgentException.class,
            () ->
                new TargetSelector("riscv64", Optional.of("main"), Optional.empty(), warnings::add)
                    .select(fleet, OptionalLong.empty()));
    assertEquals(ExitCode.NO_MATCHING_TARGET, e.exitCode());
    assertEquals(
        ExitCode.NO_MATCHING_TARGET,
        assertThrows(
                AgentException.class,
                () -> selector("qa", null).select(fleet, OptionalLong.empty()))
            .exitCode());
    assertEquals(
        ExitCode.NO_MATCHING_TARGET,
        assertThrows(
                AgentException.class,
                () ->
                    selector("main", null)
                        .select(new TargetsMetadata(null, null), OptionalLong.empty()))
            .exitCode());
  }

  @Test
  void shortlistNarrowsTheApps() {
    assertEquals(
        List.of("db"),
        List.copyOf(
            selector("main", List.of("db", "absent"))
                .select(fleet, OptionalLong.empty())
                .apps()
                .keySet()));
    assertTrue(
        selector("main", List.of("none")).select(fleet, OptionalLong.empty()).apps().isEmpty());
  }

  @Test
  void unusableTargetsAreSkippedWithAWarning() {
    TargetsMetadata withBad =
        metadata(
            Map.of(
                "amd64-linux-1", target(HW, "1", List.of("main"), Map.of("web", uri("web", '1'))),
                "amd64-linux-2",
                    target(HW, "2", List.of("main"), Map.of("web", "reg/acme/web:latest")),
                "amd64-linux-3", target(HW, "3", List.of("main"), Map.of("web", uri("other", '1'))),
                "amd64-linux-x", target(HW, "x", List.of("main"), Map.of())));
    assertEquals(
        "amd64-linux-1", selector("main", null).select(withBad, OptionalLong.empty()).name());
    assertEquals(3, warnings.size(), warnings.toString());
    assertTrue(selector("main", null).byName(withBad, "amd64-linux-1").isPresent());
    assertTrue(selector("main", null).byName(withBad, "amd64-linux-2").isEmpty());
  }
}
