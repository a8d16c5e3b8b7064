package io.flotilla.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class ExitCodeTest {

  @Test
  void codesAreExactlyThoseOfTheProtocol() {
    Map<Integer, String> expected =
        new TreeMap<>(
            Map.ofEntries(
                Map.entry(0, "OK"),
                Map.entry(1, "GENERIC"),
                Map.entry(10, "INVALID_ACTION"),
                Map.entry(20, "METADATA_UPDATE_FAILED"),
                Map.entry(21, "NO_MATCHING_TARGET"),
                Map.entry(22, "TARGET_NOT_FOUND"),
                Map.entry(23, "INVALID_ONGOING_UPDATE"),
                Map.entry(24, "NO_UPDATE_IN_PROGRESS"),
                Map.entry(25, "TARGET_ALREADY_RUNNING"),
                Map.entry(26, "NEWER_VERSION_AVAILABLE"),
                Map.entry(30, "INIT_FAILED"),
                Map.entry(40, "FETCH_FAILED"),
                Map.entry(41, "NOT_ENOUGH_SPACE"),
                Map.entry(50, "STOP_APPS_FAILED"),
                Map.entry(60, "INSTALL_FAILED"),
                Map.entry(70, "START_FAILED")));
    Map<Integer, String> actual =
        Arrays.stream(ExitCode.values())
            .collect(
                Collectors.toMap(
                    ExitCode::code, ExitCode::name, (a, b) -> a + "," + b, TreeMap::new));
    assertEquals(expected, actual);
  }
}
