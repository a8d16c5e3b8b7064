package io.flotilla.gateway.demo;

import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.gateway.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The README's main command: it must run the whole flow to a published target on the embedded
 * default.
 */
class DemoCommandTest {

  @Test
  void theDemoPushesAnAppAndEndsWithATargetForMain(@TempDir Path dataDir) throws Exception {
    String output = runDemo(dataDir);
    assertTrue(output.contains("remote: flotilla: build #1"), output);
    assertTrue(output.contains("build #1: succeeded"), output);
    assertTrue(output.contains("amd64-linux-1  apps: {\"shellhttpd\":"), output);
    assertTrue(Files.exists(dataDir.resolve("admin-token")));

    // A second run on the same data waits for the build its own push announced, not for the newest
    // one listed.
    String again = runDemo(dataDir);
    assertTrue(again.contains("Waiting for build #2"), again);
    assertTrue(again.contains("build #2: succeeded"), again);
    assertTrue(again.contains("amd64-linux-2  apps: {\"shellhttpd\":"), again);
  }

  private static String runDemo(Path dataDir) {
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    ByteArrayOutputStream errors = new ByteArrayOutputStream();
    PrintStream original = System.out;
    int exit;
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      exit =
          new CommandLine(new Main())
              .setErr(new java.io.PrintWriter(errors, true, StandardCharsets.UTF_8))
              .execute(
                  "demo",
                  "--data-dir",
                  dataDir.toString(),
                  "--http-port",
                  "0",
                  "--device-port",
                  "0");
    } finally {
      System.setOut(original);
    }
    String output =
        captured.toString(StandardCharsets.UTF_8) + errors.toString(StandardCharsets.UTF_8);
    assertEquals(0, exit, output);
    return output;
  }
}
