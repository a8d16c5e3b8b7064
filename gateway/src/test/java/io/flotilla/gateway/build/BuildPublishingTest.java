package io.flotilla.gateway.build;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import io.flotilla.builder.image.BusyboxBaseImage;
import io.flotilla.builder.registry.RegistryClient;
import io.flotilla.builder.registry.RegistryEndpoints;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.TestServers;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Both ways a build publishes (flotilla.builder.publish): into the node's registry storage without
 * a token, and over the registry protocol with a token of the attempt. Either way the images and
 * the app are in the registry, read over the HTTP edge, when the build says succeeded.
 */
class BuildPublishingTest {

  @TempDir Path dir;
  FlotillaServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void inProcessPublishingNeedsNoToken() throws Exception {
    String log = buildAndRead("auto");
    assertTrue(log.contains("-- publishing into this node's registry storage\n"), log);
  }

  @Test
  void registryProtocolPublishingPushesWithTheAttemptsToken() throws Exception {
    String log = buildAndRead("registry-protocol");
    assertTrue(
        log.contains("over the registry protocol, with a registry token for this attempt"), log);
  }

  /** Builds an image and an app with the given setting and answers the build's log. */
  private String buildAndRead(String publish) throws Exception {
    server =
        TestServers.start(
            dir.resolve("data"),
            ConfigFactory.parseMap(Map.of("flotilla.builder.publish", publish)));
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
    RegistryClient registry =
        new RegistryClient(
            HttpClient.newHttpClient(),
            new RegistryEndpoints(host, URI.create("http://" + host), "dev", push, Set.of()));
    BusyboxBaseImage.push(registry, host, "acme/busybox", "1");

    GitCli.ok(
        dir, "clone", "http://dev:" + push + "@" + host + "/git/acme/containers.git", "clone");
    Path clone = dir.resolve("clone");
    Files.createDirectories(clone.resolve("web"));
    Files.createDirectories(clone.resolve("shop"));
    Files.writeString(
        clone.resolve("web/Dockerfile"),
        "FROM acme/busybox:1\nCOPY index.html /www/\nCMD [\"httpd\", \"-f\", \"-h\", \"/www\"]\n");
    Files.writeString(clone.resolve("web/index.html"), "<h1>" + publish + "</h1>\n");
    Files.writeString(
        clone.resolve("shop/docker-compose.yml"), "services:\n  web:\n    image: web\n");
    GitCli.ok(clone, "add", "-A");
    GitCli.ok(clone, "commit", "-q", "-m", "an image and an app");
    assertTrue(GitCli.ok(clone, "push", "origin", "HEAD:main").contains("build #1"));

    JsonNode build =
        eventually(
            Duration.ofSeconds(120),
            () -> {
              JsonNode current = api.get("/api/v1/factories/acme/builds/1", admin).json();
              assertTrue(
                  List.of("succeeded", "failed").contains(current.get("status").asText()),
                  "still " + current.get("status").asText());
              return current;
            });
    String log = api.get("/api/v1/factories/acme/builds/1/log", admin).body();
    assertEquals("succeeded", build.get("status").asText(), build + "\n" + log);

    assertTrue(registry.manifest(host, "acme/web", "1").isPresent(), "acme/web:1 over HTTP");
    String appUri = build.get("apps").get("shop").asText();
    assertTrue(appUri.startsWith(host + "/acme/shop@sha256:"), appUri);
    assertTrue(
        registry.manifest(host, "acme/shop", appUri.substring(appUri.indexOf('@') + 1)).isPresent(),
        appUri + " over HTTP");
    if (Files.isExecutable(Path.of("/usr/bin/skopeo"))) {
      String image =
          skopeo(
              "inspect",
              "--tls-verify=false",
              "--creds",
              "dev:" + push,
              "docker://" + host + "/acme/web:1");
      assertTrue(image.contains("\"Architecture\": \"amd64\""), image);
    }
    return log;
  }

  private String skopeo(String... args) throws Exception {
    List<String> command = new java.util.ArrayList<>(List.of("skopeo", "--tmpdir", dir.toString()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().put("REGISTRY_AUTH_FILE", dir.resolve("auth.json").toString());
    Process process = builder.start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(120, TimeUnit.SECONDS), "skopeo did not finish");
    assertEquals(0, process.exitValue(), output);
    return output;
  }
}
