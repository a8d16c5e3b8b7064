package io.flotilla.gateway.crash;

import io.flotilla.gateway.Main;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The real server in a child JVM ({@code Main server}), as an operator runs it: its own process, so
 * that {@link #kill} is a SIGKILL of exactly that process (no shutdown hook, no flush) and a
 * restart is a new JVM on the same data dir.
 */
final class ServerProcess {

  private static final Duration READY_PATIENCE = Duration.ofSeconds(300);

  /**
   * Class data sharing for the many restarts: the first server of the test JVM dumps the classes it
   * loaded when it stops cleanly ({@link #stopToShareClasses}), and every later start maps them
   * instead of loading and verifying each class again.
   */
  private static Path classArchive;

  private static boolean classArchiveRequested;

  private final Process process;
  final int httpPort;
  final int devicePort;
  final String adminToken;
  final Path log;

  private final boolean dumpsClasses;

  private ServerProcess(
      Process process,
      int httpPort,
      int devicePort,
      String adminToken,
      Path log,
      boolean dumpsClasses) {
    this.dumpsClasses = dumpsClasses;
    this.log = log;
    this.process = process;
    this.httpPort = httpPort;
    this.devicePort = devicePort;
    this.adminToken = adminToken;
  }

  /**
   * Starts a node on {@code dataDir} and waits until {@code /health/ready} answers 200.
   *
   * @param settings HOCON paths and values passed as {@code -D} properties (the database of the
   *     node)
   * @param log where the child's stdout and stderr go (appended)
   */
  static ServerProcess start(Path dataDir, Map<String, String> settings, Path log)
      throws IOException, InterruptedException {
    IOException last = null;
    for (int attempt = 0; attempt < 3; attempt++) {
      int httpPort = freePort();
      int devicePort = freePort();
      List<String> command = new ArrayList<>();
      command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      // A short-lived server on a shared 2-core machine: the C1 compiler starts it far sooner.
      command.addAll(List.of("-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
      command.add("-Dpekko.remote.artery.canonical.port=0");
      command.add("-Dpekko.loglevel=WARNING");
      command.add("-Dflotilla.http.interface=127.0.0.1");
      command.add("-Dflotilla.device.interface=127.0.0.1");
      command.add("-Dflotilla.device.public-url=https://127.0.0.1:" + devicePort);
      boolean dumps = false;
      synchronized (ServerProcess.class) {
        if (classArchive != null && Files.exists(classArchive)) {
          command.add("-XX:SharedArchiveFile=" + classArchive);
        } else if (!classArchiveRequested) {
          classArchiveRequested = true;
          classArchive = Files.createTempDirectory("flotilla-crash-cds").resolve("server.jsa");
          // deleted in reverse order of registration: the file, then its directory
          classArchive.getParent().toFile().deleteOnExit();
          classArchive.toFile().deleteOnExit();
          command.add("-XX:ArchiveClassesAtExit=" + classArchive);
          dumps = true;
        }
      }
      settings.forEach((key, value) -> command.add("-D" + key + "=" + value));
      command.addAll(
          List.of(
              "-cp",
              System.getProperty("java.class.path"),
              Main.class.getName(),
              "server",
              "--data-dir",
              dataDir.toString(),
              "--http-port",
              String.valueOf(httpPort),
              "--device-port",
              String.valueOf(devicePort)));
      Process process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .start();
      try {
        awaitReady(process, httpPort, log);
        String token =
            Files.readString(dataDir.resolve("admin-token"), StandardCharsets.UTF_8).strip();
        return new ServerProcess(process, httpPort, devicePort, token, log, dumps);
      } catch (IOException e) {
        process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        last = e;
        if (!tail(log).contains("already in use") && !tail(log).contains("BindException")) {
          throw e;
        }
      }
    }
    throw last;
  }

  private static void awaitReady(Process process, int httpPort, Path log)
      throws IOException, InterruptedException {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    HttpRequest ready =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/health/ready"))
            .timeout(Duration.ofSeconds(5))
            .build();
    Instant deadline = Instant.now().plus(READY_PATIENCE);
    while (Instant.now().isBefore(deadline)) {
      if (!process.isAlive()) {
        throw new IOException("the server exited with " + process.exitValue() + ":\n" + tail(log));
      }
      try {
        if (http.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      }
      Thread.sleep(100);
    }
    throw new IOException(
        "the server was not ready within " + READY_PATIENCE.toSeconds() + " s:\n" + tail(log));
  }

  /** SIGKILL on Linux: the JVM gets no chance to flush or shut down. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException("the server process survived SIGKILL for 30 s");
    }
  }

  /** A clean stop (SIGTERM: coordinated shutdown), for the end of a run. */
  void stop() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      kill();
    }
  }

  /**
   * True when this server was the one asked to dump the class archive; it is then stopped cleanly
   * to write it.
   */
  boolean stopToShareClasses() throws InterruptedException {
    if (!dumpsClasses) {
      return false;
    }
    stop();
    return true;
  }

  boolean alive() {
    return process.isAlive();
  }

  static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    }
  }
}
