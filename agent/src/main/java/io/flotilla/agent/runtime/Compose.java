package io.flotilla.agent.runtime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs compose for one app: {@code docker-compose} (v1) when installed, else the {@code docker
 * compose} plugin, with {@code DOCKER_HOST} pointing at the engine. The project name is the app
 * name, so containers of an app are found by compose's own project label.
 */
public final class Compose {

  private final List<String> command;
  private final String dockerHost;
  private final long timeoutSeconds;

  public Compose(List<String> command, String dockerHost, long timeoutSeconds) {
    this.command = List.copyOf(command);
    this.dockerHost = dockerHost;
    this.timeoutSeconds = timeoutSeconds;
  }

  /** {@code docker-compose} if it is on the PATH, else {@code docker compose}. */
  public static List<String> detectCommand() {
    String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
    for (String dir : path.split(":")) {
      if (Files.isExecutable(Path.of(dir, "docker-compose"))) {
        return List.of("docker-compose");
      }
    }
    return List.of("docker", "compose");
  }

  public record Result(int exitCode, String output) {
    public boolean ok() {
      return exitCode == 0;
    }
  }

  /**
   * {@code up -d --remove-orphans}; {@code overrideFile} (may be null) points services at locally
   * loaded images.
   */
  public Result up(String app, Path appDir, Path overrideFile) throws IOException {
    return run(app, appDir, overrideFile, List.of("up", "-d", "--remove-orphans", "--no-build"));
  }

  public Result down(String app, Path appDir, Path overrideFile) throws IOException {
    return run(app, appDir, overrideFile, List.of("down", "--remove-orphans"));
  }

  private Result run(String app, Path appDir, Path overrideFile, List<String> action)
      throws IOException {
    List<String> args = new ArrayList<>(command);
    args.addAll(List.of("-p", app, "-f", appDir.resolve("docker-compose.yml").toString()));
    if (overrideFile != null) {
      args.addAll(List.of("-f", overrideFile.toString()));
    }
    args.addAll(action);
    ProcessBuilder builder =
        new ProcessBuilder(args).directory(appDir.toFile()).redirectErrorStream(true);
    builder.environment().put("DOCKER_HOST", dockerHost);
    Process process = builder.start();
    process.getOutputStream().close();
    byte[] output;
    try {
      output = process.getInputStream().readAllBytes();
      if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        return new Result(
            -1, "compose " + action.get(0) + " timed out after " + timeoutSeconds + " s");
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running compose", e);
    }
    return new Result(process.exitValue(), new String(output, StandardCharsets.UTF_8));
  }
}
