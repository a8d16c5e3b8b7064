package io.flotilla.gateway.webhook;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.flotilla.core.testing.TestDatabases;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.build.GitCli;
import io.flotilla.gateway.device.DeviceClient;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.TestServers;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Webhooks against a real server and a receiver in the test (the JDK's HttpServer on port 0) that
 * checks every signature: retries after 500s, each hooked event kind delivered, a slow receiver
 * that holds up no other hook, delivery resumed after a restart, and hostile configuration refused.
 * Each test makes its own factory and receiver path.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class WebhookTest {

  static final ObjectMapper JSON = new ObjectMapper();
  static final String APP =
      "\"apps\":{\"shellhttpd\":\"hub.example.com/%s/shellhttpd@sha256:" + "1".repeat(64) + "\"}";

  /** Short retries, so that a test sees several attempts in seconds. */
  static final Config WEBHOOKS =
      ConfigFactory.parseMap(
          Map.of(
              "flotilla.webhooks.poll-interval", "100ms",
              "flotilla.webhooks.initial-backoff", "200ms",
              "flotilla.webhooks.max-backoff", "1s",
              "flotilla.webhooks.max-attempts", 5,
              "flotilla.webhooks.connect-timeout", "2s",
              "flotilla.webhooks.request-timeout", "3s"));

  @TempDir static Path dataDir;
  @TempDir static Path work;
  Config database;
  FlotillaServer server;
  ApiClient api;
  String admin;
  HttpServer receiver;
  ExecutorService receiverThreads;
  final Map<String, Endpoint> endpoints = new ConcurrentHashMap<>();

  abstract TestDatabases.Kind kind();

  /** What one receiver path got, and how it answers: 500 for the first {@code failures}. */
  static final class Endpoint {
    final List<JsonNode> bodies = new CopyOnWriteArrayList<>();
    final List<String> deliveryHeaders = new CopyOnWriteArrayList<>();
    final AtomicInteger failures = new AtomicInteger();
    volatile String secret;
    volatile long delayMillis;
    volatile String badSignature;

    /** The deliveries of one kind, de-duplicated by id as a receiver does. */
    List<JsonNode> of(String event) {
      Map<String, JsonNode> byId = new java.util.LinkedHashMap<>();
      bodies.stream()
          .filter(b -> b.path("event").asText().equals(event))
          .forEach(b -> byId.putIfAbsent(b.path("id").asText(), b));
      return List.copyOf(byId.values());
    }
  }

  @BeforeAll
  void start() throws Exception {
    receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 50);
    receiverThreads = Executors.newFixedThreadPool(32);
    receiver.setExecutor(receiverThreads);
    receiver.createContext("/", this::receive);
    receiver.start();
    database = WEBHOOKS.withFallback(TestDatabases.fresh(kind()));
    server = TestServers.start(dataDir, database);
    api = new ApiClient(server.httpPort());
    admin = server.adminToken().value();
  }

  @AfterAll
  void stop() {
    if (server != null) {
      server.close();
    }
    receiver.stop(0);
    receiverThreads.shutdownNow();
  }

  private void receive(HttpExchange exchange) throws IOException {
    try (exchange) {
      Endpoint endpoint = endpoints.get(exchange.getRequestURI().getPath());
      byte[] body = exchange.getRequestBody().readAllBytes();
      if (endpoint == null) {
        exchange.sendResponseHeaders(404, -1);
        return;
      }
      if (endpoint.delayMillis > 0) {
        try {
          Thread.sleep(endpoint.delayMillis);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      String signature = exchange.getRequestHeaders().getFirst("X-Flotilla-Signature");
      String expected = "sha256=" + hmac(endpoint.secret, body);
      if (!expected.equals(signature)) {
        endpoint.badSignature = signature;
      }
      JsonNode json = JSON.readTree(body);
      assertEquals(
          json.path("event").asText(), exchange.getRequestHeaders().getFirst("X-Flotilla-Event"));
      endpoint.deliveryHeaders.add(exchange.getRequestHeaders().getFirst("X-Flotilla-Delivery"));
      endpoint.bodies.add(json);
      int status = endpoint.failures.getAndDecrement() > 0 ? 500 : 200;
      exchange.sendResponseHeaders(status, -1);
    }
  }

  /** A receiver would verify it this way: HMAC-SHA256 of the raw body with the hook's secret. */
  static String hmac(String secret, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return HexFormat.of().formatHex(mac.doFinal(body));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  String factory() throws Exception {
    String f = "wh-" + UUID.randomUUID().toString().substring(0, 8);
    assertEquals(
        201,
        api.post(
                "/api/v1/factories",
                admin,
                "{\"name\":\"" + f + "\",\"platforms\":[\"amd64-linux\"]}")
            .status());
    return f;
  }

  /** A hook of {@code factory} posting to a fresh receiver path; answers its id and endpoint. */
  record Hook(String id, Endpoint endpoint) {}

  Hook hook(String factory, String events) throws Exception {
    String path = "/hooks/" + UUID.randomUUID();
    Endpoint endpoint = new Endpoint();
    ApiClient.Answer created =
        api.post(
            "/api/v1/factories/" + factory + "/webhooks",
            admin,
            "{\"url\":\"http://127.0.0.1:"
                + receiver.getAddress().getPort()
                + path
                + "\",\"events\":"
                + events
                + "}");
    assertEquals(201, created.status(), created.body());
    endpoint.secret = created.json().path("secret").asText();
    assertTrue(endpoint.secret.startsWith("whsec_"), created.body());
    endpoints.put(path, endpoint);
    return new Hook(created.json().path("id").asText(), endpoint);
  }

  static final String ALL =
      "[\"build.finished\",\"target.published\",\"device.update-failed\",\"rollout.changed\"]";

  JsonNode deliveries(String factory, String hook) throws Exception {
    ApiClient.Answer answer =
        api.get("/api/v1/factories/" + factory + "/webhooks/" + hook + "/deliveries", admin);
    assertEquals(200, answer.status(), answer.body());
    return answer.json().path("deliveries");
  }

  void target(String factory, int version) throws Exception {
    ApiClient.Answer added =
        api.post(
            "/api/v1/factories/" + factory + "/targets",
            admin,
            "{\"version\":" + version + ",\"tags\":[\"main\"]," + APP.formatted(factory) + "}");
    assertEquals(201, added.status(), added.body());
  }

  @Test
  void aDeliveryIsRetriedAfter500sWithTheSameIdAndSignatureAndLogged() throws Exception {
    String f = factory();
    Hook hook = hook(f, "[\"target.published\"]");
    hook.endpoint().failures.set(2);
    target(f, 1);
    List<JsonNode> got =
        eventually(
            Duration.ofSeconds(30),
            () -> {
              assertEquals(3, hook.endpoint().bodies.size());
              return hook.endpoint().bodies;
            });
    assertNull(hook.endpoint().badSignature, "every attempt is signed with the hook's secret");
    assertEquals(1, hook.endpoint().deliveryHeaders.stream().distinct().count());
    JsonNode body = got.get(0);
    assertEquals(got.get(0), got.get(2), "every attempt sends the same body");
    assertEquals(hook.endpoint().deliveryHeaders.get(0), body.path("id").asText());
    assertEquals("target.published", body.path("event").asText());
    assertEquals(f, body.path("factory").asText());
    assertFalse(body.path("occurredAt").asText().isEmpty());
    assertEquals("amd64-linux-1", body.path("payload").path("name").asText());
    assertEquals("main", body.path("payload").path("tags").get(0).asText());
    JsonNode log =
        eventually(
            Duration.ofSeconds(10),
            () -> {
              JsonNode d = deliveries(f, hook.id());
              assertEquals("delivered", d.get(0).path("state").asText(), d.toString());
              return d;
            });
    assertEquals(1, log.size());
    assertEquals(3, log.get(0).path("attempts").asInt());
    assertEquals(200, log.get(0).path("statusCode").asInt());
    assertEquals(body.path("id").asText(), log.get(0).path("id").asText());
  }

  @Test
  void aPingIsDeliveredAndAReceiverThatNeverTakesItIsGivenUpAfterTheLastAttempt() throws Exception {
    String f = factory();
    Hook hook = hook(f, "[\"rollout.changed\"]");
    hook.endpoint().failures.set(Integer.MAX_VALUE);
    ApiClient.Answer ping =
        api.post("/api/v1/factories/" + f + "/webhooks/" + hook.id() + "/ping", admin, "");
    assertEquals(202, ping.status(), ping.body());
    String delivery = ping.json().path("delivery").asText();
    JsonNode log =
        eventually(
            Duration.ofSeconds(30),
            () -> {
              JsonNode d = deliveries(f, hook.id());
              assertEquals("failed", d.get(0).path("state").asText(), d.toString());
              return d;
            });
    assertEquals(delivery, log.get(0).path("id").asText());
    assertEquals("ping", log.get(0).path("event").asText());
    assertEquals(5, log.get(0).path("attempts").asInt());
    assertEquals(500, log.get(0).path("statusCode").asInt());
    assertEquals("HTTP 500", log.get(0).path("error").asText());
    assertEquals(5, hook.endpoint().bodies.size());
    assertNull(hook.endpoint().badSignature);
  }

  @Test
  void aBuildATargetAFailedDeviceUpdateAndRolloutChangesAreEachDelivered() throws Exception {
    String f = factory();
    Hook hook = hook(f, ALL);
    Hook targetsOnly = hook(f, "[\"target.published\"]");
    target(f, 1);
    DeviceClient device = register(f);
    String failed =
        "[{\"id\":\"e1\",\"deviceTime\":\"2026-01-01T00:00:00Z\",\"eventType\":{\"id\":\"EcuInstallationStarted\",\"version\":0},"
            + "\"event\":{\"correlationId\":\"upd-1\",\"targetName\":\"amd64-linux-1\",\"version\":\"1\"}},"
            + "{\"id\":\"e2\",\"deviceTime\":\"2026-01-01T00:00:01Z\",\"eventType\":{\"id\":\"EcuInstallationCompleted\",\"version\":0},"
            + "\"event\":{\"correlationId\":\"upd-1\",\"targetName\":\"amd64-linux-1\",\"version\":\"1\",\"success\":false,"
            + "\"details\":\"{\\\"error\\\":\\\"disk full\\\"}\"}}]";
    var reported =
        device.send("https://127.0.0.1:" + server.devicePort(), "POST", "/events", failed);
    assertEquals(200, reported.statusCode(), reported.body());
    ApiClient.Answer rollout =
        api.post(
            "/api/v1/factories/" + f + "/rollouts",
            admin,
            "{\"id\":\"r1\",\"tag\":\"main\",\"version\":1,\"growth\":[100]}");
    assertEquals(201, rollout.status(), rollout.body());
    int number = failingBuild(f);

    Endpoint got = hook.endpoint();
    eventually(
        Duration.ofSeconds(60),
        () -> {
          assertEquals(1, got.of("target.published").size(), got.bodies.toString());
          assertEquals(1, got.of("device.update-failed").size(), got.bodies.toString());
          assertEquals(1, got.of("build.finished").size(), got.bodies.toString());
          List<String> changes = new ArrayList<>();
          got.of("rollout.changed")
              .forEach(b -> changes.add(b.path("payload").path("change").asText()));
          assertTrue(
              changes.containsAll(List.of("created", "phase-started")), got.bodies.toString());
          return null;
        });
    JsonNode failure = got.of("device.update-failed").get(0).path("payload");
    assertEquals(device.uuid, failure.path("uuid").asText());
    assertEquals("upd-1", failure.path("correlationId").asText());
    assertEquals("EcuInstallationCompleted", failure.path("step").asText());
    assertEquals("disk full", failure.path("reason").asText());
    JsonNode build = got.of("build.finished").get(0).path("payload");
    assertEquals(number, build.path("number").asInt());
    assertEquals("failed", build.path("result").asText());
    // deliveries are not ordered: retries and concurrent requests to one hook overtake each other
    got.of("rollout.changed")
        .forEach(b -> assertEquals("r1", b.path("payload").path("id").asText(), b.toString()));
    JsonNode created =
        got.of("rollout.changed").stream()
            .filter(b -> b.path("payload").path("change").asText().equals("created"))
            .findFirst()
            .orElseThrow();
    assertEquals("running", created.path("payload").path("status").asText());
    assertEquals("main", created.path("payload").path("tag").asText());
    assertNull(got.badSignature);
    assertTrue(
        targetsOnly.endpoint().bodies.stream()
            .allMatch(b -> b.path("event").asText().equals("target.published")),
        "a hook gets only the kinds it asked for");
    assertEquals(1, targetsOnly.endpoint().of("target.published").size());
  }

  DeviceClient register(String factory) throws Exception {
    return DeviceClient.register(api, admin, factory);
  }

  /** A push whose compose file names an image the repository has no Dockerfile for. */
  int failingBuild(String factory) throws Exception {
    String push =
        api.post(
                "/api/v1/factories/" + factory + "/tokens",
                admin,
                "{\"scopes\":[\"containers:read\",\"containers:push\"]}")
            .json()
            .get("token")
            .asText();
    Path dir = Files.createTempDirectory(work, factory);
    String host = "127.0.0.1:" + server.httpPort();
    GitCli.ok(
        dir,
        "clone",
        "http://dev:" + push + "@" + host + "/git/" + factory + "/containers.git",
        "clone");
    Path clone = dir.resolve("clone");
    Files.createDirectories(clone.resolve("app"));
    Files.writeString(
        clone.resolve("app/docker-compose.yml"), "services:\n  web:\n    image: missing\n");
    GitCli.ok(clone, "add", "-A");
    GitCli.ok(
        clone,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.com",
        "commit",
        "-q",
        "-m",
        "an app without its image");
    String pushed = GitCli.ok(clone, "push", "origin", "HEAD:main");
    java.util.regex.Matcher number =
        java.util.regex.Pattern.compile("build #(\\d+)").matcher(pushed);
    assertTrue(number.find(), pushed);
    return Integer.parseInt(number.group(1));
  }

  @Test
  void aSlowReceiverHoldsUpNoOtherHook() throws Exception {
    String f = factory();
    Hook slow = hook(f, "[\"target.published\"]");
    Hook quick = hook(f, "[\"target.published\"]");
    slow.endpoint().delayMillis = 10_000;
    for (int version = 1; version <= 6; version++) {
      target(f, version);
    }
    eventually(
        Duration.ofSeconds(20),
        () -> {
          assertEquals(6, quick.endpoint().of("target.published").size());
          return null;
        });
    assertTrue(
        slow.endpoint().bodies.isEmpty(),
        "the slow receiver has answered nothing yet, and the other hook got everything");
    JsonNode log = deliveries(f, slow.id());
    assertEquals(6, log.size());
    log.forEach(d -> assertEquals("pending", d.path("state").asText(), log.toString()));
    assertEquals(
        204, api.delete("/api/v1/factories/" + f + "/webhooks/" + slow.id(), admin).status());
  }

  @Test
  void aRestartedServerResumesDeliveryFromTheOutbox() throws Exception {
    String f = factory();
    Hook hook = hook(f, "[\"target.published\"]");
    hook.endpoint().failures.set(Integer.MAX_VALUE);
    target(f, 1);
    eventually(
        Duration.ofSeconds(20),
        () -> {
          assertFalse(hook.endpoint().bodies.isEmpty());
          return null;
        });
    server.close();
    server = null;
    hook.endpoint().failures.set(0);
    server = TestServers.start(dataDir, database);
    api = new ApiClient(server.httpPort());
    target(f, 2);
    eventually(
        Duration.ofSeconds(60),
        () -> {
          List<String> names = new ArrayList<>();
          hook.endpoint().bodies.forEach(b -> names.add(b.path("payload").path("name").asText()));
          assertEquals(
              List.of("amd64-linux-1", "amd64-linux-2"), names.stream().distinct().toList());
          return null;
        });
    JsonNode log =
        eventually(
            Duration.ofSeconds(10),
            () -> {
              JsonNode d = deliveries(f, hook.id());
              d.forEach(x -> assertEquals("delivered", x.path("state").asText(), d.toString()));
              return d;
            });
    assertEquals(2, log.size());
    assertNull(hook.endpoint().badSignature);
  }

  @Test
  void hostileConfigurationIsRefusedWithAClearErrorAndStoresNothing() throws Exception {
    String f = factory();
    String base = "/api/v1/factories/" + f + "/webhooks";
    String url = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/x";
    String[] bodies = {
      "{\"url\":\"ftp://127.0.0.1/x\",\"events\":[\"ping\"]}",
      "{\"url\":\"ftp://127.0.0.1/x\",\"events\":[\"target.published\"]}",
      "{\"url\":\"not a url\",\"events\":[\"target.published\"]}",
      "{\"url\":\"http:///nohost\",\"events\":[\"target.published\"]}",
      "{\"url\":\"http://user:pw@127.0.0.1/x\",\"events\":[\"target.published\"]}",
      "{\"url\":\"http://127.0.0.1/" + "a".repeat(3000) + "\",\"events\":[\"target.published\"]}",
      "{\"url\":\"" + url + "\",\"events\":[\"target.deleted\"]}",
      "{\"url\":\"" + url + "\",\"events\":[]}",
      "{\"url\":\"" + url + "\"}",
      "{\"events\":[\"target.published\"]}",
      "{\"url\":\"" + url + "\",\"events\":\"target.published\"}",
      "{\"url\":42,\"events\":[\"target.published\"]}",
      "{\"url\":[\"" + url + "\"],\"events\":[\"target.published\"]}",
      "{\"url\":\"" + url + "\",\"events\":[null]}",
      "{\"url\":\"" + url + "\",\"events\":[\"target.published\",\"target.published\"]}",
      "{\"url\":\"" + url + "\",\"events\":[\"" + "x".repeat(100_000) + "\"]}",
      "{\"url\":\"http://127.0.0.1/\\u0000\",\"events\":[\"target.published\"]}",
      "[]",
      "null",
      "not json",
      ""
    };
    for (String body : bodies) {
      ApiClient.Answer answer = api.post(base, admin, body);
      assertEquals(400, answer.status(), body.length() > 200 ? body.substring(0, 200) : body);
      assertFalse(answer.json().path("error").asText().isEmpty(), answer.body());
      assertFalse(answer.json().path("detail").asText().isEmpty(), answer.body());
    }
    assertEquals(0, api.get(base, admin).json().path("webhooks").size());
    assertEquals(
        413,
        api.post(base, admin, "{\"url\":\"" + url + "\",\"x\":\"" + "y".repeat(2_000_000) + "\"}")
            .status());
    assertEquals(404, api.get(base + "/0123456789abcdef", admin).status());
    assertEquals(404, api.post(base + "/0123456789abcdef/ping", admin, "").status());
    assertEquals(404, api.get(base + "/0123456789abcdef/deliveries", admin).status());
    assertEquals(404, api.delete(base + "/0123456789abcdef", admin).status());
    assertEquals(404, api.get(base + "/NOT-AN-ID", admin).status());
    String reader =
        api.post(
                "/api/v1/factories/" + f + "/tokens",
                admin,
                "{\"scopes\":[\"devices:read\",\"targets:read\",\"targets:write\"]}")
            .json()
            .get("token")
            .asText();
    assertEquals(403, api.get(base, reader).status());
    assertEquals(
        403,
        api.post(base, reader, "{\"url\":\"" + url + "\",\"events\":[\"target.published\"]}")
            .status());
    assertEquals(0, api.get(base, admin).json().path("webhooks").size());
  }

  @Test
  void aFactoryHasABoundedNumberOfHooksAndADeletedHookStopsAndForgetsItsLog() throws Exception {
    String f = factory();
    String base = "/api/v1/factories/" + f + "/webhooks";
    ExecutorService parallel = Executors.newFixedThreadPool(20);
    List<Hook> hooks = new ArrayList<>();
    try {
      List<Future<Hook>> made = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        made.add(parallel.submit(() -> hook(f, "[\"target.published\"]")));
      }
      for (Future<Hook> hook : made) {
        hooks.add(hook.get(60, TimeUnit.SECONDS));
      }
      ApiClient.Answer over =
          api.post(
              base, admin, "{\"url\":\"http://127.0.0.1:1/x\",\"events\":[\"target.published\"]}");
      assertEquals(409, over.status(), over.body());
      JsonNode listed = api.get(base, admin).json().path("webhooks");
      assertEquals(20, listed.size());
      listed.forEach(h -> assertTrue(h.path("secret").isMissingNode(), "the secret is shown once"));

      List<Future<Integer>> deleted = new ArrayList<>();
      for (Hook hook : hooks.subList(1, 20)) {
        deleted.add(parallel.submit(() -> api.delete(base + "/" + hook.id(), admin).status()));
      }
      for (Future<Integer> status : deleted) {
        assertEquals(204, status.get(60, TimeUnit.SECONDS));
      }
    } finally {
      parallel.shutdownNow();
    }
    Hook kept = hooks.get(0);
    assertEquals(1, api.get(base, admin).json().path("webhooks").size());
    assertEquals(404, api.get(base + "/" + hooks.get(1).id() + "/deliveries", admin).status());
    target(f, 1);
    eventually(
        Duration.ofSeconds(20),
        () -> {
          assertEquals(1, kept.endpoint().bodies.size());
          return null;
        });
    JsonNode shown = api.get(base + "/" + kept.id(), admin).json();
    assertEquals(List.of("target.published"), List.of(shown.path("events").get(0).asText()));
    hooks.subList(1, 20).forEach(h -> assertTrue(h.endpoint().bodies.isEmpty()));
  }
}

class WebhookOnH2Test extends WebhookTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.H2;
  }
}

class WebhookOnPostgresTest extends WebhookTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.POSTGRES;
  }
}
