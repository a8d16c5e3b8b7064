package io.flotilla.gateway.build;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The real {@code git} command, isolated from the machine's git config. */
public final class GitCli {

  public record Result(int exit, String output) {}

  private GitCli() {}

  public static Result run(Path dir, String... args) throws IOException, InterruptedException {
    List<String> command =
        new ArrayList<>(
            List.of(
                "git",
                "-c",
                "user.name=Dev",
                "-c",
                "user.email=dev@example.com",
                "-c",
                "credential.helper=",
                "-c",
                "init.defaultBranch=main",
                "-c",
                "protocol.version=0"));
    command.addAll(List.of(args));
    ProcessBuilder builder =
        new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
    builder.environment().put("GIT_TERMINAL_PROMPT", "0");
    builder.environment().put("GIT_CONFIG_NOSYSTEM", "1");
    builder.environment().put("HOME", dir.toString());
    Process process = builder.start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new IOException("git " + String.join(" ", args) + " hung");
    }
    return new Result(process.exitValue(), output);
  }

  public static String ok(Path dir, String... args) throws IOException, InterruptedException {
    Result result = run(dir, args);
    if (result.exit() != 0) {
      throw new AssertionError(
          "git " + String.join(" ", args) + " failed (" + result.exit() + "):\n" + result.output());
    }
    return result.output();
  }
}
