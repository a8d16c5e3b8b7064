package io.flotilla.gateway.device;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.core.pki.Pem;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.ApiClient.Answer;
import io.flotilla.gateway.testing.TestServers;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stock fioup (1d4af9e) and composeapp (05c7ceb) against a real server: each test replays the
 * requests of one fioup command as the Go code makes them (paths, methods, headers, bodies) and
 * accepts only what that code accepts. Go cannot be built here, so these replays are how
 * compatibility is kept; each names the function it replays.
 */
class FioupContractTest {

  static final ObjectMapper JSON = new ObjectMapper();

  /** fioup {@code pkg/client/gateway_client.go}: {@code UserAgentPrefix + "/1.0.0"}. */
  static final String FIOUP_AGENT = "fioup//1.0.0";

  /**
   * fioconfig {@code transport/http.go}, {@code httpDoOnce}: the agent of requests made without
   * headers.
   */
  static final String FIOCONFIG_AGENT = "fioconfig-client/3";

  /**
   * containerd 1.7 {@code remotes/docker/resolver.go}: what a resolve (HEAD of a manifest) accepts.
   */
  static final String RESOLVE_ACCEPT =
      "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, "
          + "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, */*";

  static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

  /**
   * The device authorization grant's polling interval here: short, to keep the test fast, and above
   * one second, so that polling twice at once is too fast.
   */
  static final int POLL_INTERVAL_SECONDS = 2;

  @TempDir static Path dir;
  static FlotillaServer server;
  static ApiClient api;
  static String registerToken;
  static String manifestDigest;
  static byte[] manifest;
  static byte[] bundle;
  static byte[] bundleIndex;
  static String foreignManifestDigest;

