package io.flotilla.gateway;

import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.gateway.testing.PodmanNamespace;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README is the user's script, and this keeps it true: its shell blocks marked {@code <!--
 * readme-test: run -->} run in order in one bash (so variables carry over, as in the user's
 * terminal) under {@code set -euo pipefail}, from a directory whose {@code bin} is the
 * repository's, with the settings the README's first block reads (data dir, API and device ports)
 * set to a fresh temp dir and free ports. The first command that fails fails the test, named by its
 * README line. Every unmarked-language or shell block must say {@code run} or {@code skip (why)},
 * so a new block cannot slip past.
 *
 * <p>The harness adds only what a user's machine has anyway: a git identity, the launchers running
 * this build's classes (FLOTILLA_CLASSPATH) instead of building jars, the node's cluster port taken
 * free instead of the fixed 25520, and {@code curl} failing on an HTTP error status (a user reads
 * the error; a script must stop).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReadmeTest {

  private static final Duration BUDGET = Duration.ofMinutes(12);
  private static final String NEEDS_PODMAN = "(needs podman)";
  private static final Pattern FENCE = Pattern.compile("^```(\\S*)\\s*$");
  private static final Pattern MARKER =
      Pattern.compile("^<!--\\s*readme-test:\\s*(run|skip)\\b(.*)-->\\s*$");
  private static final Pattern FAILED_AT =
      Pattern.compile("readme-test: script line (\\d+) failed");

  @TempDir static Path work;
  private Process shell;

  /** {@code needsPodman}: a run block marked {@code run (needs podman)}. */
  record Block(int line, String marker, boolean needsPodman, String text) {}

  @Test
  void theReadmeRunsAsWritten() throws Exception {
    Path root = Path.of(System.getProperty("user.dir")).toAbsolutePath().getParent();
    Path readme = root.resolve("README.md");
    List<Block> blocks = blocks(Files.readAllLines(readme, StandardCharsets.UTF_8));

    StringBuilder script = new StringBuilder();
    Map<Integer, Integer> readmeLineOf = new TreeMap<>();
    List<String> preamble =
        List.of(
            // -E: the ERR trap also names a command that fails inside a function (the curl below)
            "set -Eeuo pipefail",
            "trap 'rc=$?; echo \"readme-test: script line $LINENO failed (exit $rc): $BASH_COMMAND\" >&2' ERR",
            "trap '[ -S podman.sock ] && podman --url unix://$PWD/podman.sock rm -af -t 0 >/dev/null 2>&1;"
                + " kill $(jobs -p) 2>/dev/null || true; wait' EXIT",
            "curl() { command curl --fail-with-body \"$@\"; }");
    preamble.forEach(line -> script.append(line).append('\n'));
    int scriptLine = preamble.size();
    boolean podman = PodmanNamespace.available();
    for (Block block : blocks) {
      if (!block.marker().equals("run")) {
        continue;
      }
      if (block.needsPodman() && !podman) {
        System.out.println(
            "ReadmeTest: README.md line " + block.line() + " left out: podman does not run here");
        continue;
      }
      script.append("echo \"readme-test: README.md line ").append(block.line()).append("\" >&2\n");
      scriptLine++;
      String[] lines = block.text().split("\n", -1);
      for (int i = 0; i < lines.length; i++) {
        script.append(lines[i]).append('\n');
        readmeLineOf.put(++scriptLine, block.line() + 1 + i);
      }
    }
    String run = script.toString();
    for (String step :
        List.of(
            "bin/flotilla demo",
            "bin/flotilla server &",
            "$API/factories/acme/targets",
            "push origin",
            "flotilla-agent register",
            "\"tag\": \"beta\"",
            "bin/flotilla-sim")) {
      assertTrue(run.contains(step), "the README test runs the first hour's step " + step);
    }
    Path scriptFile = work.resolve("readme.sh");
    Files.writeString(scriptFile, run);

    Path dir = Files.createDirectories(work.resolve("user"));
    Files.createSymbolicLink(dir.resolve("bin"), root.resolve("bin"));
    Path home = Files.createDirectories(work.resolve("home"));
    Files.writeString(
        home.resolve(".gitconfig"),
        "[user]\n\tname = Readme Test\n\temail = readme@flotilla.invalid\n");
    Path log = work.resolve("readme.log");
    ProcessBuilder builder =
        new ProcessBuilder(
                podman
                    ? namespace().wrap(List.of("bash", scriptFile.toString()))
                    : List.of("bash", scriptFile.toString()))
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    Map<String, String> env = builder.environment();
    if (podman) {
      env.putAll(namespace().environment());
    }
    env.put("HOME", home.toString());
    env.put("GIT_CONFIG_NOSYSTEM", "1");
    env.put("GIT_TERMINAL_PROMPT", "0");
    env.put("FLOTILLA_DATA_DIR", work.resolve("data").toString());
    env.put("FLOTILLA_HTTP_PORT", String.valueOf(freePort()));
    env.put("FLOTILLA_DEVICE_PORT", String.valueOf(freePort()));
    env.put("FLOTILLA_CLASSPATH", classPath());
    // the node's own logging settings, not the test class path's logback-test.xml
    String logging = "-Dlogback.configurationFile=" + root.resolve("conf/logback.xml");
    env.put("FLOTILLA_JAVA_OPTS", "-Dpekko.remote.artery.canonical.port=0 " + logging);
    env.put("FLOTILLA_AGENT_JAVA_OPTS", logging);
    shell = builder.start();
    boolean finished = shell.waitFor(BUDGET.toSeconds(), TimeUnit.SECONDS);
    if (!finished) {
      stopAll();
    }
    String output = Files.readString(log);
    String context = "\n--- output ---\n" + tail(output, 6000) + serverLog();
    assertTrue(finished, "the README did not run through within " + BUDGET + context);
    if (shell.exitValue() != 0) {
      Matcher failed = FAILED_AT.matcher(output);
      String where =
          failed.find()
              ? "README.md line " + readmeLineOf.get(Integer.parseInt(failed.group(1)))
              : "an unknown line";
      fail("the README failed at " + where + " (exit " + shell.exitValue() + ")" + context);
    }
    assertTrue(output.contains("\"status\":\"succeeded\""), "the git push built the app" + context);
    assertTrue(
        output.contains("\"requestedTag\":\"beta\""), "the device was moved to beta" + context);
  }

  /** Fenced blocks with the marker on the line before; shell (or unnamed) blocks must have one. */
  static List<Block> blocks(List<String> lines) {
    List<Block> blocks = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      Matcher fence = FENCE.matcher(lines.get(i));
      if (!fence.matches()) {
        continue;
      }
      String language = fence.group(1);
      int start = i;
      StringBuilder text = new StringBuilder();
      for (i++; i < lines.size() && !lines.get(i).startsWith("```"); i++) {
        text.append(lines.get(i)).append('\n');
      }
      Matcher marker = start > 0 ? MARKER.matcher(lines.get(start - 1)) : MARKER.matcher("");
      boolean shell = language.isEmpty() || language.equals("bash") || language.equals("sh");
      if (shell && !marker.matches()) {
        fail(
            "README.md line "
                + (start + 1)
                + ": a shell block without <!-- readme-test: run --> or <!-- readme-test: skip (why) -->");
      }
      if (marker.matches() && marker.group(1).equals("skip") && marker.group(2).isBlank()) {
        fail("README.md line " + start + ": say why the block is skipped");
      }
      blocks.add(
          new Block(
              start + 1,
              marker.matches() ? marker.group(1) : "none",
              marker.matches() && marker.group(2).strip().equals(NEEDS_PODMAN),
              text.toString().stripTrailing()));
    }
    return blocks;
  }

  /**
   * The script in a network and mount namespace of its own when it runs podman (the agent daemon's
   * block): everything the README reaches is on loopback.
   */
  private static PodmanNamespace namespace() throws IOException {
    return new PodmanNamespace(work.resolve("podman"));
  }

  @AfterAll
  void stopAll() throws InterruptedException, IOException {
    namespace().cleanUp(shell != null && shell.isAlive() ? work.resolve("user/podman.sock") : null);
    if (shell == null) {
      return;
    }
    List<ProcessHandle> descendants = shell.descendants().toList();
    descendants.forEach(ProcessHandle::destroy);
    for (ProcessHandle process : descendants) {
      process.onExit().orTimeout(30, TimeUnit.SECONDS).exceptionally(e -> null).join();
      process.destroyForcibly();
    }
    shell.destroy();
    if (!shell.waitFor(10, TimeUnit.SECONDS)) {
      shell.destroyForcibly();
    }
  }

  private String serverLog() throws IOException {
    Path log = work.resolve("data").resolve(ConsoleOutput.LOG_FILE);
    return Files.exists(log) ? "\n--- " + log + " ---\n" + tail(Files.readString(log), 4000) : "";
  }

  private static String tail(String text, int chars) {
    return text.length() <= chars ? text : "..." + text.substring(text.length() - chars);
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  /** Surefire runs tests from a manifest-only jar; its real test classpath is in this property. */
  private static String classPath() {
    String surefire = System.getProperty("surefire.test.class.path");
    return surefire != null && !surefire.isBlank()
        ? surefire
        : System.getProperty("java.class.path");
  }
}
