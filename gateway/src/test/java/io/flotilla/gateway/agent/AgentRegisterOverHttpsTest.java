package io.flotilla.gateway.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.flotilla.agent.gateway.AgentTls;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.testing.TestServers;
import io.flotilla.protocol.device.RegistrationResponse;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node listening beyond loopback serves its API port over HTTPS with a certificate of its own
 * server CA, which no system root vouches for: the agent registers there when given that CA's file
 * ({@code --ca-file}), and without it fails saying so instead of registering in clear.
 */
class AgentRegisterOverHttpsTest {

  private static final Duration PATIENCE = Duration.ofSeconds(90);

  @TempDir static Path dir;
  static FlotillaServer server;
  static Path caFile;
  static String token;
  static final AgentProcess agent = new AgentProcess(null, "unix:///nonexistent.sock");

  @BeforeAll
  static void start() throws Exception {
    server =
        FlotillaServer.start(
            ConfigFactory.parseString("flotilla.http.interface = \"0.0.0.0\"")
                .withFallback(TestServers.config(dir.resolve("data"), null)));
    caFile = dir.resolve("data/pki/root.crt");
    HttpClient https = HttpClient.newBuilder().sslContext(AgentTls.serverOnly(caFile)).build();
    String admin = server.adminToken().value();
    assertEquals(
        201,
        https
            .send(
                post(
                    admin,
                    "/api/v1/factories",
                    "{\"name\":\"acme\",\"platforms\":[\"amd64-linux\"]}"),
                HttpResponse.BodyHandlers.ofString())
            .statusCode());
    HttpResponse<String> created =
        https.send(
            post(admin, "/api/v1/factories/acme/tokens", "{\"scopes\":[\"devices:create\"]}"),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(201, created.statusCode(), created.body());
    token = new ObjectMapper().readTree(created.body()).get("token").asText();
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void theAgentRegistersOverHttpsTrustingTheNodesCaFile() throws Exception {
    Path sota = dir.resolve("sota-trusting");
    agent.ok(PATIENCE, register(sota, "--ca-file", caFile.toString()));
    assertTrue(Files.exists(sota.resolve(RegistrationResponse.CLIENT_PEM)), "the certificate");
    assertTrue(Files.exists(sota.resolve("sota.toml")), "sota.toml");
  }

  @Test
  void withoutTheCaFileTheAgentRefusesTheNodesCertificateAndSaysWhy() throws Exception {
    Path sota = dir.resolve("sota-untrusting");
    AgentProcess.Result result = agent.run(PATIENCE, register(sota));
    assertNotEquals(0, result.exit(), result.output());
    assertTrue(
        result.output().contains("cannot reach") && result.output().contains("certification"),
        result.output());
    assertFalse(Files.exists(sota.resolve(RegistrationResponse.CLIENT_PEM)), result.output());
  }

  @Test
  void anUnreadableCaFileIsNamed() throws Exception {
    Path missing = dir.resolve("no-such-ca.crt");
    AgentProcess.Result result =
        agent.run(PATIENCE, register(dir.resolve("sota-missing"), "--ca-file", missing.toString()));
    assertNotEquals(0, result.exit(), result.output());
    assertTrue(result.output().contains(missing + " cannot be read"), result.output());
  }

  private static String[] register(Path sota, String... extra) {
    String[] base = {
      "register",
      "--server",
      "https://127.0.0.1:" + server.httpPort(),
      "--token",
      token,
      "--factory",
      "acme",
      "--uuid",
      UUID.randomUUID().toString(),
      "--sota-dir",
      sota.toString()
    };
    String[] all = new String[base.length + extra.length];
    System.arraycopy(base, 0, all, 0, base.length);
    System.arraycopy(extra, 0, all, base.length, extra.length);
    return all;
  }

  private static HttpRequest post(String bearer, String path, String json) {
    return HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + server.httpPort() + path))
        .timeout(Duration.ofSeconds(30))
        .header("Authorization", "Bearer " + bearer)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json))
        .build();
  }
}
