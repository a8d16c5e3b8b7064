package io.flotilla.gateway.registry;

import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.ApiClient.Answer;
import io.flotilla.gateway.testing.TestServers;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HexFormat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The registry as the server mounts it: factory API tokens are the credentials, scopes decide pull
 * and push.
 */
class RegistryAccessTest {

  @TempDir static Path dataDir;
  static FlotillaServer server;
  static ApiClient api;
  static String pusher;
  static String reader;
  static String targetsOnly;
  static String otherFactory;

  @BeforeAll
  static void start() throws Exception {
    server = TestServers.start(dataDir, null);
    api = new ApiClient(server.httpPort());
    String admin = server.adminToken().value();
    for (String factory : new String[] {"acme", "globex"}) {
      assertEquals(
          201, api.post("/api/v1/factories", admin, "{\"name\":\"" + factory + "\"}").status());
    }
    pusher = token(admin, "acme", "containers:push");
    reader = token(admin, "acme", "containers:read");
    targetsOnly = token(admin, "acme", "targets:read");
    otherFactory = token(admin, "globex", "containers:push");
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static String token(String admin, String factory, String scope) throws Exception {
    Answer answer =
        api.post(
            "/api/v1/factories/" + factory + "/tokens", admin, "{\"scopes\":[\"" + scope + "\"]}");
    assertEquals(201, answer.status(), answer.body());
    return answer.json().get("token").asText();
  }

  /**
   * The registry token flow as docker and skopeo do it: basic credentials in, a bearer token for
   * the scope out.
   */
  private static String bearer(String apiToken, String scope) throws Exception {
    String basic =
        Base64.getEncoder().encodeToString(("ci:" + apiToken).getBytes(StandardCharsets.UTF_8));
    Answer answer =
        api.send(
            api.request(
                    "/v2/token?service=flotilla&scope="
                        + URLEncoder.encode(scope, StandardCharsets.UTF_8),
                    null)
                .header("Authorization", "Basic " + basic)
                .GET());
    assertEquals(200, answer.status(), answer.body());
    return answer.json().get("token").asText();
  }

  private static String sha256(byte[] bytes) throws Exception {
    return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  @Test
  void anonymousCallersAreChallengedTowardsTheTokenEndpoint() throws Exception {
    Answer answer = api.get("/v2/acme/app/tags/list", null);
    assertEquals(401, answer.status());
    String challenge = answer.response().headers().firstValue("WWW-Authenticate").orElseThrow();
    assertTrue(
        challenge.contains("realm=\"http://127.0.0.1:" + server.httpPort() + "/v2/token\""),
        challenge);
    assertTrue(challenge.contains("repository:acme/app:pull"), challenge);
  }

  @Test
  void aPushTokenPushesAndAReadTokenPullsWhatWasPushed() throws Exception {
    byte[] blob = "a layer of bytes".getBytes(StandardCharsets.UTF_8);
    String digest = sha256(blob);
    String push = bearer(pusher, "repository:acme/app:push,pull");
    Answer uploaded =
        api.send(
            api.request("/v2/acme/app/blobs/uploads/?digest=" + digest, push)
                .header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(blob)));
    assertEquals(201, uploaded.status(), uploaded.body());

    String pull = bearer(reader, "repository:acme/app:pull");
    Answer fetched = api.get("/v2/acme/app/blobs/" + digest, pull);
    assertEquals(200, fetched.status());
    assertEquals("a layer of bytes", fetched.body());

    Answer readerPush =
        api.send(
            api.request(
                    "/v2/acme/app/blobs/uploads/", bearer(reader, "repository:acme/app:push,pull"))
                .POST(HttpRequest.BodyPublishers.noBody()));
    assertTrue(
        readerPush.status() == 401 || readerPush.status() == 403,
        "a read token cannot push: " + readerPush.status());
  }

  @Test
  void deviceHubCredentialsPullInTheDevicesFactoryOnly() throws Exception {
    var credentials =
        server
            .devices()
            .hubCredentials()
            .issue("acme", java.util.UUID.randomUUID().toString(), java.time.Instant.now());
    String basic =
        Base64.getEncoder()
            .encodeToString(
                (credentials.username() + ":" + credentials.secret())
                    .getBytes(StandardCharsets.UTF_8));
    Answer pull =
        api.send(
            api.request("/v2/token?service=flotilla&scope=repository:acme/app:pull", null)
                .header("Authorization", "Basic " + basic)
                .GET());
    assertEquals(200, pull.status(), pull.body());
    Answer tags = api.get("/v2/acme/app/tags/list", pull.json().get("token").asText());
    assertTrue(
        tags.status() == 200 || tags.status() == 404,
        "pull is granted in the device's factory: " + tags.status());

    Answer foreign =
        api.send(
            api.request("/v2/token?service=flotilla&scope=repository:globex/app:pull", null)
                .header("Authorization", "Basic " + basic)
                .GET());
    assertEquals(200, foreign.status(), "the token endpoint grants what it can, here nothing");
    assertEquals(
        401,
        api.get("/v2/globex/app/tags/list", foreign.json().get("token").asText()).status(),
        "no pull in another factory");
    String forged =
        Base64.getEncoder()
            .encodeToString(
                (credentials.username() + ":" + credentials.secret() + "x")
                    .getBytes(StandardCharsets.UTF_8));
    assertEquals(
        401,
        api.send(
                api.request("/v2/token?service=flotilla&scope=repository:acme/app:pull", null)
                    .header("Authorization", "Basic " + forged)
                    .GET())
            .status());
  }

  @Test
  void tokensWithoutContainerScopesOrOfAnotherFactoryGetNothing() throws Exception {
    String basic =
        Base64.getEncoder().encodeToString(("ci:" + targetsOnly).getBytes(StandardCharsets.UTF_8));
    Answer narrowed =
        api.send(
            api.request("/v2/token?service=flotilla&scope=repository:acme/app:pull", null)
                .header("Authorization", "Basic " + basic)
                .GET());
    assertEquals(
        200,
        narrowed.status(),
        "a valid token is known, its scopes are dropped: " + narrowed.body());
    assertEquals(
        401, api.get("/v2/acme/app/tags/list", narrowed.json().get("token").asText()).status());
    Answer refused =
        api.send(
            api.request("/v2/acme/app/tags/list", null)
                .header("Authorization", "Basic " + basic)
                .GET());
    assertEquals(403, refused.status(), "no container scope in its own factory: " + refused.body());

    String foreign = bearer(otherFactory, "repository:acme/app:pull");
    Answer answer = api.get("/v2/acme/app/tags/list", foreign);
    assertTrue(
        answer.status() == 401 || answer.status() == 403,
        "another factory's token: " + answer.status());
  }
}
