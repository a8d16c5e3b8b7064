package io.flotilla.gateway.demo;

import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.gateway.Main;
import io.flotilla.gateway.testing.PodmanNamespace;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
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
    String text = keepRunning(dataDir, "simulated", null);
    assertTrue(text.contains("Starting a simulated device"), text);
    assertTrue(Files.exists(dataDir.resolve("logs/demo-device.log")), text);
  }

  /** Where podman runs, the device is this project's agent, and the built app really runs. */
  @Test
  void withPodmanTheDeviceIsTheAgentRunningTheApp(@TempDir Path dataDir) throws Exception {
    Assumptions.assumeTrue(PodmanNamespace.available(), "podman does not run here");
    PodmanNamespace namespace = new PodmanNamespace(dataDir.resolve("podman-namespace"));
    try {
      String text = keepRunning(dataDir, "auto", namespace);
      assertTrue(text.contains("Starting this project's agent on podman"), text);
      assertTrue(text.contains("podman --url unix://"), text);
      String log = Files.readString(dataDir.resolve("logs/demo-device.log"));
      assertTrue(log.contains("[7/7] Completing"), log);
    } finally {
      namespace.cleanUp(dataDir.resolve("demo-device/podman.sock"));
    }
  }

  /**
   * Runs the demo with {@code --keep-running} until it serves, checks what it printed about the
   * build and the device, and stops it.
   */
  private static String keepRunning(Path dataDir, String device, PodmanNamespace namespace)
      throws Exception {
    Path root = Path.of(System.getProperty("user.dir")).toAbsolutePath().getParent();
    String classPath = System.getProperty("surefire.test.class.path");
    List<String> command =
        List.of(
            root.resolve("bin/flotilla").toString(),
            "demo",
            "--keep-running",
            "--device",
            device,
            "--data-dir",
            dataDir.toString(),
            "--http-port",
            "0",
            "--device-port",
            "0");
    ProcessBuilder builder =
        new ProcessBuilder(namespace == null ? command : namespace.wrap(command))
            .redirectErrorStream(true);
    if (namespace != null) {
      builder.environment().putAll(namespace.environment());
    }
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
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    Thread reader =
        new Thread(
            () -> {
              try (var in =
                  new BufferedReader(
                      new InputStreamReader(demo.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                  lines.add(line);
                }
              } catch (IOException e) {
                lines.add("reading the demo's output: " + e);
              }
            });
    reader.setDaemon(true);
    reader.start();
    StringBuilder output = new StringBuilder();
    try {
      long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
      String line = "";
      while (!line.startsWith("Serving on ") && System.nanoTime() < deadline) {
        line = lines.poll(5, TimeUnit.SECONDS);
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
      Matcher found =
          Pattern.compile("device (\\S+) runs amd64-linux-1 \\(update succeeded\\)").matcher(text);
      assertTrue(found.find(), text);
      assertTrue(
          text.contains("/factories/demo/devices/" + found.group(1) + " -H"),
          "the demo says where to look:\n" + text);
      assertTrue(text.contains("admin token in " + dataDir.resolve("admin-token")), text);
      return text;
    } finally {
      if (namespace != null) {
        // while podman still serves: the app's containers outlive the demo
        namespace.cleanUp(dataDir.resolve("demo-device/podman.sock"));
      }
      List<ProcessHandle> children = demo.descendants().toList();
      demo.destroy();
      if (!demo.waitFor(60, TimeUnit.SECONDS)) {
        demo.destroyForcibly();
      }
      for (ProcessHandle child : children) {
        child.onExit().orTimeout(30, TimeUnit.SECONDS).exceptionally(e -> null).join();
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
