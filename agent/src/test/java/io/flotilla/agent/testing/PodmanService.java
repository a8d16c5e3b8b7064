package io.flotilla.agent.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code podman system service} on a socket in a temp dir, with the settings
 * docs/container-tooling.md says work on these machines (runc, cgroupfs, netavark, vfs storage
 * inside the temp dir), in its own network and mount namespace, so test runs never collide. Needs
 * root, like the rest of the container tooling here; images are loaded through the API, since the
 * namespace cannot reach the host's loopback registry.
 */
public final class PodmanService implements AutoCloseable {

  private final Process process;
  private final Path socket;
  private final Path networkRun;
  private final Map<String, String> environment;

  private PodmanService(
      Process process, Path socket, Path networkRun, Map<String, String> environment) {
    this.process = process;
    this.socket = socket;
    this.networkRun = networkRun;
    this.environment = environment;
  }

  public static boolean installed() {
    return Files.isExecutable(Path.of("/usr/bin/podman"));
  }

  public static PodmanService start(Path dir) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    // Rootful podman keeps network definitions in /etc/containers/networks, by name, for every
    // podman on the
    // machine: a parallel run's "compose down" of a project of the same name deleted this service's
    // network
    // between compose's check and its container create ("unable to find network with name or ID
    // shell_default").
    Path networks = Files.createDirectories(dir.resolve("networks"));
    Path conf =
        Files.writeString(
            dir.resolve("containers.conf"),
            """
                [containers]
                default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
                [network]
                network_backend = "netavark"
                network_config_dir = "%s"
                [engine]
                runtime = "runc"
                cgroup_manager = "cgroupfs"
                events_logger = "file"
                """
                .formatted(networks));
    Path storage =
        Files.writeString(
            dir.resolve("storage.conf"),
            "[storage]\ndriver = \"vfs\"\ngraphroot = \""
                + dir.resolve("graph")
                + "\"\nrunroot = \""
                + dir.resolve("run")
                + "\"\n");
    Path socket = dir.resolve("podman.sock");
    Path networkRun = Files.createDirectories(dir.resolve("network-run"));
    // Rootful podman 4.3 keeps aardvark-dns's config in the fixed /run/containers/networks, one
    // aardvark-dns for
    // every podman on the machine, keyed by network name: two services (a parallel run, a killed
    // run's leftovers)
    // with a "shop_default" network overwrite each other's DNS records and containers answer "bad
    // address". A
    // network namespace and a private /run/containers give this service its own bridges, iptables
    // and DNS.
    String isolated =
        "ip link set lo up && mkdir -p /run/containers && mount --bind "
            + networkRun
            + " /run/containers && exec podman system service --time=0 unix://"
            + socket;
    ProcessBuilder builder =
        new ProcessBuilder(
                "unshare", "--net", "--mount", "--propagation", "private", "sh", "-c", isolated)
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("service.log").toFile());
    Map<String, String> environment =
        Map.of("CONTAINERS_CONF", conf.toString(), "CONTAINERS_STORAGE_CONF", storage.toString());
    builder.environment().putAll(environment);
    Process process = builder.start();
    for (int i = 0; i < 100 && !Files.exists(socket); i++) {
      if (!process.isAlive()) {
        throw new IOException(
            "podman system service exited: " + Files.readString(dir.resolve("service.log")));
      }
      Thread.sleep(100);
    }
    if (!Files.exists(socket)) {
      process.destroyForcibly();
      throw new IOException("podman system service did not create " + socket + " within 10 s");
    }
    return new PodmanService(process, socket, networkRun, environment);
  }

  public String dockerHost() {
    return "unix://" + socket;
  }

  /**
   * What a container wrote to stdout and stderr (the Docker API multiplexes them; podman's CLI does
   * not).
   */
  public String logs(String container) throws IOException, InterruptedException {
    ProcessBuilder builder =
        new ProcessBuilder("podman", "logs", container).redirectErrorStream(true);
    builder.environment().putAll(environment);
    Process logs = builder.start();
    String output = new String(logs.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!logs.waitFor(20, TimeUnit.SECONDS)) {
      logs.destroyForcibly();
    }
    return output;
  }

  @Override
  public void close() throws IOException, InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    // netavark daemonizes aardvark-dns; it would keep this service's network namespace alive after
    // the test
    Path aardvarkPid = networkRun.resolve("networks/aardvark-dns/aardvark.pid");
    if (Files.exists(aardvarkPid)) {
      ProcessHandle.of(Long.parseLong(Files.readString(aardvarkPid).trim()))
          .ifPresent(ProcessHandle::destroy);
    }
  }
}
