package io.flotilla.gateway.agent;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.ApiClient.Answer;
import io.flotilla.gateway.testing.TestServers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real agent daemon against the real server, without a container engine (no target is
 * published, so it never needs one): the operator changes the device's tag, the daemon installs the
 * pushed {@code z-50-fioctl.toml}, reloads its config and checks in with the new tag; its inventory
 * reaches the server once, and again only when it changed.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class AgentRemoteConfigTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path dir;
  static FlotillaServer server;
  static ApiClient api;
  static String admin;
  static Process daemon;

  @BeforeAll
  static void start() throws Exception {
    server = TestServers.start(dir.resolve("data"), null);
    api = new ApiClient(server.httpPort());
    admin = server.adminToken().value();
    assertEquals(
        201,
        api.post("/api/v1/factories", admin, "{\"name\":\"acme\",\"platforms\":[\"amd64-linux\"]}")
            .status());
  }

  @AfterAll
  static void stop() throws Exception {
    AgentProcess.stop(daemon);
    if (server != null) {
      server.close();
    }
  }

  @Test
  void anOperatorTagChangeReachesTheDaemonWhichChecksInWithTheNewTag() throws Exception {
    Path sotaDir = dir.resolve("device/sota");
    Path confD = Files.createDirectories(dir.resolve("device/conf.d"));
    Files.writeString(confD.resolve("z-90-test.toml"), "[uptane]\npolling_seconds = 1\n");
    // no engine is needed while no target is published; a missing socket makes any use of one fail
    // loudly
    AgentProcess agent =
        new AgentProcess(
            sotaDir.resolve("sota.toml") + "," + confD, "unix://" + dir.resolve("no-engine.sock"));
    String token =
        api.post("/api/v1/factories/acme/tokens", admin, "{\"scopes\":[\"devices:create\"]}")
            .json()
            .get("token")
            .asText();
    agent.ok(
        Duration.ofSeconds(60),
        "register",
        "--server",
        "http://127.0.0.1:" + server.httpPort(),
        "--token",
        token,
        "--factory",
        "acme",
        "--name",
        "dev-1",
        "--hw-id",
        "amd64-linux",
        "--tag",
        "main",
        "--sota-dir",
        sotaDir.toString());
    String uuid =
        JSON.readTree(agent.ok(Duration.ofSeconds(30), "whoami", "--format", "json").output())
            .path("uuid")
            .asText();
    String device = "/api/v1/factories/acme/devices/" + uuid;
    Path log = dir.resolve("daemon.log");
    daemon = agent.start(log, "daemon");

    String journal =
        eventually(
            Duration.ofSeconds(60),
            () -> {
              String lines = api.get("/api/v1/journal/Device/" + uuid, admin).body();
              assertEquals(
                  3,
                  count(lines, "SystemInfoReported"),
                  "hardware, network and config once each:\n"
                      + lines
                      + "\n"
                      + Files.readString(log));
              return lines;
            });
    assertTrue(
        journal.contains("tags = \\\"main\\\""),
        "the merged config as the daemon runs it: " + journal);
    eventually(
        Duration.ofSeconds(30),
        () -> {
          assertEquals("main", api.get(device, admin).json().path("tag").asText());
          return null;
        });

    Answer changed = api.patch(device, admin, "{\"tag\":\"beta\"}");
    assertEquals(200, changed.status(), changed.body());

    eventually(
        Duration.ofSeconds(60),
        () -> {
          assertEquals(
              "beta",
              api.get(device, admin).json().path("tag").asText(),
              "the device checks in with its new tag:\n" + Files.readString(log));
          return null;
        });
    String daemonLog = Files.readString(log);
    assertTrue(daemonLog.contains("Config reloaded: tag main -> beta"), daemonLog);
    assertTrue(Files.readString(confD.resolve("z-50-fioctl.toml")).contains("beta"));
    String after =
        eventually(
            Duration.ofSeconds(30),
            () -> {
              String lines = api.get("/api/v1/journal/Device/" + uuid, admin).body();
              assertEquals(
                  4,
                  count(lines, "SystemInfoReported"),
                  "only the config changed, so only it is reported again:\n" + lines);
              return lines;
            });
    assertTrue(after.contains("tags = \\\"beta\\\""), after);
    eventually(
        Duration.ofSeconds(30),
        () -> {
          var info = api.get(device + "/system-info", admin).json();
          assertTrue(
              info.path("config").asText().contains("tags = \"beta\""),
              "the operator sees the device's merged config: " + info);
          assertTrue(info.path("hardware").path("children").isArray(), info.toString());
          assertTrue(!info.path("network").path("hostname").asText().isEmpty(), info.toString());
          return null;
        });

    // a restarted daemon remembers what it sent: several rounds later nothing was reported again
    AgentProcess.stop(daemon);
    long rounds = count(Files.readString(log), "error: no target for hardware id");
    daemon = agent.start(log, "daemon");
    eventually(
        Duration.ofSeconds(60),
        () -> {
          assertTrue(
              count(Files.readString(log), "error: no target for hardware id") >= rounds + 3,
              "three more rounds");
          return null;
        });
    assertEquals(
        4, count(api.get("/api/v1/journal/Device/" + uuid, admin).body(), "SystemInfoReported"));
  }

  private static long count(String text, String needle) {
    long count = 0;
    for (int at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + needle.length())) {
      count++;
    }
    return count;
  }
}
