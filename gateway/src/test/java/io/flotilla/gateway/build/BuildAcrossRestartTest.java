package io.flotilla.gateway.build;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.builder.image.BusyboxBaseImage;
import io.flotilla.builder.registry.RegistryClient;
import io.flotilla.builder.registry.RegistryEndpoints;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.TestServers;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node that stops in the middle of a build: the next start finishes the build or fails it with
 * its reason, never leaves it running.
 */
class BuildAcrossRestartTest {

  @TempDir Path dir;
  FlotillaServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void aBuildInterruptedByANodeStopEndsAfterTheRestart() throws Exception {
    Assumptions.assumeTrue(
        "true".equals(System.getenv("CI")) || Files.isExecutable(Path.of("/usr/bin/buildah")),
        "buildah is not installed");
    Path data = dir.resolve("data");
    server = TestServers.start(data, null);
    ApiClient api = new ApiClient(server.httpPort());
    String admin = server.adminToken().value();
    assertEquals(
        201,
        api.post("/api/v1/factories", admin, "{\"name\":\"acme\",\"platforms\":[\"amd64-linux\"]}")
            .status());
    String push =
        api.post(
                "/api/v1/factories/acme/tokens",
                admin,
                "{\"scopes\":[\"containers:read\",\"containers:push\"]}")
            .json()
            .get("token")
            .asText();
    String host = "127.0.0.1:" + server.httpPort();
    BusyboxBaseImage.push(
        new RegistryClient(
            HttpClient.newHttpClient(),
            new RegistryEndpoints(host, URI.create("http://" + host), "dev", push, Set.of())),
        host,
        "acme/busybox",
        "1");

    GitCli.ok(
        dir, "clone", "http://dev:" + push + "@" + host + "/git/acme/containers.git", "clone");
    Path clone = dir.resolve("clone");
    Files.createDirectories(clone.resolve("slow"));
    Files.createDirectories(clone.resolve("app"));
    Files.writeString(
        clone.resolve("slow/Dockerfile"),
        "FROM acme/busybox:1\nRUN sleep 8\nCMD [\"sleep\", \"3600\"]\n");
    Files.writeString(
        clone.resolve("app/docker-compose.yml"), "services:\n  slow:\n    image: slow\n");
    GitCli.ok(clone, "add", "-A");
    GitCli.ok(clone, "commit", "-q", "-m", "a slow image");
    assertTrue(GitCli.ok(clone, "push", "origin", "HEAD:main").contains("build #1"));

    ApiClient before = api;
    eventually(
        Duration.ofSeconds(60),
        () -> {
          String status =
              before.get("/api/v1/factories/acme/builds/1", admin).json().get("status").asText();
          assertEquals("building-images", status);
          return status;
        });
    server.close();
    server = null;

    server = TestServers.start(data, null);
    ApiClient after = new ApiClient(server.httpPort());
    JsonNode build =
        eventually(
            Duration.ofSeconds(120),
            () -> {
              JsonNode current = after.get("/api/v1/factories/acme/builds/1", admin).json();
              assertTrue(
                  List.of("succeeded", "failed").contains(current.get("status").asText()),
                  "still " + current.get("status").asText());
              return current;
            });
    if (build.get("status").asText().equals("failed")) {
      assertFalse(build.path("reason").asText().isBlank(), "a failed build says why: " + build);
    } else {
      assertEquals("amd64-linux-1", build.get("targets").get(0).asText(), build.toString());
    }
  }
}
