package io.flotilla.agent.config;

import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.protocol.device.ConfigFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RemoteConfigTest {

  private static final String FIOCTL = ConfigFile.FIOCTL_TOML;

  @TempDir Path tmp;

  private final List<String> log = new ArrayList<>();

  private RemoteConfig remote(Path confD) {
    return new RemoteConfig(
        tmp.resolve("state/config"),
        Optional.ofNullable(confD),
        tmp.resolve("state/remote-config.json"),
        log::add);
  }

  private static ConfigFile file(String value) {
    return new ConfigFile(value, List.of(), true);
  }

  @Test
  void aTagPushedAsFioctlTomlChangesTheMergedConfig() throws IOException {
    Path confD = Files.createDirectories(tmp.resolve("conf.d"));
    Path sota =
        Files.writeString(
            tmp.resolve("sota.toml"), "[pacman]\ntags = \"main\"\ncompose_apps = \"shop\"\n");
    assertEquals("main", ConfigLoader.load(List.of(sota, confD)).tag().orElseThrow());

    RemoteConfig.Applied applied =
        remote(confD)
            .apply(
                Map.of(FIOCTL, file("[pacman]\n  tags = \"beta\"\n")),
                Optional.of("Fri, 27 Nov 2026 10:00:00 GMT"));

    assertEquals(List.of(FIOCTL), applied.changed());
    assertTrue(applied.agentConfigChanged());
    AgentConfig merged = ConfigLoader.load(List.of(sota, confD));
    assertEquals("beta", merged.tag().orElseThrow(), "z-50-fioctl.toml wins over sota.toml");
    assertEquals(
        List.of("shop"),
        merged.composeApps().orElseThrow(),
        "keys the file does not set stay as they were");
    assertEquals(
        "rw-------",
        PosixFilePermissions.toString(
            Files.getPosixFilePermissions(tmp.resolve("state/config").resolve(FIOCTL))));
    assertEquals("Fri, 27 Nov 2026 10:00:00 GMT", remote(confD).installed().lastModified());
  }

  @Test
  void theSameFilesAgainChangeNothingAndAFileNoLongerSentIsRemoved() throws IOException {
    Path confD = Files.createDirectories(tmp.resolve("conf.d"));
    Map<String, ConfigFile> files =
        Map.of(FIOCTL, file("[pacman]\ntags = \"beta\"\n"), "wifi.conf", file("ssid=x\n"));
    assertEquals(
        List.of("wifi.conf", FIOCTL), remote(confD).apply(files, Optional.empty()).changed());

    RemoteConfig.Applied again = remote(confD).apply(files, Optional.empty());
    assertEquals(List.of(), again.changed());
    assertFalse(again.agentConfigChanged());

    RemoteConfig.Applied withoutToml =
        remote(confD).apply(Map.of("wifi.conf", file("ssid=x\n")), Optional.empty());
    assertEquals(List.of(FIOCTL), withoutToml.removed());
    assertTrue(
        withoutToml.agentConfigChanged(),
        "the tag override is gone, so the agent's config changed");
    assertFalse(Files.exists(confD.resolve(FIOCTL)));
    assertFalse(Files.exists(tmp.resolve("state/config").resolve(FIOCTL)));

    RemoteConfig.Applied none = remote(confD).apply(Map.of(), Optional.empty());
    assertEquals(
        List.of("wifi.conf"),
        none.removed(),
        "no config at all (204) removes every installed file");
    assertFalse(none.agentConfigChanged());
  }

  @Test
  void unusableFilesAreSkippedWithAReasonAndTheInstalledVersionStays() throws IOException {
    Path confD = Files.createDirectories(tmp.resolve("conf.d"));
    remote(confD).apply(Map.of(FIOCTL, file("[pacman]\ntags = \"beta\"\n")), Optional.empty());

    RemoteConfig.Applied applied =
        remote(confD)
            .apply(
                Map.of(
                    FIOCTL,
                    file("[pacman\ntags = "),
                    "../../etc/passwd",
                    file("root::0:0::/:/bin/sh\n"),
                    "secret.key",
                    new ConfigFile("BASE64CIPHERTEXT", List.of(), false)),
                Optional.empty());

    assertEquals(List.of(), applied.changed());
    assertEquals(
        List.of(),
        applied.removed(),
        "an invalid new version does not remove the valid installed one");
    assertEquals("beta", ConfigLoader.load(List.of(confD)).tag().orElseThrow());
    assertFalse(Files.exists(tmp.resolve("etc/passwd")));
    assertTrue(log.stream().anyMatch(l -> l.contains("invalid TOML")), log.toString());
    assertTrue(log.stream().anyMatch(l -> l.contains("unusable name")), log.toString());
    assertTrue(
        log.stream().anyMatch(l -> l.contains("secret.key") && l.contains("encrypted")),
        log.toString());
  }

  @Test
  void anOnChangedHandlerRunsWithTheFileOnlyWhenItsContentChanged() throws IOException {
    Path ran = tmp.resolve("handler-ran");
    Path handler =
        Files.writeString(
            tmp.resolve("handler.sh"), "#!/bin/sh\necho \"$CONFIG_FILE\" >> " + ran + "\n");
    handler.toFile().setExecutable(true);
    Map<String, ConfigFile> files =
        Map.of("app.env", new ConfigFile("A=1\n", List.of(handler.toString()), true));

    remote(null).apply(files, Optional.empty());
    remote(null).apply(files, Optional.empty());
    remote(null)
        .apply(
            Map.of("app.env", new ConfigFile("A=2\n", List.of(handler.toString()), true)),
            Optional.empty());

    List<String> runs = Files.readAllLines(ran);
    assertEquals(2, runs.size(), "first install and the change, not the unchanged repeat: " + runs);
    assertEquals(tmp.resolve("state/config/app.env").toString(), runs.get(0));
    assertEquals("A=2\n", Files.readString(tmp.resolve("state/config/app.env")));

    remote(null)
        .apply(
            Map.of(
                "app.env",
                new ConfigFile("A=3\n", List.of(tmp.resolve("missing-handler").toString()), true)),
            Optional.empty());
    assertTrue(
        log.stream().anyMatch(l -> l.contains("cannot run the OnChanged handler")), log.toString());
  }

  @Test
  void theTomlDirectoryIsTheLastDirectoryAmongTheConfigPaths() throws IOException {
    Path lib = Files.createDirectories(tmp.resolve("lib"));
    Path etc = Files.createDirectories(tmp.resolve("etc"));
    Path sota = Files.writeString(tmp.resolve("sota.toml"), "");
    assertEquals(Optional.of(etc), RemoteConfig.tomlDirOf(List.of(lib, sota, etc)));
    assertEquals(
        Optional.of(lib), RemoteConfig.tomlDirOf(List.of(lib, sota, tmp.resolve("absent"))));
    assertEquals(Optional.empty(), RemoteConfig.tomlDirOf(List.of(sota)));
  }
}
