package io.flotilla.gateway.device;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.flotilla.core.pki.Pem;
import io.flotilla.core.testing.TestDatabases;
import io.flotilla.core.testing.TestNode;
import io.flotilla.core.tuf.TufMetadata;
import io.flotilla.gateway.FlotillaServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole device path on a real node: registration with a real CSR, then the device port over
 * real mTLS, the operator API over the read side, and a restart on the same data dir and database.
 * The node and factory "acme" are shared; each test registers a device of its own, and a test that
 * reads or changes factory-wide state works in a factory of its own.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class DeviceGatewayTest {

  static final Duration PATIENCE = Duration.ofSeconds(20);
  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path dataDir;
  Config config;
  FlotillaServer server;
  String adminToken;
  private final AtomicInteger factories = new AtomicInteger();
  String sharedToken;

  /** This test's factory, its token, and a device of it that is yet to register. */
  String factory;

  String token;
  DeviceClient device;
  final HttpClient api = HttpClient.newBuilder().connectTimeout(DeviceClient.TIMEOUT).build();

  abstract TestDatabases.Kind kind();

  @BeforeAll
  void start() throws Exception {
    config =
        ConfigFactory.parseMap(
                Map.of(
                    "flotilla.http.port",
                    0,
                    "flotilla.http.interface",
                    "127.0.0.1",
                    "flotilla.device.port",
                    0,
                    "flotilla.device.interface",
                    "127.0.0.1",
                    "flotilla.device.max-body",
                    "64k",
                    "flotilla.pki.server-sans",
                    List.of("localhost", "127.0.0.1")))
            .withFallback(TestNode.config(TestDatabases.fresh(kind()), dataDir))
            .resolve();
    server = FlotillaServer.start(config);
    adminToken = server.adminToken().value();
    useNewFactory("acme");
    sharedToken = token;
  }

  /**
   * Each test has a device of its own in the shared factory; a test that reads or changes what the
   * whole factory sees (fleet status, factory config, targets) calls {@link #useOwnFactory()}
   * first.
   */
  @BeforeEach
  void newDevice() {
    factory = "acme";
    token = sharedToken;
    device = new DeviceClient();
  }

  void useOwnFactory() throws Exception {
    useNewFactory("acme-" + factories.incrementAndGet());
  }

  /**
   * Creates {@code name} with one target on "main" and makes it this test's factory, with a token
   * for it.
   */
  private void useNewFactory(String name) throws Exception {
    factory = name;
    // a factory makes its certificate authorities: took over 15 s at a load average of 50
    assertEquals(
        201,
        call(
                Duration.ofSeconds(60),
                "POST",
                "/api/v1/factories",
                "{\"name\":\"" + factory + "\",\"platforms\":[\"amd64-linux\"]}",
                adminToken)
            .statusCode());
    HttpResponse<String> created =
        call(
            "POST",
            "/api/v1/factories/" + factory + "/tokens",
            "{\"description\":\"ci\",\"scopes\":[\"devices:create\",\"devices:read\",\"devices:write\",\"targets:write\"]}",
            adminToken);
    assertEquals(201, created.statusCode(), created.body());
    token = JSON.readTree(created.body()).get("token").asText();
    HttpResponse<String> target =
        call(
            "POST",
            "/api/v1/factories/" + factory + "/targets",
            "{\"tags\":[\"main\"],\"apps\":{\"shellhttpd\":\"hub.local/"
                + factory
                + "/shellhttpd@sha256:"
                + "ab".repeat(32)
                + "\"}}",
            token);
    assertEquals(201, target.statusCode(), target.body());
  }

  @AfterAll
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  String deviceBase() {
    return "https://127.0.0.1:" + server.devicePort();
  }

  HttpResponse<String> call(
      String method, String path, String body, String bearer, String... headers) throws Exception {
    return call(DeviceClient.TIMEOUT, method, path, body, bearer, headers);
  }

  HttpResponse<String> call(
      Duration timeout, String method, String path, String body, String bearer, String... headers)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.httpPort() + path))
            .timeout(timeout)
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (bearer != null) {
      request.header("Authorization", "Bearer " + bearer);
    }
    if (body != null) {
      request.header("Content-Type", "application/json");
    }
    for (int i = 0; i < headers.length; i += 2) {
      request.header(headers[i], headers[i + 1]);
    }
    return api.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> register(DeviceClient client, String csr, String uuid) throws Exception {
    ObjectNode body = JSON.createObjectNode();
    body.put("name", "dev-" + uuid.substring(0, 4));
    body.put("uuid", uuid);
    body.put("hardware-id", "amd64-linux");
    body.put("csr", csr);
    body.put("sota-config-dir", "/var/sota");
    body.put("group", "lab");
    body.putObject("overrides").putObject("pacman").put("tags", "\"main\"");
    HttpRequest request =
        HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + server.httpPort() + "/ota/devices/"))
            .timeout(DeviceClient.TIMEOUT)
            .header("OSF-TOKEN", token)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
            .build();
    return api.send(request, HttpResponse.BodyHandlers.ofString());
  }

  void registerDevice(DeviceClient client) throws Exception {
    HttpResponse<String> answer = register(client, client.csr(factory), client.uuid);
    assertEquals(201, answer.statusCode(), answer.body());
    JsonNode files = JSON.readTree(answer.body());
    client.registered(files.get("root.crt").asText(), files.get("client.pem").asText());
  }

  long journalRows() throws Exception {
    try (Connection c = server.core().database().dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet r =
            s.executeQuery(
                server.core().database().dialect().equals("h2")
                    ? "SELECT COUNT(*) FROM \"event_journal\""
                    : "SELECT COUNT(*) FROM event_journal")) {
      r.next();
      return r.getLong(1);
    }
  }

  static String event(String id, String correlationId, String type, Boolean success) {
    return "{\"id\":\""
        + id
        + "\",\"deviceTime\":\"2026-11-27T10:00:00Z\",\"eventType\":{\"id\":\""
        + type
        + "\",\"version\":2},"
        + "\"event\":{\"correlationId\":\""
        + correlationId
        + "\",\"success\":"
        + success
        + ",\"targetName\":\"amd64-linux-1\",\"version\":\"1\","
        + "\"details\":\"{\\\"message\\\":\\\"ok\\\"}\"}}";
  }

  @Test
  void registrationAnswersTheAgentsFiles() throws Exception {
    HttpResponse<String> answer = register(device, device.csr(factory), device.uuid);
    assertEquals(201, answer.statusCode(), answer.body());
    JsonNode files = JSON.readTree(answer.body());
    assertTrue(files.get("root.crt").asText().startsWith("-----BEGIN CERTIFICATE-----"));
    assertEquals(
        device.uuid,
        Pem.certificate(files.get("client.pem").asText())
            .getSubjectX500Principal()
            .getName()
            .replaceAll(".*CN=([^,]+).*", "$1"));
    String toml = files.get("sota.toml").asText();
    assertTrue(
        toml.contains("server = \"https://127.0.0.1:" + server.devicePort() + "\""),
        "the host the device registered by: " + toml);
    assertTrue(toml.contains("tags = \"main\""), toml);
    assertTrue(toml.contains("tls_pkey_path = \"/var/sota/pkey.pem\""), toml);
    device.registered(files.get("root.crt").asText(), files.get("client.pem").asText());

    String sameUuid =
        io.flotilla.core.pki.PkiTestSupport.csr(
            io.flotilla.core.pki.PkiTestSupport.deviceKey(),
            "CN=" + device.uuid + ",OU=" + factory);
    assertEquals(
        409,
        register(new DeviceClient(), sameUuid, device.uuid).statusCode(),
        "the same uuid twice");
    DeviceClient other = new DeviceClient();
    HttpResponse<String> wrongCn =
        register(other, other.csr(factory), UUID.randomUUID().toString());
    assertEquals(400, wrongCn.statusCode(), wrongCn.body());
    assertTrue(wrongCn.body().contains("\"error\":\"csr_cn_mismatch\""), wrongCn.body());
    HttpResponse<String> wrongOu = register(other, other.csr("beta"), other.uuid);
    assertTrue(wrongOu.statusCode() == 400 || wrongOu.statusCode() == 403, wrongOu.body());
    HttpResponse<String> garbage = register(other, "not a csr", other.uuid);
    assertEquals(400, garbage.statusCode(), garbage.body());
    HttpResponse<String> noToken =
        api.send(
            HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + server.httpPort() + "/ota/devices/"))
                .POST(HttpRequest.BodyPublishers.ofString("{}"))
                .header("Content-Type", "application/json")
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(401, noToken.statusCode());
  }

  @Test
  void deviceChecksInReadsItsTargetsAndReportsAnUpdate() throws Exception {
    useOwnFactory();
    registerDevice(device);
    String base = deviceBase();
    HttpResponse<String> self =
        device.send(
            base,
            "GET",
            "/device",
            null,
            "x-ats-target",
            "amd64-linux-0",
            "x-ats-dockerapps",
            "shellhttpd");
    assertEquals(200, self.statusCode(), self.body());
    JsonNode record = JSON.readTree(self.body());
    assertEquals(device.uuid, record.get("uuid").asText());
    assertEquals(factory, record.get("factory").asText());
    assertEquals("main", record.get("tag").asText());
    assertEquals("lab", record.get("group_name").asText());
    assertFalse(record.get("is_prod").asBoolean());
    assertEquals("amd64-linux-0", record.get("target_name").asText());
    assertEquals(
        io.flotilla.core.pki.Pem.encode(device.key.getPublic()),
        record.get("pubkey").asText(),
        "the registered key");

    HttpResponse<String> targets =
        device.send(base, "GET", "/repo/targets.json", null, "x-ats-tags", "main");
    assertEquals(200, targets.statusCode(), targets.body());
    assertEquals(
        TufMetadata.sha256Hex(targets.body().getBytes(StandardCharsets.UTF_8)),
        targets.headers().firstValue("x-ats-role-checksum").orElseThrow());
    JsonNode signed = JSON.readTree(targets.body()).get("signed");
    assertEquals("Targets", signed.get("_type").asText());
    JsonNode target = signed.get("targets").get("amd64-linux-1");
    assertEquals("1", target.get("custom").get("version").asText());
    assertEquals(
        "hub.local/" + factory + "/shellhttpd@sha256:" + "ab".repeat(32),
        target.get("custom").get("docker_compose_apps").get("shellhttpd").get("uri").asText());
    HttpResponse<String> root = device.send(base, "GET", "/repo/1.root.json", null);
    assertEquals(200, root.statusCode());
    String keyHex =
        JSON.readTree(root.body())
            .get("signed")
            .get("keys")
            .elements()
            .next()
            .get("keyval")
            .get("public")
            .asText();
    assertTrue(TufMetadata.isSignedBy(JSON.readTree(targets.body()), keyHex));
    assertEquals(
        targets.body(),
        device.send(base, "GET", "/repo/targets.json", null, "x-ats-tags", "main").body(),
        "same bytes while nothing changed");
    assertEquals(404, device.send(base, "GET", "/repo/2.root.json", null).statusCode());
    assertEquals(
        200,
        device.send(base, "GET", "/repo/timestamp.json", null, "x-ats-tags", "main").statusCode());
    assertEquals(
        200,
        device.send(base, "GET", "/repo/snapshot.json", null, "x-ats-tags", "main").statusCode());
    HttpResponse<String> unknownTag =
        device.send(base, "GET", "/repo/targets.json", null, "x-ats-tags", "nosuchtag");
    assertEquals(200, unknownTag.statusCode());
    assertEquals(0, JSON.readTree(unknownTag.body()).get("signed").get("targets").size());
    // the device's tag stays "main" for what follows
    device.send(base, "GET", "/device", null, "x-ats-tags", "main");

    reportUpdateOne(base);
    String appsStates =
        "{\"ostree\":\"abc\",\"deviceTime\":\"2026-11-27T10:05:00Z\",\"apps\":{\"shellhttpd\":{\"uri\":\"hub.local/"
            + factory
            + "/shellhttpd@sha256:"
            + "ab".repeat(32)
            + "\",\"state\":\"healthy\",\"services\":[]}}}";
    assertEquals(200, device.send(base, "POST", "/apps-states", appsStates).statusCode());
    assertEquals(
        200, device.send(base, "PUT", "/system_info", "{\"id\":\"computer\"}").statusCode());
    assertEquals(
        200,
        device
            .send(
                base,
                "PUT",
                "/system_info/network",
                "{\"hostname\":\"dev\",\"mac\":\"00:11\",\"local_ipv4\":\"10.0.0.2\"}")
            .statusCode());
    assertEquals(
        200,
        device
            .send(base, "PUT", "/system_info/config", "[pacman]\ntags = \"main\"\n")
            .statusCode());

    String systemInfoPath =
        "/api/v1/factories/" + factory + "/devices/" + device.uuid + "/system-info";
    eventually(
        PATIENCE,
        () -> {
          JsonNode info = JSON.readTree(call("GET", systemInfoPath, null, token).body());
          assertEquals("computer", info.path("hardware").path("id").asText(), info.toString());
          assertEquals(
              "10.0.0.2", info.path("network").path("local_ipv4").asText(), info.toString());
          assertEquals(
              "[pacman]\ntags = \"main\"\n", info.path("config").asText(), info.toString());
          assertTrue(info.path("reportedAt").has("network"), info.toString());
          return null;
        });
    assertEquals(
        404,
        call(
                "GET",
                "/api/v1/factories/" + factory + "/devices/no-such-device/system-info",
                null,
                token)
            .statusCode());

    assertOperatorViewShowsTheUpdate();
    // the fleet status reads two projections, devices and targets, and each catches up on its own
    eventually(
        PATIENCE,
        () -> {
          JsonNode status =
              JSON.readTree(
                  call("GET", "/api/v1/factories/" + factory + "/status", null, token).body());
          assertEquals(1, status.get("upToDate").asLong(), status.toString());
          assertEquals(1, status.get("online").asLong(), status.toString());
          assertEquals(1, status.get("byTarget").get("amd64-linux-1").asLong(), status.toString());
          return null;
        });
  }

  /**
   * The device reports update upd-1 to amd64-linux-1 (with a duplicate and a bad correlation id on
   * the way).
   */
  void reportUpdateOne(String base) throws Exception {
    String sequence =
        "["
            + String.join(
                ",",
                event("e1", "upd-1", "UpdateInitStarted", null),
                event("e2", "upd-1", "UpdateInitCompleted", true),
                event("e3", "upd-1", "EcuDownloadStarted", null),
                event("e4", "upd-1", "EcuDownloadCompleted", true),
                event("e5", "upd-1", "EcuInstallationStarted", null),
                event("e6", "upd-1", "EcuInstallationApplied", null),
                event("bad", "upd 1!", "EcuInstallationApplied", null))
            + "]";
    assertEquals(
        200, device.send(base, "POST", "/events", sequence, "x-ats-tags", "main").statusCode());
    String last =
        "["
            + event("e6", "upd-1", "EcuInstallationApplied", null)
            + ","
            + event("e7", "upd-1", "EcuInstallationCompleted", true)
            + "]";
    assertEquals(
        200,
        device.send(base, "POST", "/events", last, "x-ats-target", "amd64-linux-1").statusCode());
  }

  void assertOperatorViewShowsTheUpdate() throws Exception {
    JsonNode view =
        eventually(
            PATIENCE,
            () -> {
              HttpResponse<String> response =
                  call(
                      "GET",
                      "/api/v1/factories/" + factory + "/devices/" + device.uuid,
                      null,
                      token);
              assertEquals(200, response.statusCode(), response.body());
              JsonNode node = JSON.readTree(response.body());
              assertEquals("succeeded", node.get("updateState").asText(), response.body());
              assertEquals("amd64-linux-1", node.get("targetName").asText());
              return node;
            });
    assertTrue(view.get("online").asBoolean());
    assertNotNull(view.get("lastSeen"));
    assertEquals("main", view.get("tag").asText());
    JsonNode updates =
        JSON.readTree(
                call(
                        "GET",
                        "/api/v1/factories/" + factory + "/devices/" + device.uuid + "/updates",
                        null,
                        token)
                    .body())
            .get("updates");
    assertEquals(1, updates.size());
    assertEquals("upd-1", updates.get(0).get("correlationId").asText());
    JsonNode update =
        JSON.readTree(
            call(
                    "GET",
                    "/api/v1/factories/" + factory + "/devices/" + device.uuid + "/updates/upd-1",
                    null,
                    token)
                .body());
    assertEquals("succeeded", update.get("state").asText());
    assertEquals(
        7, update.get("events").size(), "duplicates ignored, the bad correlation id dropped");
    assertEquals(
        "EcuInstallationCompleted",
        update.get("events").get(6).get("eventType").get("id").asText());
    JsonNode list =
        JSON.readTree(
            call(
                    "GET",
                    "/api/v1/factories/" + factory + "/devices?tag=main&online=true",
                    null,
                    token)
                .body());
    assertTrue(list.get("devices").findValuesAsText("uuid").contains(device.uuid));
  }

  @Test
  void badDeviceInputIsAClearError() throws Exception {
    registerDevice(device);
    String base = deviceBase();
    HttpResponse<String> notArray = device.send(base, "POST", "/events", "{\"id\":\"x\"}");
    assertEquals(400, notArray.statusCode());
    assertTrue(notArray.body().startsWith("{\"error\":"), notArray.body());
    assertEquals(400, device.send(base, "POST", "/events", "[{\"id\":").statusCode());
    assertEquals(
        400,
        device
            .send(base, "POST", "/apps-states", "{\"deviceTime\":\"yesterday\",\"apps\":{}}")
            .statusCode());
    assertEquals(
        413,
        device
            .send(base, "PUT", "/system_info", "{\"x\":\"" + "a".repeat(70_000) + "\"}")
            .statusCode());
    assertEquals(
        404, device.send(base, "GET", "/repo/targets.json", null).statusCode(), "no x-ats-tags");
    assertEquals(
        400, device.send(base, "GET", "/device", null, "x-ats-tags", "bad tag!").statusCode());
    assertEquals(404, device.send(base, "GET", "/nowhere", null).statusCode());
  }

  @Test
  void certificatesDecideWhoIsADevice() throws Exception {
    registerDevice(device);
    var acmeCa = server.devices().pki().ensureFactory(factory);
    var betaCa = server.devices().pki().ensureFactory("beta");
    var key = io.flotilla.core.pki.PkiTestSupport.deviceKey();

    DeviceClient firstContact =
        withCertificate(
            key,
            io.flotilla.core.pki.PkiTestSupport.forge(
                acmeCa, "CN=fc-" + device.uuid + ",OU=" + factory, key.getPublic()));
    HttpResponse<String> created =
        firstContact.send(deviceBase(), "GET", "/device", null, "x-ats-tags", "main");
    assertEquals(200, created.statusCode(), "a factory-CA certificate creates the device");
    assertEquals(
        io.flotilla.core.pki.Pem.encode(key.getPublic()),
        JSON.readTree(created.body()).get("pubkey").asText(),
        "the first contact's key");
    eventually(
        PATIENCE,
        () -> {
          assertEquals(
              200,
              call(
                      "GET",
                      "/api/v1/factories/" + factory + "/devices/fc-" + device.uuid,
                      null,
                      token)
                  .statusCode());
          return null;
        });

    DeviceClient foreign =
        withCertificate(
            key,
            io.flotilla.core.pki.PkiTestSupport.forge(
                betaCa, "CN=" + device.uuid + ",OU=" + factory, key.getPublic()));
    assertThrows(
        IOException.class,
        () -> foreign.send(deviceBase(), "GET", "/device", null),
        "another factory's CA");
    DeviceClient expired =
        withCertificate(
            key,
            io.flotilla.core.pki.PkiTestSupport.forge(
                acmeCa,
                "CN=" + device.uuid + ",OU=" + factory,
                key.getPublic(),
                java.time.Instant.now().minusSeconds(7200),
                java.time.Instant.now().minusSeconds(3600)));
    assertThrows(
        IOException.class, () -> expired.send(deviceBase(), "GET", "/device", null), "expired");
    HttpClient noCertificate =
        HttpClient.newBuilder()
            .sslContext(trustOnly(device.rootPem))
            .connectTimeout(DeviceClient.TIMEOUT)
            .build();
    assertEquals(
        401,
        noCertificate
            .send(
                HttpRequest.newBuilder(URI.create(deviceBase() + "/device")).build(),
                HttpResponse.BodyHandlers.ofString())
            .statusCode());
    DeviceClient sameUuidOtherFactory =
        withCertificate(
            key,
            io.flotilla.core.pki.PkiTestSupport.forge(
                betaCa, "CN=" + device.uuid + ",OU=beta", key.getPublic()));
    HttpResponse<String> clash =
        sameUuidOtherFactory.send(deviceBase(), "GET", "/device", null, "x-ats-tags", "evil");
    assertEquals(
        403,
        clash.statusCode(),
        "a certificate of another factory can never touch this device: " + clash.body());
  }

  DeviceClient withCertificate(
      java.security.KeyPair key, java.security.cert.X509Certificate certificate) throws Exception {
    DeviceClient client = new DeviceClient(key);
    client.registered(device.rootPem, Pem.encode(certificate));
    return client;
  }

  static javax.net.ssl.SSLContext trustOnly(String rootPem) throws Exception {
    java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("root", Pem.certificate(rootPem));
    javax.net.ssl.TrustManagerFactory tmf =
        javax.net.ssl.TrustManagerFactory.getInstance(
            javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
    context.init(null, tmf.getTrustManagers(), null);
    return context;
  }

  @Test
  void badOperatorInputIsAClearError() throws Exception {
    registerDevice(device);
    assertEquals(
        400,
        call("GET", "/api/v1/factories/" + factory + "/devices?limit=0", null, token).statusCode());
    assertEquals(
        400,
        call("GET", "/api/v1/factories/" + factory + "/devices?online=maybe", null, token)
            .statusCode());
    assertEquals(
        400,
        call("GET", "/api/v1/factories/" + factory + "/devices?limit=x", null, token).statusCode());
    assertEquals(
        404,
        call("GET", "/api/v1/factories/" + factory + "/devices/nobody", null, token).statusCode());
    assertEquals(
        404,
        call(
                "GET",
                "/api/v1/factories/" + factory + "/devices/" + device.uuid + "/updates/nothing",
                null,
                token)
            .statusCode());
    assertEquals(404, call("GET", "/api/v1/factories/beta/devices", null, token).statusCode());
    assertEquals(
        401, call("GET", "/api/v1/factories/" + factory + "/devices", null, null).statusCode());
    assertEquals(
        400,
        call(
                "PATCH",
                "/api/v1/factories/" + factory + "/devices/" + device.uuid,
                "{\"tag\":\"no spaces\"}",
                token)
            .statusCode());
    assertEquals(
        404,
        call("DELETE", "/api/v1/factories/" + factory + "/devices/nobody", null, token)
            .statusCode());
    assertEquals(
        400,
        call(
                "PUT",
                "/api/v1/factories/" + factory + "/config",
                "{\"files\":[{\"name\":\"a\"}]}",
                token)
            .statusCode());
    assertEquals(
        400,
        call("PUT", "/api/v1/factories/" + factory + "/config", "{\"files\":", token).statusCode());
  }

  @Test
  void idleCheckInsWriteNothing() throws Exception {
    registerDevice(device);
    String base = deviceBase();
    device.send(
        base,
        "GET",
        "/device",
        null,
        "x-ats-tags",
        "main",
        "x-ats-target",
        "amd64-linux-1",
        "x-ats-dockerapps",
        "shellhttpd");
    long before = journalRows();
    for (int i = 0; i < 1000; i++) {
      HttpResponse<String> response =
          device.send(
              base,
              i % 2 == 0 ? "GET" : "GET",
              i % 2 == 0 ? "/device" : "/repo/targets.json",
              null,
              "x-ats-tags",
              "main",
              "x-ats-target",
              "amd64-linux-1",
              "x-ats-dockerapps",
              "shellhttpd");
      assertEquals(200, response.statusCode());
    }
    assertEquals(before, journalRows(), "1,000 idle check-ins inside the last-seen interval");
  }

  @Test
  void configMergesFactoryGroupAndDevice() throws Exception {
    useOwnFactory();
    registerDevice(device);
    String base = deviceBase();
    assertEquals(204, device.send(base, "GET", "/config", null).statusCode());
    assertEquals(
        200,
        call(
                "PUT",
                "/api/v1/factories/" + factory + "/config",
                "{\"reason\":\"r\",\"files\":[{\"name\":\"a\",\"value\":\"factory\"},{\"name\":\"b\",\"value\":\"factory\"}]}",
                token)
            .statusCode());
    assertEquals(
        200,
        call(
                "PUT",
                "/api/v1/factories/" + factory + "/device-groups/lab/config",
                "{\"files\":[{\"name\":\"b\",\"value\":\"group\"},{\"name\":\"c\",\"value\":\"group\"}]}",
                token)
            .statusCode());
    assertEquals(
        201,
        device
            .send(
                base,
                "PATCH",
                "/config",
                "{\"reason\":\"local\",\"files\":[{\"name\":\"c\",\"value\":\"device\",\"unencrypted\":true,\"on-changed\":[\"/usr/share/fioconfig/handlers/x\"]}]}")
            .statusCode());
    HttpResponse<String> config = device.send(base, "GET", "/config", null);
    assertEquals(200, config.statusCode(), config.body());
    JsonNode files = JSON.readTree(config.body());
    assertEquals("factory", files.get("a").get("Value").asText());
    assertEquals("group", files.get("b").get("Value").asText());
    assertEquals("device", files.get("c").get("Value").asText());
    assertEquals(
        "/usr/share/fioconfig/handlers/x", files.get("c").get("OnChanged").get(0).asText());
    String lastModified = config.headers().firstValue("Last-Modified").orElseThrow();
    assertEquals(
        304,
        device.send(base, "GET", "/config", null, "If-Modified-Since", lastModified).statusCode());

    HttpResponse<String> renamed =
        call(
            "PATCH",
            "/api/v1/factories/" + factory + "/devices/" + device.uuid,
            "{\"name\":\"renamed\",\"tag\":\"beta\"}",
            token);
    assertEquals(200, renamed.statusCode());
    // The answer is the device as GET shows it, with the change in it: the new name, and the tag
    // the device is yet to report.
    JsonNode answered = JSON.readTree(renamed.body());
    assertEquals("renamed", answered.get("name").asText(), renamed.body());
    assertEquals("main", answered.get("tag").asText(), renamed.body());
    assertEquals("beta", answered.get("requestedTag").asText(), renamed.body());
    for (String field : List.of("uuid", "hardwareId", "production", "online", "createdAt")) {
      assertTrue(
          answered.has(field),
          "PATCH answers in GET's shape, with " + field + ": " + renamed.body());
    }
    for (String field : List.of("is_prod", "target_name", "group_name", "pubkey")) {
      assertFalse(
          answered.has(field),
          "no device-protocol field " + field + " in the operator API: " + renamed.body());
    }
    JsonNode withTag = JSON.readTree(device.send(base, "GET", "/config", null).body());
    assertTrue(withTag.get("z-50-fioctl.toml").get("Value").asText().contains("tags = \"beta\""));
  }

  @Test
  void hubCredentialsPullOnlyTheDevicesFactory() throws Exception {
    registerDevice(device);
    HttpResponse<String> response = device.send(deviceBase(), "GET", "/hub-creds/", null);
    assertEquals(200, response.statusCode(), response.body());
    JsonNode creds = JSON.readTree(response.body());
    DeviceHubCredentials verifier = server.devices().hubCredentials();
    assertEquals(
        factory,
        verifier
            .verify(creds.get("Username").asText(), creds.get("Secret").asText())
            .orElseThrow());
    assertTrue(
        verifier
            .verify(
                creds.get("Username").asText().replace(factory, "beta"),
                creds.get("Secret").asText())
            .isEmpty());
    assertTrue(
        verifier
            .verify(creds.get("Username").asText(), creds.get("Secret").asText() + "x")
            .isEmpty());
  }

  @Test
  void aNewTargetIsPushedOverTheWebSocket() throws Exception {
    useOwnFactory();
    registerDevice(device);
    LinkedBlockingQueue<String> messages = new LinkedBlockingQueue<>();
    HttpClient client =
        HttpClient.newBuilder()
            .sslContext(device.sslContext())
            .connectTimeout(DeviceClient.TIMEOUT)
            .build();
    WebSocket socket =
        client
            .newWebSocketBuilder()
            .header("x-ats-tags", "main")
            .buildAsync(
                URI.create("wss://127.0.0.1:" + server.devicePort() + "/ws"),
                new WebSocket.Listener() {
                  @Override
                  public CompletionStage<?> onText(
                      WebSocket webSocket, CharSequence data, boolean last) {
                    messages.add(data.toString());
                    webSocket.request(1);
                    return null;
                  }
                })
            .get(15, TimeUnit.SECONDS);
    eventually(
        PATIENCE,
        () -> {
          assertEquals(1, server.devices().pushConnections());
          return null;
        });
    HttpResponse<String> target =
        call(
            "POST",
            "/api/v1/factories/" + factory + "/targets",
            "{\"tags\":[\"main\"],\"apps\":{\"shellhttpd\":\"hub.local/"
                + factory
                + "/shellhttpd@sha256:"
                + "cd".repeat(32)
                + "\"}}",
            token);
    assertEquals(201, target.statusCode(), target.body());
    long sent = System.nanoTime();
    String message = messages.poll(10, TimeUnit.SECONDS);
    assertNotNull(message, "no push within 10 s");
    assertTrue(System.nanoTime() - sent < TimeUnit.SECONDS.toNanos(1), "pushed within a second");
    JsonNode push = JSON.readTree(message);
    assertEquals("targets-changed", push.get("type").asText());
    assertEquals("main", push.get("tag").asText());
    long version =
        JSON.readTree(
                device
                    .send(deviceBase(), "GET", "/repo/targets.json", null, "x-ats-tags", "main")
                    .body())
            .get("signed")
            .get("version")
            .asLong();
    assertEquals(version, push.get("version").asLong());
    socket.abort();
  }

  @Test
  void curlWithTheRegistrationFilesReadsTargets() throws Exception {
    registerDevice(device);
    org.junit.jupiter.api.Assumptions.assumeTrue(
        java.util.Arrays.stream(
                System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
            .anyMatch(dir -> Files.isExecutable(Path.of(dir, "curl"))),
        "curl is not installed");
    Path files = Files.createDirectories(dataDir.resolve("curl-" + device.uuid));
    Files.writeString(files.resolve("client.pem"), device.clientPem);
    Files.writeString(files.resolve("pkey.pem"), Pem.encode(device.key.getPrivate()));
    Files.writeString(files.resolve("root.crt"), device.rootPem);
    Process curl =
        new ProcessBuilder(
                "curl",
                "-sS",
                "--max-time",
                "10",
                "--cert",
                "client.pem",
                "--key",
                "pkey.pem",
                "--cacert",
                "root.crt",
                "https://127.0.0.1:" + server.devicePort() + "/repo/targets.json",
                "-H",
                "x-ats-tags: main")
            .directory(files.toFile())
            .redirectErrorStream(true)
            .start();
    assertTrue(curl.waitFor(20, TimeUnit.SECONDS));
    String output = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, curl.exitValue(), output);
    assertEquals("Targets", JSON.readTree(output).get("signed").get("_type").asText());
  }

  @Test
  void everythingSurvivesARestart() throws Exception {
    registerDevice(device);
    reportUpdateOne(deviceBase());
    assertOperatorViewShowsTheUpdate();
    assertEquals(
        200,
        call(
                "PATCH",
                "/api/v1/factories/" + factory + "/devices/" + device.uuid,
                "{\"name\":\"renamed\"}",
                token)
            .statusCode());
    server.close();
    server = FlotillaServer.start(config);
    device.registered(device.rootPem, device.clientPem);
    HttpResponse<String> self = device.send(deviceBase(), "GET", "/device", null);
    assertEquals(200, self.statusCode(), self.body());
    assertEquals("renamed", JSON.readTree(self.body()).get("name").asText());
    assertOperatorViewShowsTheUpdate();
  }

  @Test
  void theOperatorSeesTheLastFailureAfterTheRollback() throws Exception {
    registerDevice(device);
    String failure =
        "[{\"id\":\"f1\",\"deviceTime\":\"2026-11-27T10:00:00Z\",\"eventType\":{\"id\":\"UpdateInitCompleted\",\"version\":2},"
            + "\"event\":{\"correlationId\":\"upd-bad\",\"success\":false,\"targetName\":\"amd64-linux-2\",\"version\":\"2\","
            + "\"details\":\"{\\\"error\\\": \\\"hub.example.com/acme/web:1: no such host\\\"}\"}}]";
    assertEquals(
        200,
        device.send(deviceBase(), "POST", "/events", failure, "x-ats-tags", "main").statusCode());
    String rollback = "[" + event("r1", "upd-back", "EcuInstallationCompleted", true) + "]";
    assertEquals(200, device.send(deviceBase(), "POST", "/events", rollback).statusCode());

    JsonNode view =
        eventually(
            PATIENCE,
            () -> {
              HttpResponse<String> response =
                  call(
                      "GET",
                      "/api/v1/factories/" + factory + "/devices/" + device.uuid,
                      null,
                      token);
              assertEquals(200, response.statusCode(), response.body());
              JsonNode node = JSON.readTree(response.body());
              assertEquals("upd-back", node.path("updateCorrelationId").asText(), response.body());
              return node;
            });
    assertEquals("succeeded", view.get("updateState").asText());
    JsonNode last = view.get("lastFailure");
    assertNotNull(last, view.toString());
    assertEquals("upd-bad", last.get("correlationId").asText());
    assertEquals("amd64-linux-2", last.get("targetName").asText());
    assertEquals("UpdateInitCompleted", last.get("step").asText());
    assertEquals("hub.example.com/acme/web:1: no such host", last.get("reason").asText());
    assertNotNull(last.get("at"));

    JsonNode listed =
        JSON.readTree(
                call("GET", "/api/v1/factories/" + factory + "/devices?limit=1000", null, token)
                    .body())
            .get("devices");
    JsonNode mine = null;
    for (JsonNode d : listed) {
      if (d.get("uuid").asText().equals(device.uuid)) {
        mine = d;
      }
    }
    assertNotNull(mine, listed.toString());
    assertEquals(last, mine.get("lastFailure"));

    HttpResponse<String> renamed =
        call(
            "PATCH",
            "/api/v1/factories/" + factory + "/devices/" + device.uuid,
            "{\"name\":\"failed-once\"}",
            token);
    assertEquals(200, renamed.statusCode(), renamed.body());
    assertEquals(
        "hub.example.com/acme/web:1: no such host",
        JSON.readTree(renamed.body()).path("lastFailure").path("reason").asText(),
        "the entity's answer to a change shows it too");
  }

  @Test
  void aDecommissionedDeviceIsRefused() throws Exception {
    DeviceClient doomed = new DeviceClient();
    registerDevice(doomed);
    assertEquals(200, doomed.send(deviceBase(), "GET", "/device", null).statusCode());
    assertEquals(
        204,
        call("DELETE", "/api/v1/factories/" + factory + "/devices/" + doomed.uuid, null, token)
            .statusCode());
    HttpResponse<String> kept = doomed.send(deviceBase(), "GET", "/device", null);
    assertEquals(
        401, kept.statusCode(), "the open connection is checked again per request: " + kept.body());
    doomed.registered(doomed.rootPem, doomed.clientPem);
    assertThrows(
        IOException.class,
        () -> doomed.send(deviceBase(), "GET", "/device", null),
        "a new handshake is refused");
    assertEquals(
        404,
        call("GET", "/api/v1/factories/beta/devices/" + doomed.uuid, null, adminToken)
            .statusCode());
  }
}

class DeviceGatewayOnH2Test extends DeviceGatewayTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.H2;
  }
}

class DeviceGatewayOnPostgresTest extends DeviceGatewayTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.POSTGRES;
  }
}
