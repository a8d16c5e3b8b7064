package io.flotilla.gateway.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real agent CLI in its own JVM, as on a device: its own process can be SIGKILLed, and nothing
 * of the server's classpath state leaks into it. Its config comes only from {@code cfgDirs}; its
 * engine is {@code dockerHost}.
 */
final class AgentProcess {

  record Result(int exit, String output) {}

  private final String cfgDirs;
  private final String dockerHost;

  AgentProcess(String cfgDirs, String dockerHost) {
    this.cfgDirs = cfgDirs;
    this.dockerHost = dockerHost;
  }

  /**
   * Runs one command to its end (bounded by {@code timeout}) and returns its exit code and output.
   */
  Result run(Duration timeout, String... args) throws IOException, InterruptedException {
    Path log = Files.createTempFile("agent-", ".log");
    try {
      Process process = start(log, args);
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        throw new AssertionError(
            "agent "
                + String.join(" ", args)
                + " did not end within "
                + timeout
                + ":\n"
                + Files.readString(log));
      }
      return new Result(process.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(log);
    }
  }

  Result ok(Duration timeout, String... args) throws IOException, InterruptedException {
    Result result = run(timeout, args);
    if (result.exit() != 0) {
      throw new AssertionError(
          "agent " + String.join(" ", args) + " exited " + result.exit() + ":\n" + result.output());
    }
    return result;
  }

  /** Starts a command without waiting; stdout and stderr go to {@code log} (appended). */
  Process start(Path log, String... args) throws IOException {
    List<String> command =
        new ArrayList<>(
            List.of(
                javaBinary(),
                "-Xmx128m",
                "-XX:TieredStopAtLevel=1",
                "-cp",
                classPath(),
                "io.flotilla.agent.cli.AgentCli"));
    if (cfgDirs != null) {
      command.addAll(List.of("-c", cfgDirs));
    }
    command.addAll(List.of(args));
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    builder.environment().put("DOCKER_HOST", dockerHost);
    builder.environment().remove("FIOUP_CFG_DIRS");
    Process process = builder.start();
    process.getOutputStream().close();
    return process;
  }

  /** Stops a daemon: SIGTERM, then SIGKILL if it does not go within 10 s. */
  static void stop(Process process) throws InterruptedException {
    if (process == null) {
      return;
    }
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  static void kill(Process process, Duration patience) throws InterruptedException {
    process.destroyForcibly();
    if (!process.waitFor(patience.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError("agent process " + process.pid() + " survived SIGKILL");
    }
  }

  private static String javaBinary() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** Surefire runs tests from a manifest-only jar; its real test classpath is in this property. */
  private static String classPath() {
    String surefire = System.getProperty("surefire.test.class.path");
    return surefire != null && !surefire.isBlank()
        ? surefire
        : System.getProperty("java.class.path");
  }
}
