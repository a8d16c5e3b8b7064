package io.flotilla.registry;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * skopeo, buildah and podman configured as docs/container-tooling.md says (runc, cgroupfs, vfs,
 * ulimits the kernel allows), with every path inside one temp dir so parallel runs never collide.
 */
final class ContainerTools {
  private final Path dir;
  private final Map<String, String> env = new HashMap<>();
  private int runs;

  ContainerTools(Path dir, String insecureRegistry) throws IOException {
    this.dir = dir;
    Path storage = Files.createDirectories(dir.resolve("storage"));
    Path runroot = Files.createDirectories(dir.resolve("run"));
    Path tmp = Files.createDirectories(dir.resolve("tmp"));
    Files.writeString(
        dir.resolve("containers.conf"),
        """
                [containers]
                default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
                [network]
                network_backend = "netavark"
                [engine]
                runtime = "runc"
                cgroup_manager = "cgroupfs"
                events_logger = "file"
                tmp_dir = "%s"
                """
            .formatted(dir.resolve("libpod-tmp")));
    Files.writeString(
        dir.resolve("storage.conf"),
        """
                [storage]
                driver = "vfs"
                graphroot = "%s"
                runroot = "%s"
                """
            .formatted(storage, runroot));
    Files.writeString(
        dir.resolve("registries.conf"),
        """
                unqualified-search-registries = []
                [[registry]]
                location = "%s"
                insecure = true
                """
            .formatted(insecureRegistry));
    env.put("CONTAINERS_CONF", dir.resolve("containers.conf").toString());
    env.put("CONTAINERS_STORAGE_CONF", dir.resolve("storage.conf").toString());
    env.put("CONTAINERS_REGISTRIES_CONF", dir.resolve("registries.conf").toString());
    Files.writeString(dir.resolve("auth.json"), "{\"auths\":{}}");
    env.put("REGISTRY_AUTH_FILE", dir.resolve("auth.json").toString());
    env.put("TMPDIR", tmp.toString());
  }

  /** In CI the tools are installed and the tests must run; elsewhere a missing tool skips them. */
  static void requireTools(String... tools) {
    boolean ci = "true".equalsIgnoreCase(System.getenv("CI"));
    for (String tool : tools) {
      boolean present =
          List.of("/usr/bin", "/usr/sbin", "/bin", "/usr/local/bin").stream()
              .anyMatch(d -> Files.isExecutable(Path.of(d, tool)));
      if (ci && !present) {
        fail(tool + " is not installed, and CI=true requires the interop tests to run");
      }
      Assumptions.assumeTrue(present, tool + " is not installed");
    }
  }

  String run(Duration timeout, String... command) throws Exception {
    Path log = dir.resolve("command-" + (++runs) + ".log");
    ProcessBuilder builder =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().putAll(env);
    Process process = builder.start();
    if (!process.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      fail(
          String.join(" ", command)
              + " did not finish within "
              + timeout
              + ":\n"
              + Files.readString(log));
    }
    String output = Files.readString(log);
    if (process.exitValue() != 0) {
      fail(String.join(" ", command) + " exited " + process.exitValue() + ":\n" + output);
    }
    return output.strip();
  }

  String run(String... command) throws Exception {
    return run(Duration.ofMinutes(3), command);
  }

  static List<String> concat(List<String> first, String... rest) {
    List<String> all = new ArrayList<>(first);
    all.addAll(List.of(rest));
    return all;
  }
}
