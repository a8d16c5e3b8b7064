package io.flotilla.agent.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * {@code podman system service} on a socket in a temp dir, with the settings CONTAINER-TOOLING.md says work on these
 * machines (runc, cgroupfs, netavark, vfs storage inside the temp dir), so test runs never collide.
 */
public final class PodmanService implements AutoCloseable {

    private final Process process;
    private final Path socket;

    private PodmanService(Process process, Path socket) {
        this.process = process;
        this.socket = socket;
    }

    public static boolean installed() {
        return Files.isExecutable(Path.of("/usr/bin/podman"));
    }

    public static PodmanService start(Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Path conf = Files.writeString(dir.resolve("containers.conf"), """
                [containers]
                default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
                [network]
                network_backend = "netavark"
                [engine]
                runtime = "runc"
                cgroup_manager = "cgroupfs"
                events_logger = "file"
                """);
        Path storage = Files.writeString(dir.resolve("storage.conf"), "[storage]\ndriver = \"vfs\"\ngraphroot = \"" + dir.resolve("graph")
                + "\"\nrunroot = \"" + dir.resolve("run") + "\"\n");
        Path socket = dir.resolve("podman.sock");
        ProcessBuilder builder = new ProcessBuilder("podman", "system", "service", "--time=0", "unix://" + socket)
                .redirectErrorStream(true).redirectOutput(dir.resolve("service.log").toFile());
        builder.environment().put("CONTAINERS_CONF", conf.toString());
        builder.environment().put("CONTAINERS_STORAGE_CONF", storage.toString());
        Process process = builder.start();
        for (int i = 0; i < 100 && !Files.exists(socket); i++) {
            if (!process.isAlive()) {
                throw new IOException("podman system service exited: " + Files.readString(dir.resolve("service.log")));
            }
            Thread.sleep(100);
        }
        if (!Files.exists(socket)) {
            process.destroyForcibly();
            throw new IOException("podman system service did not create " + socket + " within 10 s");
        }
        return new PodmanService(process, socket);
    }

    public String dockerHost() {
        return "unix://" + socket;
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
