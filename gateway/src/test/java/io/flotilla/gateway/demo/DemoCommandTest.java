package io.flotilla.gateway.demo;

import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.gateway.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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

  /**
   * {@code bin/flotilla demo --keep-running} as a user starts it (this build's classes through
   * FLOTILLA_CLASSPATH, as the README test runs the launchers): it leaves a simulated device that
   * updated to the built target and says where to look.
   */
  @Test
  void keepRunningLeavesADeviceOnTheBuiltTarget(@TempDir Path dataDir) throws Exception {
    Path root = Path.of(System.getProperty("user.dir")).toAbsolutePath().getParent();
    String classPath = System.getProperty("surefire.test.class.path");
    ProcessBuilder builder =
        new ProcessBuilder(
                root.resolve("bin/flotilla").toString(),
                "demo",
                "--keep-running",
                "--data-dir",
                dataDir.toString(),
                "--http-port",
                "0",
                "--device-port",
                "0")
            .redirectErrorStream(true);
    builder
        .environment()
        .put(
            "FLOTILLA_CLASSPATH",
            classPath != null && !classPath.isBlank()
                ? classPath
                : System.getProperty("java.class.path"));
    builder
        .environment()
        .put(
            "FLOTILLA_JAVA_OPTS",
            "-Dpekko.remote.artery.canonical.port=0 -Dlogback.configurationFile="
                + root.resolve("conf/logback.xml"));
    Process demo = builder.start();
    java.util.concurrent.BlockingQueue<String> lines =
        new java.util.concurrent.LinkedBlockingQueue<>();
    Thread reader =
        new Thread(
            () -> {
              try (var in =
                  new java.io.BufferedReader(
                      new java.io.InputStreamReader(
                          demo.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                  lines.add(line);
                }
              } catch (java.io.IOException e) {
                lines.add("reading the demo's output: " + e);
              }
            });
    reader.setDaemon(true);
    reader.start();
    StringBuilder output = new StringBuilder();
    try {
      long deadline = System.nanoTime() + java.time.Duration.ofMinutes(10).toNanos();
      String line = "";
      while (!line.startsWith("Serving on ") && System.nanoTime() < deadline) {
        line = lines.poll(5, java.util.concurrent.TimeUnit.SECONDS);
        if (line == null) {
          assertTrue(demo.isAlive(), "the demo exited:\n" + output);
          line = "";
          continue;
        }
        output.append(line).append('\n');
      }
      String text = output.toString();
      assertTrue(line.startsWith("Serving on "), "the demo did not come to serve:\n" + text);
      assertTrue(text.contains("build #1: succeeded"), text);
      java.util.regex.Matcher device =
          java.util.regex.Pattern.compile("device (\\S+) runs amd64-linux-1 \\(update succeeded\\)")
              .matcher(text);
      assertTrue(device.find(), text);
      assertTrue(
          text.contains("/factories/demo/devices/" + device.group(1) + " -H"),
          "the demo says where to look:\n" + text);
      assertTrue(text.contains("admin token in " + dataDir.resolve("admin-token")), text);
      assertTrue(Files.exists(dataDir.resolve("logs/demo-device.log")), text);
    } finally {
      List<ProcessHandle> children = demo.descendants().toList();
      demo.destroy();
      if (!demo.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
        demo.destroyForcibly();
      }
      for (ProcessHandle child : children) {
        child
            .onExit()
            .orTimeout(30, java.util.concurrent.TimeUnit.SECONDS)
            .exceptionally(e -> null)
            .join();
        child.destroyForcibly();
      }
    }
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
