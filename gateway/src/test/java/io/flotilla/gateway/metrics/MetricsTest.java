package io.flotilla.gateway.metrics;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.device.DeviceClient;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.ApiClient.Answer;
import io.flotilla.gateway.testing.TestServers;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /metrics} scraped from a real server: the series move with what the node does (a check-in,
 * update events, a registry request) and the refreshed gauges see the device.
 */
class MetricsTest {

  static final ObjectMapper JSON = new ObjectMapper();
  static final Duration PATIENCE = Duration.ofSeconds(60);

  @TempDir static Path dir;
  static FlotillaServer server;
  static ApiClient api;
  static String admin;
  static String deviceToken;

  @BeforeAll
  static void start() throws Exception {
    server =
        TestServers.start(
            dir.resolve("data"),
            ConfigFactory.parseMap(Map.of("flotilla.metrics.refresh-interval", "200ms")));
    api = new ApiClient(server.httpPort());
    admin = server.adminToken().value();
    assertEquals(
        201,
        api.post("/api/v1/factories", admin, "{\"name\":\"acme\",\"platforms\":[\"amd64-linux\"]}")
            .status());
    Answer token =
        api.post(
            "/api/v1/factories/acme/tokens",
            admin,
            "{\"description\":\"devices\",\"scopes\":[\"devices:create\"]}");
    assertEquals(201, token.status(), token.body());
    deviceToken = token.json().get("token").asText();
    Answer target =
        api.post(
            "/api/v1/factories/acme/targets",
            admin,
            "{\"tags\":[\"main\"],\"apps\":{\"app\":\"hub.local/acme/app@sha256:"
                + "ab".repeat(32)
                + "\"}}");
    assertEquals(201, target.status(), target.body());
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  static String scrape() throws Exception {
    Answer metrics = api.get("/metrics", null);
    assertEquals(200, metrics.status(), metrics.body());
    return metrics.body();
  }

  /** The value of the series {@code name{labels}} (labels in exposition order), 0 when absent. */
  static double value(String scrape, String series) {
    Matcher m =
        Pattern.compile("(?m)^" + Pattern.quote(series) + " ([0-9.eE+-]+|NaN)$").matcher(scrape);
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }

  static DeviceClient registered() throws Exception {
    DeviceClient device = new DeviceClient();
    ObjectNode body = JSON.createObjectNode();
    body.put("name", "dev-" + device.uuid.substring(0, 8));
    body.put("uuid", device.uuid);
    body.put("hardware-id", "amd64-linux");
    body.put("csr", device.csr("acme"));
    body.put("sota-config-dir", "/var/sota");
    body.putObject("overrides").putObject("pacman").put("tags", "\"main\"");
    Answer answer =
        api.send(
            api.request("/ota/devices/", null)
                .header("OSF-TOKEN", deviceToken)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())));
    assertEquals(201, answer.status(), answer.body());
    JsonNode files = answer.json();
    device.registered(files.get("root.crt").asText(), files.get("client.pem").asText());
    return device;
  }

  @Test
  void aCheckInAndUpdateEventsRaiseTheirCounters() throws Exception {
    DeviceClient device = registered();
    String base = "https://127.0.0.1:" + server.devicePort();
    String checkins =
        "flotilla_device_requests_seconds_count{kind=\"checkin\",outcome=\"success\"}";
    String events = "flotilla_device_events_total";
    String before = scrape();
    HttpResponse<String> checkIn =
        device.send(base, "GET", "/repo/targets.json", null, "x-ats-tags", "main");
    assertEquals(200, checkIn.statusCode(), checkIn.body());
    String correlation = "cli-" + System.nanoTime();
    String posted =
        "[{\"id\":\"e1\",\"deviceTime\":\"2026-01-01T00:00:00Z\",\"eventType\":{\"id\":\"EcuDownloadStarted\",\"version\":0},"
            + "\"event\":{\"correlationId\":\""
            + correlation
            + "\",\"targetName\":\"amd64-linux-1\",\"version\":\"1\"}},"
            + "{\"id\":\"e2\",\"deviceTime\":\"2026-01-01T00:00:01Z\",\"eventType\":{\"id\":\"EcuDownloadCompleted\",\"version\":0},"
            + "\"event\":{\"correlationId\":\""
            + correlation
            + "\",\"targetName\":\"amd64-linux-1\",\"version\":\"1\",\"success\":true}}]";
    HttpResponse<String> reported = device.send(base, "POST", "/events", posted);
    assertEquals(200, reported.statusCode(), reported.body());
    HttpResponse<String> refused = device.send(base, "POST", "/events", "{\"not\":\"an array\"}");
    assertEquals(400, refused.statusCode());

    String after = scrape();
    assertEquals(1, value(after, checkins) - value(before, checkins), after);
    assertEquals(2, value(after, events) - value(before, events), "two events stored");
    assertTrue(
        value(
                after,
                "flotilla_device_requests_seconds_count{kind=\"events\",outcome=\"client_error\"}")
            >= 1,
        "the refused post is counted with its outcome");
    assertTrue(
        after.contains(
            "flotilla_device_requests_seconds_bucket{kind=\"checkin\",outcome=\"success\",le="),
        "a latency histogram");
  }

  @Test
  void refreshedGaugesSeeDevicesProjectionsEntitiesAndTheCluster() throws Exception {
    registered();
    eventually(
        PATIENCE,
        () -> {
          String scrape = scrape();
          assertTrue(value(scrape, "flotilla_devices{factory=\"acme\"}") >= 1, scrape);
          assertTrue(scrape.contains("flotilla_devices_online{factory=\"acme\"}"), scrape);
          assertTrue(
              scrape.contains(
                  "flotilla_projection_lag_events{key=\"targets\",projection=\"targets\"}"),
              scrape);
          assertTrue(
              scrape.contains(
                  "flotilla_projection_lag_seconds{key=\"targets\",projection=\"targets\"}"),
              scrape);
          assertTrue(value(scrape, "flotilla_entities{region=\"Factory\"}") >= 1, scrape);
          return scrape;
        });
    String scrape = scrape();
    assertEquals(1, value(scrape, "flotilla_cluster_members{status=\"up\"}"), scrape);
    assertEquals(0, value(scrape, "flotilla_cluster_unreachable"), scrape);
  }

  @Test
  void aPersistIsTimedAsAJournalWrite() throws Exception {
    String stored = "flotilla_journal_write_seconds_count{outcome=\"stored\"}";
    String before = scrape();
    Answer created =
        api.post(
            "/api/v1/factories/acme/tokens",
            admin,
            "{\"description\":\"timed\",\"scopes\":[\"targets:read\"]}");
    assertEquals(201, created.status(), created.body());
    String after = scrape();
    assertTrue(
        value(after, stored) - value(before, stored) >= 1,
        "the token's event was written: " + after);
    assertTrue(
        after.contains("flotilla_journal_write_seconds_bucket{outcome=\"stored\",le="),
        "a latency histogram");
    assertTrue(
        value(after, "flotilla_journal_write_seconds_sum{outcome=\"stored\"}") > 0,
        "writes take time");
  }

  @Test
  void tlsHandshakesAreCountedFullOrResumed() throws Exception {
    DeviceClient device = registered();
    javax.net.ssl.SSLContext tls = device.sslContext();
    String full = "flotilla_device_tls_handshakes_total{kind=\"full\"}";
    String resumed = "flotilla_device_tls_handshakes_total{kind=\"resumed\"}";
    String before = scrape();
    for (int i = 0; i < 2; i++) {
      // A new client opens a new connection; the shared SSLContext offers the first one's ticket.
      java.net.http.HttpClient client =
          java.net.http.HttpClient.newBuilder()
              .sslContext(tls)
              .version(java.net.http.HttpClient.Version.HTTP_1_1)
              .connectTimeout(Duration.ofSeconds(10))
              .build();
      HttpResponse<String> answer =
          client.send(
              java.net.http.HttpRequest.newBuilder(
                      java.net.URI.create(
                          "https://127.0.0.1:" + server.devicePort() + "/repo/targets.json"))
                  .timeout(Duration.ofSeconds(30))
                  .header("x-ats-tags", "main")
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(200, answer.statusCode(), answer.body());
    }
    String after = scrape();
    assertEquals(1, value(after, full) - value(before, full), after);
    assertEquals(1, value(after, resumed) - value(before, resumed), after);
  }

  @Test
  void registryRequestsAndBytesAreCounted() throws Exception {
    String series = "flotilla_registry_requests_total{method=\"GET\",outcome=\"client_error\"}";
    String before = scrape();
    Answer unauthorized = api.get("/v2/", null);
    assertEquals(401, unauthorized.status());
    String after = scrape();
    assertEquals(1, value(after, series) - value(before, series), after);
    assertTrue(
        value(after, "flotilla_registry_sent_bytes_total")
            > value(before, "flotilla_registry_sent_bytes_total"),
        "the 401's JSON body");
  }

  /**
   * Every series the Grafana dashboard queries is one the node exports (the build duration appears
   * with the first finished build, after this test's scrape).
   */
  @Test
  void theGrafanaDashboardQueriesSeriesTheNodeExports() throws Exception {
    JsonNode dashboard =
        JSON.readTree(
            java.nio.file.Files.readString(
                Path.of(System.getProperty("user.dir"))
                    .getParent()
                    .resolve("conf/grafana/flotilla-dashboard.json")));
    String scrape = scrape();
    java.util.Set<String> queried = new java.util.TreeSet<>();
    for (JsonNode panel : dashboard.get("panels")) {
      for (JsonNode target : panel.get("targets")) {
        Matcher m =
            Pattern.compile("\\b((?:flotilla|jvm)_[a-z_]+?)(?:_bucket|_count)?\\b")
                .matcher(target.get("expr").asText());
        while (m.find()) {
          queried.add(m.group(1));
        }
      }
    }
    assertTrue(queried.size() > 10, queried.toString());
    for (String series : queried) {
      if (series.startsWith("flotilla_build_duration")) {
        continue;
      }
      assertTrue(
          Pattern.compile("(?m)^" + series + "(_bucket|_count)?[{ ]").matcher(scrape).find(),
          series + " is not exported");
    }
  }
}
