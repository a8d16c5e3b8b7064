package io.flotilla.gateway.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a command that starts rootful podman itself (the README's script, the demo's agent) in a
 * network and mount namespace of its own, as the agent's podman tests run their service: rootful
 * podman keeps network definitions (/etc/containers/networks) and aardvark-dns's records
 * (/run/containers) by name in places every podman on the machine shares, which parallel runs
 * overwrite. Everything the command reaches must be on loopback. Its storage is in {@code dir}.
 */
public final class PodmanNamespace {

  private final Path dir;

  public PodmanNamespace(Path dir) throws IOException {
    this.dir = Files.createDirectories(dir);
  }

  /**
   * Rootful podman runs here (docs/container-tooling.md); CI has it and must not skip what needs
   * it.
   */
  public static boolean available() {
    boolean available =
        Files.isExecutable(Path.of("/usr/bin/podman"))
            && Files.isExecutable(Path.of("/usr/bin/unshare"))
            && "root".equals(System.getProperty("user.name"));
    if (!available && "true".equals(System.getenv("CI"))) {
      throw new IllegalStateException("CI runs podman: podman, unshare and root are needed");
    }
    return available;
  }

  /** {@code command} wrapped to run in the namespace. */
  public List<String> wrap(List<String> command) throws IOException {
    Path networks = Files.createDirectories(dir.resolve("networks"));
    Path networkRun = Files.createDirectories(dir.resolve("network-run"));
    StringBuilder quoted = new StringBuilder();
    for (String word : command) {
      quoted.append(" '").append(word.replace("'", "'\\''")).append('\'');
    }
    return List.of(
        "unshare",
        "--net",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        "ip link set lo up && mkdir -p /run/containers /etc/containers/networks"
            + " && mount --bind "
            + networkRun
            + " /run/containers && mount --bind "
            + networks
            + " /etc/containers/networks && exec"
            + quoted);
  }

  /** The environment podman in the namespace needs: storage of its own. */
  public Map<String, String> environment() throws IOException {
    Path storage =
        Files.writeString(
            dir.resolve("storage.conf"),
            "[storage]\ndriver = \"vfs\"\ngraphroot = \""
                + dir.resolve("graph")
                + "\"\nrunroot = \""
                + dir.resolve("run")
                + "\"\n");
    return Map.of("CONTAINERS_STORAGE_CONF", storage.toString());
  }

  /**
   * Removes the containers still served on {@code socket} (a command stopped before its own
   * clean-up), then stops the aardvark-dns that netavark daemonized, which would keep the namespace
   * alive.
   */
  public void cleanUp(Path socket) throws IOException, InterruptedException {
    if (socket != null && Files.exists(socket)) {
      List<String> remove =
          new ArrayList<>(List.of("podman", "--url", "unix://" + socket, "rm", "-af", "-t", "0"));
      Process process =
          new ProcessBuilder(remove)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
    Path aardvark = dir.resolve("network-run/networks/aardvark-dns/aardvark.pid");
    if (Files.exists(aardvark)) {
      ProcessHandle.of(Long.parseLong(Files.readString(aardvark).trim()))
          .ifPresent(ProcessHandle::destroy);
    }
  }
}
