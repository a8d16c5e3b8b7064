package io.flotilla.gateway.agent;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.ConfigFactory;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.TestServers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code flotilla-agent register} without a token: it shows a user code, an operator approves (or
 * denies) it through the API, and the agent registers with the token it then gets (or gives up).
 */
class AgentDeviceAuthorizationTest {

  private static final Pattern USER_CODE = Pattern.compile("user code ([A-Z]{4}-[A-Z]{4})");
  private static final Duration PATIENCE = Duration.ofSeconds(60);

  @TempDir static Path dir;
  static FlotillaServer server;
  static ApiClient api;
  static String approver;
  static final AgentProcess agent = new AgentProcess(null, "unix:///nonexistent.sock");

  @BeforeAll
  static void start() throws Exception {
    server =
        FlotillaServer.start(
            ConfigFactory.parseString("flotilla.device.authorization-interval = 1s")
                .withFallback(TestServers.config(dir.resolve("data"), null)));
    api = new ApiClient(server.httpPort());
    String admin = server.adminToken().value();
    assertEquals(
        201,
        api.post("/api/v1/factories", admin, "{\"name\":\"acme\",\"platforms\":[\"amd64-linux\"]}")
            .status());
    approver =
        api.post("/api/v1/factories/acme/tokens", admin, "{\"scopes\":[\"devices:create\"]}")
            .json()
            .get("token")
            .asText();
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void registerWithoutATokenWaitsForTheOperatorsApproval() throws Exception {
    String uuid = UUID.randomUUID().toString();
    Path sota = dir.resolve("sota-approved");
    Path log = dir.resolve("approved.log");
    Process register = startRegister(uuid, sota, log);
    try {
      String userCode = userCode(log);
      assertEquals(
          200,
          api.post(
                  "/api/v1/factories/acme/device-authorizations/" + userCode,
                  approver,
                  "{\"approved\":true}")
              .status());
      assertTrue(register.waitFor(PATIENCE.toSeconds(), TimeUnit.SECONDS), Files.readString(log));
      assertEquals(0, register.exitValue(), Files.readString(log));
    } finally {
      register.destroyForcibly();
    }
    assertTrue(Files.exists(sota.resolve("client.pem")));
    assertTrue(Files.exists(sota.resolve("sota.toml")));
    eventually(
        PATIENCE,
        () -> {
          assertEquals(
              200,
              api.get("/api/v1/factories/acme/devices/" + uuid, server.adminToken().value())
                  .status(),
              "the registered device reaches the read side");
          return uuid;
        });
  }

  @Test
  void aDeniedDeviceDoesNotRegister() throws Exception {
    String uuid = UUID.randomUUID().toString();
    Path sota = dir.resolve("sota-denied");
    Path log = dir.resolve("denied.log");
    Process register = startRegister(uuid, sota, log);
    try {
      String userCode = userCode(log);
      assertEquals(
          200,
          api.post(
                  "/api/v1/factories/acme/device-authorizations/" + userCode,
                  approver,
                  "{\"approved\":false}")
              .status());
      assertTrue(register.waitFor(PATIENCE.toSeconds(), TimeUnit.SECONDS), Files.readString(log));
      assertNotEquals(0, register.exitValue());
      assertTrue(Files.readString(log).contains("access_denied"), Files.readString(log));
    } finally {
      register.destroyForcibly();
    }
    assertFalse(Files.exists(sota.resolve("client.pem")));
  }

  private static Process startRegister(String uuid, Path sota, Path log) throws Exception {
    return agent.start(
        log,
        "register",
        "--server",
        "http://127.0.0.1:" + server.httpPort(),
        "--factory",
        "acme",
        "--uuid",
        uuid,
        "--name",
        "dev-" + uuid.substring(0, 8),
        "--hw-id",
        "amd64-linux",
        "--tag",
        "main",
        "--sota-dir",
        sota.toString());
  }

  private static String userCode(Path log) throws Exception {
    return eventually(
        PATIENCE,
        () -> {
          Matcher code = USER_CODE.matcher(Files.exists(log) ? Files.readString(log) : "");
          assertTrue(code.find(), "no user code printed yet");
          return code.group(1);
        });
  }
}
