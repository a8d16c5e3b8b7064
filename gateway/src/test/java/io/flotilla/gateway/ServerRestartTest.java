package io.flotilla.gateway;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.ApiClient.Answer;
import io.flotilla.gateway.testing.TestServers;
import java.io.File;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded default keeps everything across a clean restart and across kill -9 of the server
 * process.
 */
class ServerRestartTest {

  static final String URI = "hub.example/acme/shellhttpd@sha256:" + "3c".repeat(32);
  static Process killed;

  @AfterAll
  static void stopProcess() {
    if (killed != null) {
      killed.destroyForcibly();
    }
  }

  private static void populate(ApiClient api, String admin, String factory) throws Exception {
    assertEquals(
        201, api.post("/api/v1/factories", admin, "{\"name\":\"" + factory + "\"}").status());
    Answer token =
        api.post(
            "/api/v1/factories/" + factory + "/tokens", admin, "{\"scopes\":[\"targets:read\"]}");
    assertEquals(201, token.status());
    String uri = URI.replace("/acme/", "/" + factory + "/");
    assertEquals(
        201,
        api.post(
                "/api/v1/factories/" + factory + "/targets",
                admin,
                "{\"tags\":[\"main\"],\"apps\":{\"shellhttpd\":\"" + uri + "\"}}")
            .status());
  }

  private static void assertKept(ApiClient api, String admin, String factory) throws Exception {
    assertEquals(200, api.get("/api/v1/factories/" + factory, admin).status());
    eventually(
        Duration.ofSeconds(20),
        () -> {
          assertEquals(
              1,
              api.get("/api/v1/factories/" + factory + "/tokens", admin)
                  .json()
                  .get("tokens")
                  .size());
          assertEquals(
              "amd64-linux-1",
              api.get("/api/v1/factories/" + factory + "/targets", admin)
                  .json()
                  .get("targets")
                  .get(0)
                  .get("name")
                  .asText());
          return null;
        });
    String conflict =
        api.post(
                "/api/v1/factories/" + factory + "/targets",
                admin,
                "{\"version\":1,\"tags\":[\"main\"]}")
            .body();
    assertTrue(
        conflict.contains("already exists"), "the Targets entity recovered its state: " + conflict);
  }

  @Test
  void aCleanRestartKeepsFactoriesTokensTargetsAndTheAdminToken(@TempDir Path dataDir)
      throws Exception {
    String admin;
    try (FlotillaServer first = TestServers.start(dataDir, null)) {
      admin = first.adminToken().value();
      populate(new ApiClient(first.httpPort()), admin, "acme");
    }
    try (FlotillaServer second = TestServers.start(dataDir, null)) {
      assertEquals(admin, second.adminToken().value());
      assertKept(new ApiClient(second.httpPort()), admin, "acme");
    }
  }

  @Test
  void killMinusNineLosesNothingThatWasAcknowledged(@TempDir Path dataDir) throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    killed =
        new ProcessBuilder(
                List.of(
                    java,
                    "-Dpekko.remote.artery.canonical.port=0",
                    "-cp",
                    System.getProperty("java.class.path"),
                    Main.class.getName(),
                    "server",
                    "--data-dir",
                    dataDir.toString(),
                    "--http-port",
                    String.valueOf(port),
                    "--device-port",
                    "0"))
            .redirectErrorStream(true)
            .redirectOutput(dataDir.resolve("server.log").toFile())
            .start();
    ApiClient api = new ApiClient(port);
    eventually(
        Duration.ofSeconds(90),
        () -> {
          assertEquals(200, api.get("/health/ready", null).status());
          return null;
        });
    String admin = Files.readString(dataDir.resolve("admin-token")).strip();
    populate(api, admin, "hard");
    eventually(
        Duration.ofSeconds(20),
        () -> {
          assertEquals(
              1, api.get("/api/v1/factories/hard/targets", admin).json().get("targets").size());
          return null;
        });

    killed.destroyForcibly();
    assertTrue(killed.waitFor(30, TimeUnit.SECONDS));
    assertEquals(137, killed.exitValue(), "SIGKILL, not a clean stop");

    try (FlotillaServer restarted = TestServers.start(dataDir, null)) {
      assertEquals(admin, restarted.adminToken().value());
      assertKept(new ApiClient(restarted.httpPort()), admin, "hard");
    }
    assertTrue(new File(dataDir.toFile(), "db").isDirectory());
  }
}