  @BeforeAll
  static void start() throws Exception {
    server =
        FlotillaServer.start(
            com.typesafe.config.ConfigFactory.parseString(
                    "flotilla.device.authorization-interval = " + POLL_INTERVAL_SECONDS + "s")
                .withFallback(TestServers.config(dir.resolve("data"), null)));
    api = new ApiClient(server.httpPort());
    String admin = server.adminToken().value();
    for (String factory : new String[] {"acme", "globex"}) {
      assertEquals(
          201,
          api.post(
                  "/api/v1/factories",
                  admin,
                  "{\"name\":\"" + factory + "\",\"platforms\":[\"amd64-linux\"]}")
              .status());
    }
    registerToken = token(admin, "acme", "\"devices:create\"");
    String ci = token(admin, "acme", "\"containers:push\",\"containers:read\",\"targets:write\"");
    bundle =
        "a gzip'd tar of the app, as far as the registry and the proxy care"
            .getBytes(StandardCharsets.UTF_8);
    bundleIndex = "{\"docker-compose.yml\":\"sha256:00\"}".getBytes(StandardCharsets.UTF_8);
    manifest = composeApp(bundle, bundleIndex);
    manifestDigest = push(ci, "acme/shellhttpd", manifest, bundle, bundleIndex);
    String app = "127.0.0.1:" + server.httpPort() + "/acme/shellhttpd@" + manifestDigest;
    Answer target =
        api.post(
            "/api/v1/factories/acme/targets",
            ci,
            "{\"tags\":[\"main\"],\"apps\":{\"shellhttpd\":\"" + app + "\"}}");
    assertEquals(201, target.status(), target.body());

    String foreignCi = token(admin, "globex", "\"containers:push\"");
    byte[] foreignBundle = "globex's bundle".getBytes(StandardCharsets.UTF_8);
    foreignManifestDigest =
        push(
            foreignCi,
            "globex/secret",
            composeApp(foreignBundle, bundleIndex),
            foreignBundle,
            bundleIndex);
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  // ---- fioup register --api-token (internal/register: authPingServer, authRegisterDevice,
  // getDeviceInfo) ----

  @Test
  void registerWithAnApiTokenWritesWhatTheOtherCommandsNeed() throws Exception {
    Fioup device =
        Fioup.register(
            dir.resolve("sota-register"),
            "http://127.0.0.1:" + server.httpPort() + "/ota/devices/");
    String gateway = "https://127.0.0.1:" + server.devicePort();
    assertEquals(
        gateway,
        device.toml.get("tls.server"),
        "the name the device registered by, with the device port");
    assertEquals(gateway + "/app-proxy-url", device.toml.get("pacman.compose_apps_proxy"));
    assertEquals(
        device.sotaDir.resolve("root.crt").toString(), device.toml.get("import.tls_cacert_path"));
    assertEquals("amd64-linux", device.toml.get("provision.primary_ecu_hardware_id"));
    assertEquals("main", device.toml.get("pacman.tags"));
    assertEquals(
        device.sotaDir.resolve("reset-apps").toString(),
        device.toml.get("pacman.reset_apps_root"),
        "the overrides, verbatim");
    for (String file : new String[] {"root.crt", "client.pem", "sota.toml"}) {
      assertTrue(Files.exists(device.sotaDir.resolve(file)), file);
    }

    Fioup byName =
        Fioup.register(
            dir.resolve("sota-by-name"), "http://localhost:" + server.httpPort() + "/ota/devices/");
    assertEquals("https://localhost:" + server.devicePort(), byName.toml.get("tls.server"));
    assertEquals(
        200,
        byName.gateway("GET", "/device", null).statusCode(),
        "the server certificate holds that name");
  }

  // ---- fioup register without --api-token (internal/register/auth.go: getOauthToken, httpPost,
  // authGetHttpHeaders, authRegisterDevice) ----

  @Test
  void registerWithoutATokenGetsOneThroughTheDeviceAuthorizationGrant() throws Exception {
    Fioup device = new Fioup(dir.resolve("sota-oauth"));
    String oauthBase = "http://127.0.0.1:" + server.httpPort() + "/oauth";
    // getOauthToken: POST url+"/authorization/device/", a form built with Sprintf (not escaped)
    HttpResponse<String> authorization =
        oauthPost(
            oauthBase + "/authorization/device/",
            String.format("client_id=%s&scope=%s:devices:create", device.uuid, "acme"));
    assertEquals(200, authorization.statusCode(), "only 200 goes on: " + authorization.body());
    JsonNode grant = JSON.readTree(authorization.body());
    // the type assertions fioup's code makes: resp["expires_in"].(float64), ...
    assertTrue(grant.get("expires_in").isNumber(), authorization.body());
    assertTrue(grant.get("interval").isNumber(), authorization.body());
    assertTrue(grant.get("user_code").isTextual(), authorization.body());
    assertTrue(grant.get("verification_uri").isTextual(), authorization.body());
    assertTrue(grant.get("expires_in").asInt() / 60 >= 1, "ShowAuthInfo prints whole minutes");
    assertEquals(POLL_INTERVAL_SECONDS, grant.get("interval").asInt());
    String userCode = grant.get("user_code").asText();
    assertTrue(
        grant
            .get("verification_uri")
            .asText()
            .endsWith("/api/v1/factories/acme/device-authorizations"),
        authorization.body());
    // fmt.Sprintf("%s", resp["device_code"]) of a string is the string
    String poll =
        String.format(
            "grant_type=urn:ietf:params:oauth:grant-type:device_code&device_code=%s&client_id=%s&scope=%s:devices:create",
            grant.get("device_code").asText(), device.uuid, "acme");

    HttpResponse<String> pending = oauthPost(oauthBase + "/token/", poll);
    assertEquals(400, pending.statusCode(), "a 400 is read, anything else retried");
    assertEquals("authorization_pending", JSON.readTree(pending.body()).get("error").asText());

    // the operator finds the device by the user code fioup printed, and approves it
    Answer waiting = api.get("/api/v1/factories/acme/device-authorizations", registerToken);
    assertEquals(200, waiting.status(), waiting.body());
    JsonNode listed = find(waiting.json().get("authorizations"), userCode);
    assertEquals(device.uuid, listed.get("clientId").asText());
    assertEquals("pending", listed.get("state").asText());
    Answer approved =
        api.post(
            "/api/v1/factories/acme/device-authorizations/"
                + userCode.toLowerCase().replace("-", ""),
            registerToken,
            "{\"approved\":true}");
    assertEquals(200, approved.status(), approved.body());
    assertEquals("approved", approved.json().get("state").asText());

    // time.Sleep(interval) after each authorization_pending
    Thread.sleep(POLL_INTERVAL_SECONDS * 1000L);
    HttpResponse<String> token = oauthPost(oauthBase + "/token/", poll);
    assertEquals(200, token.statusCode(), token.body());
    String accessToken = JSON.readTree(token.body()).get("access_token").asText();

    // authGetHttpHeaders: Authorization: Bearer base64(access_token); then authPingServer and
    // authRegisterDevice (only 201 counts) with those headers
    device.registerWith(
        "http://127.0.0.1:" + server.httpPort() + "/ota/devices/",
        "Authorization",
        "Bearer "
            + Base64.getEncoder().encodeToString(accessToken.getBytes(StandardCharsets.UTF_8)));
    assertEquals(200, device.gateway("GET", "/device", null).statusCode());
    assertEquals(
        403,
        api.get("/api/v1/factories/acme/devices", accessToken).status(),
        "the grant's token holds devices:create only");
    assertTrue(
        find(
                api.get("/api/v1/factories/acme/device-authorizations", registerToken)
                    .json()
                    .get("authorizations"),
                userCode)
            .isMissingNode(),
        "a redeemed authorization is no longer waiting");
  }

  @Test
  void deviceAuthorizationRefusesTooFastDeniedReusedAndForeignCodes() throws Exception {
    String oauthBase = "http://127.0.0.1:" + server.httpPort() + "/oauth";
    String uuid = java.util.UUID.randomUUID().toString();
    JsonNode grant =
        JSON.readTree(
            oauthPost(
                    oauthBase + "/authorization/device/",
                    "client_id=" + uuid + "&scope=acme:devices:create")
                .body());
    String userCode = grant.get("user_code").asText();
    String poll =
        "grant_type="
            + DeviceAuthorizationRoutes.GRANT_TYPE
            + "&device_code="
            + grant.get("device_code").asText()
            + "&client_id="
            + uuid;
    assertOauthError(400, "authorization_pending", oauthPost(oauthBase + "/token/", poll));
    assertOauthError(400, "slow_down", oauthPost(oauthBase + "/token/", poll));
    assertOauthError(
        400,
        "invalid_grant",
        oauthPost(
            oauthBase + "/token/", poll.replace(uuid, java.util.UUID.randomUUID().toString())));

    // approvers of another factory or without devices:create do not see it
    String admin = server.adminToken().value();
    String globexCreate = token(admin, "globex", "\"devices:create\"");
    String acmeRead = token(admin, "acme", "\"devices:read\"");
    String path = "/api/v1/factories/acme/device-authorizations/" + userCode;
    assertEquals(404, api.post(path, globexCreate, "{\"approved\":true}").status());
    assertEquals(403, api.post(path, acmeRead, "{\"approved\":true}").status());
    assertEquals(
        404,
        api.post(
                "/api/v1/factories/globex/device-authorizations/" + userCode,
                globexCreate,
                "{\"approved\":true}")
            .status(),
        "a user code is looked up in the approver's own factory");
    assertEquals(400, api.post(path, registerToken, "{}").status());
    assertEquals(
        400,
        api.post(
                "/api/v1/factories/acme/device-authorizations/not-a-code",
                registerToken,
                "{\"approved\":true}")
            .status());
    assertEquals(
        404,
        api.post(
                "/api/v1/factories/acme/device-authorizations/BBBB-BBBB",
                registerToken,
                "{\"approved\":true}")
            .status());
    assertEquals(
        "pending",
        find(
                api.get("/api/v1/factories/acme/device-authorizations", registerToken)
                    .json()
                    .get("authorizations"),
                userCode)
            .get("state")
            .asText(),
        "the refused decisions changed nothing");

    Answer denied = api.post(path, registerToken, "{\"approved\":false}");
    assertEquals("denied", denied.json().get("state").asText(), denied.body());
    assertEquals(409, api.post(path, registerToken, "{\"approved\":true}").status());
    Thread.sleep(POLL_INTERVAL_SECONDS * 1000L);
    assertOauthError(400, "access_denied", oauthPost(oauthBase + "/token/", poll));

    // approved and redeemed: the same device code does not work twice
    String other = java.util.UUID.randomUUID().toString();
    JsonNode second =
        JSON.readTree(
            oauthPost(
                    oauthBase + "/authorization/device/",
                    "client_id=" + other + "&scope=acme:devices:create")
                .body());
    String secondPoll =
        "grant_type="
            + DeviceAuthorizationRoutes.GRANT_TYPE
            + "&device_code="
            + second.get("device_code").asText()
            + "&client_id="
            + other;
    assertEquals(
        200,
        api.post(
                "/api/v1/factories/acme/device-authorizations/" + second.get("user_code").asText(),
                registerToken,
                "{\"approved\":true}")
            .status());
    assertEquals(200, oauthPost(oauthBase + "/token/", secondPoll).statusCode());
    Thread.sleep(POLL_INTERVAL_SECONDS * 1000L);
    assertOauthError(400, "invalid_grant", oauthPost(oauthBase + "/token/", secondPoll));
  }

  @Test
  void deviceAuthorizationAnswersBadInputWithOauthErrors() throws Exception {
    String base = "http://127.0.0.1:" + server.httpPort() + "/oauth";
    String uuid = java.util.UUID.randomUUID().toString();
    String huge = "x".repeat(200_000);
    String grant = DeviceAuthorizationRoutes.GRANT_TYPE;
    java.util.List<String[]> cases = new java.util.ArrayList<>();
    cases.add(new String[] {"/authorization/device/", "", "invalid_request"});
    cases.add(
        new String[] {
          "/authorization/device/",
          "client_id=" + huge + "&scope=acme:devices:create",
          "invalid_request"
        });
    cases.add(
        new String[] {
          "/authorization/device/", "client_id=" + uuid + "&scope=" + huge, "invalid_scope"
        });
    cases.add(
        new String[] {
          "/authorization/device/",
          "client_id=" + uuid + "&scope=nowhere:devices:create",
          "invalid_scope"
        });
    cases.add(
        new String[] {
          "/authorization/device/",
          "client_id=" + uuid + "&scope=acme:devices:write",
          "invalid_scope"
        });
    cases.add(
        new String[] {
          "/authorization/device/",
          "client_id=" + uuid + "&client_id=" + uuid + "&scope=acme:devices:create",
          "invalid_request"
        });
    cases.add(
        new String[] {
          "/authorization/device/", "client_id=%zz&scope=acme:devices:create", "invalid_request"
        });
    cases.add(
        new String[] {
          "/token/", "device_code=acme." + "0".repeat(64) + "&client_id=" + uuid, "invalid_request"
        });
    cases.add(
        new String[] {
          "/token/", "grant_type=password&device_code=x&client_id=" + uuid, "unsupported_grant_type"
        });
    cases.add(
        new String[] {
          "/token/",
          "grant_type=" + grant + "&device_code=acme." + "0".repeat(64) + "&client_id=" + uuid,
          "invalid_grant"
        });
    cases.add(
        new String[] {
          "/token/",
          "grant_type=" + grant + "&device_code=" + huge + "&client_id=" + uuid,
          "invalid_grant"
        });
    cases.add(
        new String[] {
          "/token/",
          "grant_type=" + grant + "&device_code=nowhere." + "0".repeat(64) + "&client_id=" + uuid,
          "invalid_grant"
        });
    cases.add(
        new String[] {
          "/token/",
          "grant_type="
              + grant
              + "&device_code=acme."
              + "0".repeat(64)
              + "&client_id="
              + uuid
              + "&scope=globex:devices:create",
          "invalid_scope"
        });
    int before =
        api.get("/api/v1/factories/acme/device-authorizations", registerToken)
            .json()
            .get("authorizations")
            .size();
    for (String[] bad : cases) {
      HttpResponse<String> answer = oauthPost(base + bad[0], bad[1]);
      assertOauthError(400, bad[2], answer);
      assertTrue(
          answer.headers().firstValue("Cache-Control").orElse("").contains("no-store"), bad[1]);
    }
    assertEquals(
        before,
        api.get("/api/v1/factories/acme/device-authorizations", registerToken)
            .json()
            .get("authorizations")
            .size(),
        "no bad request stored a grant");
  }

  static HttpResponse<String> oauthPost(String url, String form) throws Exception {
    return HttpClient.newBuilder()
        .build()
        .send(
            HttpRequest.newBuilder(URI.create(url))
                .timeout(DeviceClient.TIMEOUT)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form))
                .build(),
            HttpResponse.BodyHandlers.ofString());
  }

  static void assertOauthError(int status, String error, HttpResponse<String> answer)
      throws Exception {
    assertEquals(status, answer.statusCode(), answer.body());
    JsonNode body = JSON.readTree(answer.body());
    assertEquals(error, body.path("error").asText(), answer.body());
    assertTrue(body.path("detail").isTextual(), answer.body());
  }

  static JsonNode find(JsonNode authorizations, String userCode) {
    for (JsonNode authorization : authorizations) {
      if (authorization.path("userCode").asText().equals(userCode)) {
        return authorization;
      }
    }
    return com.fasterxml.jackson.databind.node.MissingNode.getInstance();
  }

  // ---- fioup check (pkg/state/check.go; pkg/target/plain_repo.go; events sent by
  // sendMetadataUpdateCompletedEvent) ----

  @Test
  void checkReadsItsTargetsAndItsMetadataEventIsNoUpdate() throws Exception {
    Fioup device =
        Fioup.register(
            dir.resolve("sota-check"), "http://127.0.0.1:" + server.httpPort() + "/ota/devices/");
    HttpResponse<String> targets = device.gateway("GET", "/repo/targets.json", null);
    assertEquals(200, targets.statusCode(), targets.body());
    JsonNode target =
        JSON.readTree(targets.body()).path("signed").path("targets").path("amd64-linux-1");
    assertEquals(
        "127.0.0.1:" + server.httpPort() + "/acme/shellhttpd@" + manifestDigest,
        target.path("custom").path("docker_compose_apps").path("shellhttpd").path("uri").asText(),
        targets.body());

    String metadata =
        "[{\"id\":\""
            + java.util.UUID.randomUUID()
            + "\",\"deviceTime\":\"2026-11-27T10:00:00Z\","
            + "\"event\":{\"correlationId\":\"meta-01KBZ6Y7H1V8Q2J3K4M5N6P7Q8\",\"success\":true,\"targetName\":\"\",\"version\":\"\","
            + "\"details\":\"{\\\"from_version\\\":-1,\\\"to_version\\\":2}\"},\"eventType\":{\"id\":\"MetadataUpdateCompleted\",\"version\":0}}]";
    java.time.Instant sent = java.time.Instant.now().minusSeconds(1);
    assertEquals(200, device.gateway("POST", "/events", metadata).statusCode());
    // the event's contact reaches the read side with its last-seen; a phantom update would have
    // come with it
    JsonNode self =
        io.flotilla.core.testing.Eventually.eventually(
            java.time.Duration.ofSeconds(20),
            () -> {
              JsonNode row =
                  JSON.readTree(
                      api.get(
                              "/api/v1/factories/acme/devices/" + device.uuid,
                              server.adminToken().value())
                          .body());
              assertFalse(
                  java.time.Instant.parse(row.path("lastSeen").asText("1970-01-01T00:00:00Z"))
                      .isBefore(sent),
                  row.toString());
              return row;
            });
    assertFalse(self.has("updateState") || self.has("updateCorrelationId"), self.toString());
  }

  // ---- fioup fetch through the apps proxy (fioup getComposeAppProxy; composeapp
  // tokenProxyTripper) ----

  @Test
  void fetchReadsTheAppThroughTheAppsProxyTrustingOnlyTheRegistrationsCa() throws Exception {
    Fioup device =
        Fioup.register(
            dir.resolve("sota-fetch"), "http://127.0.0.1:" + server.httpPort() + "/ota/devices/");
    URI proxy = device.appsProxy();
    assertEquals("https", proxy.getScheme());
    assertEquals("127.0.0.1:" + server.devicePort(), proxy.getRawAuthority(), "on the device port");

    HttpResponse<byte[]> head =
        device.registry(
            proxy, "HEAD", "/v2/acme/shellhttpd/manifests/" + manifestDigest, RESOLVE_ACCEPT, null);
    assertEquals(200, head.statusCode());
    assertEquals(
        String.valueOf(manifest.length),
        head.headers().firstValue("Content-Length").orElse(""),
        "the resolver takes the size from here");
    assertEquals(manifestDigest, head.headers().firstValue("Docker-Content-Digest").orElse(""));

    HttpResponse<byte[]> got =
        device.registry(
            proxy,
            "GET",
            "/v2/acme/shellhttpd/manifests/" + manifestDigest,
            OCI_MANIFEST + ", */*",
            null);
    assertEquals(200, got.statusCode());
    assertEquals(manifestDigest, sha256(got.body()));
    JsonNode layer = JSON.readTree(got.body()).path("layers").path(0);
    String indexDigest =
        layer.path("annotations").path("org.foundries.app.bundle.index.digest").asText();

    HttpResponse<byte[]> blob =
        device.registry(
            proxy,
            "GET",
            "/v2/acme/shellhttpd/blobs/" + layer.path("digest").asText(),
            "application/octet-stream, */*",
            null);
    assertEquals(200, blob.statusCode());
    assertArrayEquals(bundle, blob.body());
    HttpResponse<byte[]> index =
        device.registry(
            proxy,
            "GET",
            "/v2/acme/shellhttpd/blobs/" + indexDigest,
            "application/octet-stream, */*",
            null);
    assertArrayEquals(bundleIndex, index.body());

    // a resumed download: containerd's fetcher.open takes a 206 whose Content-Range starts at the
    // offset, or a 200 it skips
    HttpResponse<byte[]> rest =
        device.registry(
            proxy,
            "GET",
            "/v2/acme/shellhttpd/blobs/" + layer.path("digest").asText(),
            "application/octet-stream, */*",
            "bytes=10-");
    if (rest.statusCode() == 206) {
      assertTrue(
          rest.headers().firstValue("Content-Range").orElse("").startsWith("bytes 10-"),
          rest.headers().toString());
      assertArrayEquals(java.util.Arrays.copyOfRange(bundle, 10, bundle.length), rest.body());
    } else {
      assertEquals(200, rest.statusCode());
      assertArrayEquals(bundle, rest.body());
    }
  }

  @Test
  void theAppsProxyServesOnlyReadsOfTheDevicesOwnFactoryWhileItsUrlIsGenuine() throws Exception {
    Fioup device =
        Fioup.register(
            dir.resolve("sota-proxy-bounds"),
            "http://127.0.0.1:" + server.httpPort() + "/ota/devices/");
    URI proxy = device.appsProxy();
    assertEquals(
        403,
        device
            .registry(
                proxy,
                "GET",
                "/v2/globex/secret/manifests/" + foreignManifestDigest,
                OCI_MANIFEST,
                null)
            .statusCode(),
        "another factory");
    assertEquals(
        403,
        device.registry(proxy, "GET", "/v2/acme/shellhttpd/tags/list", "*/*", null).statusCode(),
        "no listing");
    assertEquals(
        400,
        device
            .registry(proxy, "GET", "/v2/acme/shellhttpd/manifests/latest", OCI_MANIFEST, null)
            .statusCode(),
        "digests only");
    assertEquals(
        403,
        device
            .registry(proxy, "POST", "/v2/acme/shellhttpd/blobs/uploads/", "*/*", null)
            .statusCode(),
        "no uploads");
    assertEquals(
        405,
        device
            .registry(
                proxy, "DELETE", "/v2/acme/shellhttpd/manifests/" + manifestDigest, "*/*", null)
            .statusCode(),
        "no deletes");
    assertEquals(
        404,
        device
            .registry(
                proxy, "GET", "/v2/acme/shellhttpd/blobs/sha256:" + "0".repeat(64), "*/*", null)
            .statusCode());
    assertEquals(
        404,
        device
            .registry(proxy, "GET", "/v3/acme/shellhttpd/blobs/" + manifestDigest, "*/*", null)
            .statusCode(),
        "registry paths only");

    String url = proxy.toString();
    URI forged =
        URI.create(url.substring(0, url.length() - 2) + (url.endsWith("AA") ? "BB" : "AA"));
    assertEquals(
        403,
        device
            .registry(
                forged,
                "GET",
                "/v2/acme/shellhttpd/manifests/" + manifestDigest,
                OCI_MANIFEST,
                null)
            .statusCode(),
        "a forged URL");
    HttpResponse<byte[]> noCapability =
        device.registry(
            URI.create("https://127.0.0.1:" + server.devicePort()), "GET", "/device", "*/*", null);
    assertEquals(
        401, noCapability.statusCode(), "without a certificate nothing but the proxy answers");

    assertEquals(
        204,
        api.delete("/api/v1/factories/acme/devices/" + device.uuid, server.adminToken().value())
            .status());
    assertEquals(
        403,
        device
            .registry(
                proxy, "GET", "/v2/acme/shellhttpd/manifests/" + manifestDigest, OCI_MANIFEST, null)
            .statusCode(),
        "decommissioned");
  }

  // ---- events, apps-states, config, hub-creds (the daemon's reports; fioconfig;
  // docker-credential-fioup) ----

  @Test
  void reportsConfigAndHubCredentialsAnswerWhatFioupAccepts() throws Exception {
    Fioup device =
        Fioup.register(
            dir.resolve("sota-reports"), "http://127.0.0.1:" + server.httpPort() + "/ota/devices/");
    // internal/events/event_sender.go, sendEvent: a JSON array of DgUpdateEvent, 200 to 204
    // accepted
    String correlation = "01KBZ7AAAAAAAAAAAAAAAAAAAA";
    String events =
        "["
            + updateEvent("UpdateInitStarted", correlation, null)
            + ","
            + updateEvent("EcuInstallationCompleted", correlation, true)
            + "]";
    HttpResponse<String> sent = device.gateway("POST", "/events", events);
    assertTrue(sent.statusCode() >= 200 && sent.statusCode() <= 204, sent.body());

    // pkg/client/app_states.go, ReportAppStates: AppStates, services with omitempty health and logs
    String states =
        "{\"ostree\":\"\",\"deviceTime\":\"2026-11-27T10:00:00Z\",\"apps\":{\"shellhttpd\":{\"services\":[{\"name\":\"httpd\","
            + "\"hash\":\"ab\",\"state\":\"running\",\"status\":\"Up 2 minutes\",\"image\":\"127.0.0.1/acme/shellhttpd@"
            + manifestDigest
            + "\"}],"
            + "\"state\":\"healthy\",\"uri\":\"127.0.0.1/acme/shellhttpd@"
            + manifestDigest
            + "\"}}}";
    assertEquals(200, device.gateway("POST", "/apps-states", states).statusCode());

    // fioconfig: GET /config, 200 with files, 204 without any, 304 when unchanged since
    // If-Modified-Since
    assertEquals(204, device.gateway("GET", "/config", null).statusCode());

    // cmd/fioup/docker_creds.go: transport.HttpGet(tls.server + "/hub-creds/"), no headers
    HttpResponse<String> creds =
        device.gatewayAs(
            FIOCONFIG_AGENT,
            "GET",
            URI.create(device.toml.get("tls.server") + "/hub-creds/"),
            null,
            Map.of());
    assertEquals(200, creds.statusCode());
    JsonNode answer = JSON.readTree(creds.body());
    assertTrue(answer.path("Username").asText().startsWith("device/acme/"), creds.body());
    assertFalse(answer.path("Secret").asText().isEmpty());

    io.flotilla.core.testing.Eventually.eventually(
        java.time.Duration.ofSeconds(20),
        () -> {
          JsonNode update =
              JSON.readTree(
                  api.get(
                          "/api/v1/factories/acme/devices/"
                              + device.uuid
                              + "/updates/"
                              + correlation,
                          server.adminToken().value())
                      .body());
          assertEquals("succeeded", update.path("state").asText(), update.toString());
          return null;
        });
  }

  static String updateEvent(String type, String correlationId, Boolean success) {
    return "{\"id\":\""
        + java.util.UUID.randomUUID()
        + "\",\"deviceTime\":\"2026-11-27T10:00:00Z\",\"event\":{\"correlationId\":\""
        + correlationId
        + "\",\"success\":"
        + success
        + ",\"targetName\":\"amd64-linux-1\",\"version\":\"1\"},\"eventType\":{\"id\":\""
        + type
        + "\",\"version\":0}}";
  }

  // ---- the device, as fioup's code makes its requests ----

  /**
   * One registered device: its sota dir as fioup writes it, then gateway requests with fioup's
   * headers.
   */
  static final class Fioup {
    final Path sotaDir;
    final DeviceClient tls = new DeviceClient();
    final String uuid = tls.uuid;
    Map<String, String> toml;

    private Fioup(Path sotaDir) {
      this.sotaDir = sotaDir;
    }

    /**
     * internal/register: the ping ({@code http.Get(DEVICE_API)}, any status up to 500), then the
     * POST with OSF-TOKEN.
     */
    static Fioup register(Path sotaDir, String deviceApi) throws Exception {
      return new Fioup(sotaDir).registerWith(deviceApi, "OSF-TOKEN", registerToken);
    }

    /** As {@link #register}, authenticated by {@code header: value} (authGetHttpHeaders). */
    Fioup registerWith(String deviceApi, String header, String value) throws Exception {
      Fioup device = this;
      HttpClient plain = HttpClient.newBuilder().build();
      HttpResponse<String> ping =
          plain.send(
              HttpRequest.newBuilder(URI.create(deviceApi)).GET().build(),
              HttpResponse.BodyHandlers.ofString());
      assertTrue(ping.statusCode() <= 500, "authPingServer fails above 500: " + ping.statusCode());

      ObjectNode info = JSON.createObjectNode();
      info.put("use-ostree-server", "true");
      info.put("sota-config-dir", sotaDir.toString());
      info.put("hardware-id", "amd64-linux");
      info.put("name", "fioup-" + device.uuid.substring(0, 8));
      info.put("uuid", device.uuid);
      info.put("csr", device.tls.csr("acme"));
      ObjectNode pacman = info.putObject("overrides").putObject("pacman");
      pacman.put("type", "\"ostree+compose_apps\"");
      pacman.put("reset_apps_root", "\"" + sotaDir.resolve("reset-apps") + "\"");
      pacman.put("compose_apps_root", "\"" + sotaDir.resolve("compose-apps") + "\"");
      pacman.put("tags", "\"main\"");
      HttpResponse<String> answer =
          plain.send(
              HttpRequest.newBuilder(URI.create(deviceApi))
                  .header("Content-type", "application/json")
                  .header(header, value)
                  .POST(
                      HttpRequest.BodyPublishers.ofString(
                          JSON.writerWithDefaultPrettyPrinter().writeValueAsString(info)))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(
          201, answer.statusCode(), "authRegisterDevice accepts only 201: " + answer.body());
      // populateSotaDir: every answered file verbatim into the sota dir, plus pkey.pem
      Files.createDirectories(sotaDir);
      JSON.readTree(answer.body())
          .fields()
          .forEachRemaining(
              file -> write(sotaDir.resolve(file.getKey()), file.getValue().asText()));
      device.tls.registered(
          Files.readString(sotaDir.resolve("root.crt")),
          Files.readString(sotaDir.resolve("client.pem")));
      device.toml = toml(Files.readString(sotaDir.resolve("sota.toml")));
      return device;
    }

    private static void write(Path file, String content) {
      try {
        Files.writeString(file, content);
      } catch (java.io.IOException e) {
        throw new AssertionError(e);
      }
    }

    /**
     * {@code GatewayClient.Get/Post} (pkg/client/gateway_client.go): tls.server joined with the
     * path, fioup's headers.
     */
    HttpResponse<String> gateway(String method, String path, String body) throws Exception {
      return gatewayAs(
          FIOUP_AGENT,
          method,
          URI.create(toml.get("tls.server") + path),
          body,
          Map.of("x-ats-tags", toml.get("pacman.tags")));
    }

    /**
     * fioconfig's {@code httpDoOnce}: Content-Type application/json whatever the body, and a closed
     * connection.
     */
    HttpResponse<String> gatewayAs(
        String agent, String method, URI uri, String body, Map<String, String> headers)
        throws Exception {
      HttpRequest.Builder request =
          HttpRequest.newBuilder(uri)
              .timeout(DeviceClient.TIMEOUT)
              .header("User-Agent", agent)
              .header("Content-Type", "application/json")
              .method(
                  method,
                  body == null
                      ? HttpRequest.BodyPublishers.noBody()
                      : HttpRequest.BodyPublishers.ofString(body));
      headers.forEach(request::header);
      return tls.http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /**
     * fioup {@code getComposeAppProxy}: POST to {@code pacman.compose_apps_proxy} over mutual TLS,
     * no headers, no body; only 201 counts, and the whole body must parse as a request URI ({@code
     * url.ParseRequestURI}) with an http(s) scheme and a host.
     */
    URI appsProxy() throws Exception {
      HttpResponse<String> answer =
          gatewayAs(
              FIOCONFIG_AGENT,
              "POST",
              URI.create(toml.get("pacman.compose_apps_proxy")),
              null,
              Map.of());
      assertEquals(201, answer.statusCode(), answer.body());
      URI url = new URI(answer.body());
      assertTrue(
          url.isAbsolute() && url.getHost() != null && url.getRawQuery() == null, answer.body());
      return url;
    }

    /**
     * composeapp's remote provider through {@code tokenProxyTripper}: the registry request's path
     * joined after the proxy URL's ({@code t.host.JoinPath(req.URL.Path)}; the request's own query
     * is dropped), Host set to the proxy's, over TLS that trusts only {@code
     * import.tls_cacert_path} and presents no client certificate ({@code
     * NewRemoteBlobProviderFromConfig} sets only RootCAs); HTTP/1.1 only ({@code NewHttpClient}).
     */
    HttpResponse<byte[]> registry(
        URI proxy, String method, String path, String accept, String range) throws Exception {
      HttpClient composeapp =
          HttpClient.newBuilder()
              .sslContext(trustOnly(Path.of(toml.get("import.tls_cacert_path"))))
              .version(HttpClient.Version.HTTP_1_1)
              .build();
      String base =
          proxy.toString().endsWith("/")
              ? proxy.toString().substring(0, proxy.toString().length() - 1)
              : proxy.toString();
      HttpRequest.Builder request =
          HttpRequest.newBuilder(URI.create(base + path))
              .timeout(DeviceClient.TIMEOUT)
              .header("User-Agent", "containerd/v1.7.15")
              .header("Accept", accept)
              .method(method, HttpRequest.BodyPublishers.noBody());
      if (range != null) {
        request.header("Range", range);
      }
      return composeapp.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private static SSLContext trustOnly(Path caFile) throws Exception {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      trust.setCertificateEntry("ca", Pem.certificate(Files.readString(caFile)));
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, tmf.getTrustManagers(), null);
      return context;
    }
  }

  /** The keys of a flat sota.toml as {@code section.key}, string values unquoted. */
  static Map<String, String> toml(String text) {
    Map<String, String> values = new LinkedHashMap<>();
    String section = "";
    Matcher header = Pattern.compile("\\[([^\\]]+)]").matcher("");
    for (String line : text.split("\n")) {
      line = line.strip();
      if (header.reset(line).matches()) {
        section = header.group(1);
      } else if (line.contains("=")) {
        String value = line.substring(line.indexOf('=') + 1).strip();
        values.put(
            section + "." + line.substring(0, line.indexOf('=')).strip(),
            value.startsWith("\"") ? value.substring(1, value.length() - 1) : value);
      }
    }
    return values;
  }

  // ---- publishing the app the devices fetch ----

  static String token(String admin, String factory, String scopes) throws Exception {
    Answer answer =
        api.post(
            "/api/v1/factories/" + factory + "/tokens", admin, "{\"scopes\":[" + scopes + "]}");
    assertEquals(201, answer.status(), answer.body());
    return answer.json().get("token").asText();
  }

  /** A compose-app v1 manifest (bundle layer with its index in the annotations, empty config). */
  static byte[] composeApp(byte[] bundle, byte[] index) throws Exception {
    String manifest =
        "{\"schemaVersion\":2,\"mediaType\":\""
            + OCI_MANIFEST
            + "\",\"artifactType\":\"application/vnd.fio+compose-app\","
            + "\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"size\":2,\"digest\":\""
            + sha256("{}".getBytes(StandardCharsets.UTF_8))
            + "\"},"
            + "\"layers\":[{\"mediaType\":\"application/octet-stream\",\"digest\":\""
            + sha256(bundle)
            + "\",\"size\":"
            + bundle.length
            + ","
            + "\"annotations\":{\"org.foundries.app.bundle.index.digest\":\""
            + sha256(index)
            + "\",\"org.foundries.app.bundle.index.size\":\""
            + index.length
            + "\"}}],"
            + "\"annotations\":{\"compose-app\":\"v1\"}}";
    return manifest.getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Pushes the blobs and the manifest with the registry's token flow; answers the manifest's
   * digest.
   */
  static String push(String apiToken, String repository, byte[] manifest, byte[]... blobs)
      throws Exception {
    String basic =
        Base64.getEncoder().encodeToString(("ci:" + apiToken).getBytes(StandardCharsets.UTF_8));
    Answer issued =
        api.send(
            api.request(
                    "/v2/token?service=flotilla&scope="
                        + URLEncoder.encode(
                            "repository:" + repository + ":push,pull", StandardCharsets.UTF_8),
                    null)
                .header("Authorization", "Basic " + basic)
                .GET());
    assertEquals(200, issued.status(), issued.body());
    String bearer = issued.json().get("token").asText();
    java.util.List<byte[]> all = new java.util.ArrayList<>(java.util.List.of(blobs));
    all.add("{}".getBytes(StandardCharsets.UTF_8));
    for (byte[] blob : all) {
      Answer uploaded =
          api.send(
              api.request("/v2/" + repository + "/blobs/uploads/?digest=" + sha256(blob), bearer)
                  .header("Content-Type", "application/octet-stream")
                  .POST(HttpRequest.BodyPublishers.ofByteArray(blob)));
      assertEquals(201, uploaded.status(), uploaded.body());
    }
    String digest = sha256(manifest);
    Answer put =
        api.send(
            api.request("/v2/" + repository + "/manifests/" + digest, bearer)
                .header("Content-Type", OCI_MANIFEST)
                .PUT(HttpRequest.BodyPublishers.ofByteArray(manifest)));
    assertEquals(201, put.status(), put.body());
    return digest;
  }

  static String sha256(byte[] bytes) throws Exception {
    return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }
}
