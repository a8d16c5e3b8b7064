package io.flotilla.registry;

import static io.flotilla.registry.RegistryHttp.errorCode;
import static io.flotilla.registry.RegistryHttp.header;
import static io.flotilla.registry.RegistryHttp.imageManifest;
import static io.flotilla.registry.RegistryHttp.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.protocol.oci.Digest;
import io.flotilla.registry.auth.RegistryAction;
import io.flotilla.registry.auth.RegistryPrincipal;
import io.flotilla.registry.auth.TokenService;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The auth matrix: anonymous, wrong credentials, wrong factory, pull-only, device, push; tokens and
 * basic.
 */
class RegistryAuthTest {
  @TempDir static Path root;
  static RegistryServer server;
  static String manifestPath;
  static String blobPath;

  @BeforeAll
  static void start() throws Exception {
    server = RegistryServer.start(root);
    RegistryHttp pusher = RegistryHttp.basic(server, RegistryServer.PUSHER);
    String config = pusher.pushBlob("acme/app", "{}".getBytes());
    byte[] manifest = imageManifest(config, 2, Map.of(), Map.of());
    assertEquals(
        201,
        pusher
            .putManifest("acme/app", "v1", RegistryProtocolTest.OCI_MANIFEST, manifest)
            .statusCode());
    manifestPath = "/v2/acme/app/manifests/v1";
    blobPath = "/v2/acme/app/blobs/" + config;
    RegistryHttp other = RegistryHttp.basic(server, RegistryServer.OTHER_PUSHER);
    other.pushBlob("globex/app", "{}".getBytes());
    other.putManifest("globex/app", "v1", RegistryProtocolTest.OCI_MANIFEST, manifest);
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  static String token(RegistryServer.Credentials credentials, String... scopes) throws Exception {
    return token(server, credentials, scopes);
  }

  static String token(
      RegistryServer server, RegistryServer.Credentials credentials, String... scopes)
      throws Exception {
    StringBuilder query = new StringBuilder("/v2/token?service=flotilla");
    for (String scope : scopes) {
      query.append("&scope=").append(URLEncoder.encode(scope, StandardCharsets.UTF_8));
    }
    HttpResponse<byte[]> response =
        RegistryHttp.basic(server, credentials).send("GET", query.toString());
    assertEquals(200, response.statusCode(), new String(response.body()));
    JsonNode body = json(response);
    assertEquals(body.path("token").asText(), body.path("access_token").asText());
    assertTrue(body.path("expires_in").asLong() > 0);
    return body.path("token").asText();
  }

  @Test
  void anonymousCallsGetTheBearerChallengeWithScope() throws Exception {
    RegistryHttp anonymous = RegistryHttp.anonymous(server);
    String realm = "Bearer realm=\"" + server.baseUrl() + "/v2/token\",service=\"flotilla\"";

    HttpResponse<byte[]> base = anonymous.send("GET", "/v2/");
    assertEquals(401, base.statusCode());
    assertEquals(realm, header(base, "WWW-Authenticate"));
    assertEquals("UNAUTHORIZED", errorCode(base));

    HttpResponse<byte[]> pull = anonymous.send("GET", manifestPath);
    assertEquals(401, pull.statusCode());
    assertEquals(realm + ",scope=\"repository:acme/app:pull\"", header(pull, "WWW-Authenticate"));

    HttpResponse<byte[]> push = anonymous.send("POST", "/v2/acme/app/blobs/uploads/");
    assertEquals(
        realm + ",scope=\"repository:acme/app:pull,push\"", header(push, "WWW-Authenticate"));

    HttpResponse<byte[]> tokenWithoutCredentials =
        anonymous.send("GET", "/v2/token?scope=repository:acme/app:pull");
    assertEquals(401, tokenWithoutCredentials.statusCode());
    assertEquals("Basic realm=\"flotilla\"", header(tokenWithoutCredentials, "WWW-Authenticate"));
  }

  @Test
  void wrongCredentialsGetNoToken() throws Exception {
    HttpResponse<byte[]> response =
        RegistryHttp.basic(
                server, new RegistryServer.Credentials(RegistryServer.PUSHER.user(), "wrong"))
            .send("GET", "/v2/token");
    assertEquals(401, response.statusCode());
    assertEquals(
        401,
        RegistryHttp.basic(server, new RegistryServer.Credentials("x", "y"))
            .send("GET", manifestPath)
            .statusCode());
  }

  @Test
  void pushTokenPullsAndPushes() throws Exception {
    RegistryHttp withToken =
        RegistryHttp.bearer(server, token(RegistryServer.PUSHER, "repository:acme/app:pull,push"));
    assertEquals(200, withToken.send("GET", manifestPath).statusCode());
    String pushed = withToken.pushBlob("acme/app", "pushed with a token".getBytes());
    assertEquals(200, withToken.send("HEAD", "/v2/acme/app/blobs/" + pushed).statusCode());
    assertEquals(
        401,
        withToken.send("GET", "/v2/acme/other/tags/list").statusCode(),
        "a token covers only the repositories it was issued for");
  }

  @Test
  void pullOnlyTokenIsNarrowedAndCannotPush() throws Exception {
    String token = token(RegistryServer.READER, "repository:acme/app:pull,push");
    RegistryHttp reader = RegistryHttp.bearer(server, token);
    assertEquals(200, reader.send("GET", manifestPath).statusCode());
    assertEquals(200, reader.send("GET", blobPath).statusCode());
    HttpResponse<byte[]> push = reader.send("POST", "/v2/acme/app/blobs/uploads/");
    assertEquals(401, push.statusCode());
    assertTrue(header(push, "WWW-Authenticate").contains("error=\"insufficient_scope\""));
    HttpResponse<byte[]> delete = reader.send("DELETE", manifestPath);
    assertEquals(401, delete.statusCode());

    HttpResponse<byte[]> basicPush =
        RegistryHttp.basic(server, RegistryServer.READER)
            .send("POST", "/v2/acme/app/blobs/uploads/");
    assertEquals(403, basicPush.statusCode());
    assertEquals("DENIED", errorCode(basicPush));
  }

  @Test
  void deviceCredentialsPullTheirFactoryOnly() throws Exception {
    RegistryHttp device =
        RegistryHttp.bearer(
            server,
            token(RegistryServer.DEVICE, "repository:acme/app:pull", "repository:globex/app:pull"));
    assertEquals(200, device.send("GET", manifestPath).statusCode());
    assertEquals(401, device.send("GET", "/v2/globex/app/manifests/v1").statusCode());
    assertEquals(
        401,
        device
            .send(
                "PUT",
                "/v2/acme/app/manifests/v2",
                "{}".getBytes(),
                Map.of("Content-Type", RegistryProtocolTest.OCI_MANIFEST))
            .statusCode());
    assertEquals(
        404,
        RegistryHttp.basic(server, RegistryServer.DEVICE)
            .send("GET", "/v2/globex/app/manifests/v1")
            .statusCode(),
        "another factory is as if it did not exist");
  }

  @Test
  void anotherFactorysTokenReachesNothingHere() throws Exception {
    String token = token(RegistryServer.OTHER_PUSHER, "repository:acme/app:pull,push");
    RegistryHttp other = RegistryHttp.bearer(server, token);
    assertEquals(401, other.send("GET", manifestPath).statusCode());
    assertEquals(401, other.send("GET", blobPath).statusCode());
    assertEquals(401, other.send("POST", "/v2/acme/app/blobs/uploads/").statusCode());

    RegistryHttp otherBasic = RegistryHttp.basic(server, RegistryServer.OTHER_PUSHER);
    assertEquals(404, otherBasic.send("GET", manifestPath).statusCode());
    assertEquals("NAME_UNKNOWN", errorCode(otherBasic.send("GET", "/v2/acme/app/tags/list")));
    assertEquals(404, otherBasic.send("GET", "/v2/acme/nothing/tags/list").statusCode());

    String acmeBlob = blobPath.substring(blobPath.lastIndexOf('/') + 1);
    HttpResponse<byte[]> blobOfOtherFactory =
        otherBasic.send("GET", "/v2/globex/app/blobs/" + Digest.of("acme only".getBytes()));
    assertEquals(404, blobOfOtherFactory.statusCode());
    HttpResponse<byte[]> mountAcross =
        otherBasic.send(
            "POST", "/v2/globex/app/blobs/uploads/?mount=" + acmeBlob + "&from=acme/app");
    assertEquals(
        202, mountAcross.statusCode(), "mounting from another factory falls back to an upload");

    List<String> catalog =
        RegistryJson.MAPPER.convertValue(
            json(otherBasic.send("GET", "/v2/_catalog")).path("repositories"), List.class);
    assertEquals(List.of("globex/app"), catalog);
  }

  @Test
  void tamperedAndExpiredTokensAreRejected() throws Exception {
    String token = token(RegistryServer.PUSHER, "repository:acme/app:pull");
    String tampered = token.substring(0, token.length() - 2) + (token.endsWith("A") ? "BB" : "AA");
    HttpResponse<byte[]> response = RegistryHttp.bearer(server, tampered).send("GET", manifestPath);
    assertEquals(401, response.statusCode());
    assertTrue(header(response, "WWW-Authenticate").contains("error=\"invalid_token\""));

    Clock past = Clock.fixed(Instant.now().minus(Duration.ofHours(1)), ZoneOffset.UTC);
    TokenService oldIssuer = new TokenService(root, "flotilla", Duration.ofMinutes(5), past);
    String expired =
        oldIssuer
            .issue(
                new RegistryPrincipal("old", Map.of("acme", Set.of(RegistryAction.PUSH))),
                List.of("repository:acme/app:pull"))
            .token();
    assertEquals(401, RegistryHttp.bearer(server, expired).send("GET", manifestPath).statusCode());

    TokenService sameKey =
        new TokenService(root, "flotilla", Duration.ofMinutes(5), Clock.systemUTC());
    assertTrue(
        sameKey.verify(token).isPresent(), "any node sharing the storage verifies the token");
    assertFalse(
        new TokenService(root, "another-service", Duration.ofMinutes(5), Clock.systemUTC())
            .verify(token)
            .isPresent());
  }

  @Test
  void signingKeyIsPrivateToItsOwner() throws Exception {
    Path key = root.resolve("auth/token-signing.key");
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
    assertEquals(32, Files.size(key));
  }
}
