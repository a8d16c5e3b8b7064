package io.flotilla.registry;

import static io.flotilla.registry.RegistryHttp.json;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.Jib;
import com.google.cloud.tools.jib.api.JibContainer;
import com.google.cloud.tools.jib.api.RegistryImage;
import com.google.cloud.tools.jib.api.buildplan.AbsoluteUnixPath;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * jib-core pushes through the token flow, and mounts its base image's layers across repositories.
 */
class JibInteropTest {
  @TempDir static Path root;
  @TempDir static Path work;
  static RegistryServer server;

  @BeforeAll
  static void start() throws Exception {
    // The registry under test speaks plain HTTP on loopback; jib refuses to send credentials there
    // otherwise.
    System.setProperty("sendCredentialsOverHttp", "true");
    server = RegistryServer.start(root);
  }

  @AfterAll
  static void stop() throws Exception {
    System.clearProperty("sendCredentialsOverHttp");
    server.close();
  }

  static RegistryImage image(String repositoryAndTag) throws Exception {
    return RegistryImage.named(server.hostPort() + "/" + repositoryAndTag)
        .addCredential(RegistryServer.PUSHER.user(), RegistryServer.PUSHER.password());
  }

  @Test
  void jibPushesFromScratchAndOnTopOfABaseInTheRegistry() throws Exception {
    Path baseFile = Files.writeString(work.resolve("base.txt"), "base layer");
    Path appFile = Files.writeString(work.resolve("app.txt"), "app layer");

    JibContainer base =
        Jib.fromScratch()
            .addLayer(List.of(baseFile), AbsoluteUnixPath.get("/opt"))
            .containerize(
                Containerizer.to(image("acme/jib-base:v1"))
                    .setAllowInsecureRegistries(true)
                    .setBaseImageLayersCache(work.resolve("cache-base"))
                    .setApplicationLayersCache(work.resolve("cache-app")));
    JibContainer app =
        Jib.from(image("acme/jib-base:v1"))
            .addLayer(List.of(appFile), AbsoluteUnixPath.get("/opt"))
            .containerize(
                Containerizer.to(image("acme/jib-app:v1"))
                    .setAllowInsecureRegistries(true)
                    .setBaseImageLayersCache(work.resolve("cache-base"))
                    .setApplicationLayersCache(work.resolve("cache-app")));

    RegistryHttp client = RegistryHttp.basic(server, RegistryServer.READER);
    JsonNode manifest = json(client.get("/v2/acme/jib-app/manifests/v1", Map.of()));
    assertEquals(
        app.getDigest().toString(),
        RegistryHttp.header(
            client.send("HEAD", "/v2/acme/jib-app/manifests/v1"), "Docker-Content-Digest"));
    assertEquals(2, manifest.path("layers").size());
    for (JsonNode layer : manifest.path("layers")) {
      assertEquals(
          200,
          client
              .send("HEAD", "/v2/acme/jib-app/blobs/" + layer.path("digest").asText())
              .statusCode());
    }
    assertEquals(
        base.getDigest().toString(),
        RegistryHttp.header(
            client.send("HEAD", "/v2/acme/jib-base/manifests/v1"), "Docker-Content-Digest"));
  }
}
