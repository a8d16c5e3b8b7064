package io.flotilla.gateway.journal;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.flotilla.builder.image.BusyboxBaseImage;
import io.flotilla.builder.registry.RegistryClient;
import io.flotilla.builder.registry.RegistryEndpoints;
import io.flotilla.core.auth.ApiToken;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.build.GitCli;
import io.flotilla.gateway.device.DeviceClient;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.TestServers;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Records the newest version, {@code src/test/resources/journal/<version>/journal.json}, for {@code
 * JournalReplayTest}: a real node on a fresh H2 data dir, driven through its API, git and device
 * port until every event class of every entity type is in the journal, then the rows exported as
 * stored. A tool, run by hand against a released version (see docs/development.md); it fails,
 * naming them, when some event class was not written.
 */
@EnabledIfSystemProperty(named = "flotilla.record-journal", matches = "true")
class JournalRecorder {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration BUILD_PATIENCE = Duration.ofSeconds(180);
  private static final int SNAPSHOT_EVENTS = 50;

  @TempDir Path dir;

  @Test
  void record() throws Exception {
    Config config =
        ConfigFactory.parseMap(
                Map.of(
                    "flotilla.device.last-seen-persist-interval",
                    "1s",
                    "flotilla.pki.server-sans",
                    List.of("localhost", "127.0.0.1")))
            .withFallback(TestServers.config(dir.resolve("data"), null))
            .resolve();
    try (FlotillaServer server = FlotillaServer.start(config)) {
      Map<String, String> tokens = drive(server);
      settle(server, tokens.get("admin"));
      Map<String, JsonNode> answers = answers(server, tokens.get("admin"));
      List<RecordedJournal.Row> rows = RecordedJournal.journalRows(server.core().database());
      List<RecordedJournal.Snapshot> snapshots =
          RecordedJournal.snapshotRows(server.core().database());
      assertFalse(
          snapshots.isEmpty(), "the device's " + SNAPSHOT_EVENTS + " events make a snapshot");
      Map<String, List<String>> rendered = rendered(server, tokens.get("admin"), rows);
      RecordedJournal recorded =
          new RecordedJournal(recordedFrom(), tokens, rows, snapshots, rendered, answers);
      Map<String, TreeSet<String>> missing = missing(recorded);
      if (!missing.isEmpty()) {
        fail("event classes never written, drive them in JournalRecorder: " + missing);
      }
      recorded.save(RecordedJournal.SOURCE);
    }
  }

  private Map<String, String> drive(FlotillaServer server) throws Exception {
    ApiClient api = new ApiClient(server.httpPort());
    String admin = server.adminToken().value();
    Map<String, String> tokens = new LinkedHashMap<>();
    tokens.put("admin", admin);

    created(
        api.post(
            "/api/v1/factories", admin, "{\"name\":\"acme\",\"platforms\":[\"amd64-linux\"]}"));
    String all =
        token(
            api,
            admin,
            "{\"description\":\"everything\",\"scopes\":[\"devices:read\",\"devices:create\",\"devices:write\",\"targets:read\","
                + "\"targets:write\",\"containers:read\",\"containers:push\",\"admin\"]}");
    tokens.put("factory", all);
    String revoked =
        token(api, admin, "{\"description\":\"revoked\",\"scopes\":[\"targets:read\"]}");
    tokens.put("revoked", revoked);
    ok(
        api.delete(
            "/api/v1/factories/acme/tokens/" + ApiToken.parse(revoked).orElseThrow().id(), admin));
    ok(api.put("/api/v1/factories/acme/branches/release", admin, "{\"tag\":\"stable\"}"));
    deviceAuthorizations(server, api, all);
    // Before any target is added by hand: a build's number follows the highest target version.
    builds(server, api, all);

    created(
        api.post(
            "/api/v1/factories/acme/targets",
            all,
            "{\"version\":100,\"tags\":[\"tour\"],\"containersSha\":\"4f2c1b9\","
                + "\"apps\":{\"shellhttpd\":\"hub.example.com/acme/shellhttpd@sha256:"
                + "0".repeat(64)
                + "\"}}"));
    ok(
        api.patch(
            "/api/v1/factories/acme/targets/amd64-linux-100",
            all,
            "{\"tags\":[\"tour\",\"tour-2\"]}"));
    created(
        api.post(
            "/api/v1/factories/acme/targets",
            all,
            "{\"version\":101,\"tags\":[\"tour\"],"
                + "\"apps\":{\"shellhttpd\":\"hub.example.com/acme/shellhttpd@sha256:"
                + "1".repeat(64)
                + "\"}}"));
    ok(api.delete("/api/v1/factories/acme/targets/amd64-linux-101", all));

    ok(
        api.put(
            "/api/v1/factories/acme/config",
            all,
            "{\"reason\":\"fleet\",\"files\":[{\"name\":\"a\",\"value\":\"factory\"}]}"));
    ok(
        api.put(
            "/api/v1/factories/acme/device-groups/lab/config",
            all,
            "{\"reason\":\"lab\",\"files\":[{\"name\":\"b\",\"value\":\"group\"}]}"));

    devices(server, api, all);
    rollouts(api, all);
    webhooks(api, all);
    return tokens;
  }

  /**
   * v3: one rollout completes (its only phase selects nobody and waits out its second), one halts
   * (the device of its group never reports the install within a second, and it rolls back), one is
   * paused, resumed and canceled.
   */
  private void rollouts(ApiClient api, String token) throws Exception {
    String base = "/api/v1/factories/acme/rollouts";
    created(
        api.post(
            base,
            token,
            "{\"id\":\"done\",\"tag\":\"main\",\"version\":7,\"successWithinSeconds\":1,"
                + "\"phases\":[{\"name\":\"nobody\",\"group\":\"nobody\"}]}"));
    awaitRollout(api, token, "done", "completed");
    created(
        api.post(
            base,
            token,
            "{\"id\":\"halts\",\"tag\":\"main\",\"version\":8,\"successWithinSeconds\":1,"
                + "\"rollback\":true,\"phases\":[{\"name\":\"lab\",\"group\":\"lab\"}]}"));
    awaitRollout(api, token, "halts", "halted");
    created(
        api.post(
            base,
            token,
            "{\"id\":\"stopped\",\"tag\":\"main\",\"version\":9,\"growth\":[10,100]}"));
    ok(api.post(base + "/stopped/pause", token, ""));
    ok(api.post(base + "/stopped/resume", token, ""));
    ok(api.post(base + "/stopped/cancel", token, ""));
  }

  /** A tag has one unfinished rollout at a time: the next one waits for this one to finish. */
  private static void awaitRollout(ApiClient api, String token, String id, String status)
      throws Exception {
    eventually(
        Duration.ofSeconds(30),
        () -> {
          ApiClient.Answer answer = api.get("/api/v1/factories/acme/rollouts/" + id, token);
          assertEquals(status, answer.json().path("status").asText(), answer.body());
          return null;
        });
  }

  /** Build 1 succeeds, build 2 is canceled while it runs, build 3 fails. */
  /**
   * v4: a webhook created and pinged, and one created and deleted. Their receiver is a closed port
   * on loopback: the deliveries fail, which the journal does not record.
   */
  private void webhooks(ApiClient api, String token) throws Exception {
    String base = "/api/v1/factories/acme/webhooks";
    String body = "{\"url\":\"http://127.0.0.1:9/hook\",\"events\":[\"build.finished\"]}";
    ApiClient.Answer kept = api.post(base, token, body);
    created(kept);
    ApiClient.Answer deleted = api.post(base, token, body);
    created(deleted);
    ApiClient.Answer ping =
        api.post(base + "/" + kept.json().get("id").asText() + "/ping", token, "");
    assertEquals(202, ping.status(), ping.body());
    assertEquals(204, api.delete(base + "/" + deleted.json().get("id").asText(), token).status());
  }

  private void builds(FlotillaServer server, ApiClient api, String token) throws Exception {
    String host = "127.0.0.1:" + server.httpPort();
    BusyboxBaseImage.push(
        new RegistryClient(
            HttpClient.newHttpClient(),
            new RegistryEndpoints(host, URI.create("http://" + host), "ci", token, Set.of())),
        host,
        "acme/busybox",
        "1");
    GitCli.ok(
        dir,
        "clone",
        "-q",
        "http://ci:" + token + "@" + host + "/git/acme/containers.git",
        "containers");
    Path clone = dir.resolve("containers");

    Files.createDirectories(clone.resolve("web"));
    Files.createDirectories(clone.resolve("shellhttpd"));
    Files.copy(BusyboxBaseImage.HOST_BUSYBOX, clone.resolve("web/busybox"));
    Files.writeString(clone.resolve("web/index.html"), "<h1>recorded</h1>\n");
    Files.writeString(
        clone.resolve("web/Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\nCOPY index.html /www/\nCMD [\"/bin/busybox\", \"httpd\", \"-f\", \"-h\", \"/www\"]\n");
    Files.writeString(
        clone.resolve("shellhttpd/docker-compose.yml"), "services:\n  httpd:\n    image: web\n");
    push(clone, "shellhttpd: a web page", 1);
    awaitBuild(api, token, 1, "succeeded");

    Files.createDirectories(clone.resolve("slow"));
    Files.createDirectories(clone.resolve("slowapp"));
    Files.writeString(
        clone.resolve("slow/Dockerfile"),
        "FROM acme/busybox:1\nRUN sleep 60\nCMD [\"sleep\", \"3600\"]\n");
    Files.writeString(
        clone.resolve("slowapp/docker-compose.yml"), "services:\n  slow:\n    image: slow\n");
    push(clone, "a slow image", 2);
    awaitBuild(api, token, 2, "building-images");
    ok(api.post("/api/v1/factories/acme/builds/2/cancel", token, "{}"));
    awaitBuild(api, token, 2, "canceled");

    GitCli.ok(clone, "rm", "-q", "-r", "slow", "slowapp");
    Files.createDirectories(clone.resolve("broken"));
    Files.writeString(clone.resolve("broken/Dockerfile"), "FROM scratch\nCOPY no-such-file /x\n");
    push(clone, "an image that cannot build", 3);
    awaitBuild(api, token, 3, "failed");
  }

  private void push(Path clone, String message, long build) throws Exception {
    GitCli.ok(clone, "add", "-A");
    GitCli.ok(clone, "commit", "-q", "-m", message);
    String answer = GitCli.ok(clone, "push", "origin", "HEAD:main");
    assertTrue(answer.contains("build #" + build + " "), answer);
  }

  private void awaitBuild(ApiClient api, String token, long number, String status)
      throws Exception {
    eventually(
        BUILD_PATIENCE,
        () -> {
          JsonNode build = api.get("/api/v1/factories/acme/builds/" + number, token).json();
          assertEquals(status, build.path("status").asText(), build.toString());
          return build;
        });
  }

  /**
   * One device writes each device event once (and enough update reports for a snapshot); a second
   * one is registered and decommissioned.
   */
  private void devices(FlotillaServer server, ApiClient api, String token) throws Exception {
    String base = "https://127.0.0.1:" + server.devicePort();
    DeviceClient device = register(server, token, RecordedJournal.DEVICE);
    assertEquals(
        200,
        device
            .send(
                base,
                "GET",
                "/device",
                null,
                "x-ats-tags",
                "main",
                "x-ats-target",
                "amd64-linux-1",
                "x-ats-dockerapps",
                "shellhttpd")
            .statusCode());
    deviceOk(
        device.send(
            base,
            "POST",
            "/events",
            "["
                + updateEvent("e1", "upd-1", "EcuDownloadStarted", null)
                + ","
                + updateEvent("e2", "upd-1", "EcuDownloadCompleted", true)
                + "]"));
    deviceOk(
        device.send(
            base,
            "POST",
            "/apps-states",
            "{\"ostree\":\"abc\",\"deviceTime\":\"2026-12-01T10:05:00Z\",\"apps\":{\"shellhttpd\":"
                + "{\"uri\":\"hub.example.com/acme/shellhttpd@sha256:"
                + "ab".repeat(32)
                + "\",\"state\":\"healthy\",\"services\":[]}}}"));
    deviceOk(device.send(base, "PUT", "/system_info", "{\"id\":\"computer\"}"));
    deviceOk(
        device.send(
            base,
            "PUT",
            "/system_info/network",
            "{\"hostname\":\"dev\",\"mac\":\"00:11\",\"local_ipv4\":\"10.0.0.2\"}"));
    deviceOk(device.send(base, "PUT", "/system_info/config", "[pacman]\ntags = \"main\"\n"));
    deviceOk(
        device.send(
            base,
            "PATCH",
            "/config",
            "{\"reason\":\"local\",\"files\":[{\"name\":\"c\",\"value\":\"device\",\"unencrypted\":true,\"on-changed\":[\"/usr/share/fioconfig/handlers/x\"]}]}"));
    ok(
        api.put(
            "/api/v1/factories/acme/devices/" + RecordedJournal.DEVICE + "/config",
            token,
            "{\"reason\":\"operator\",\"files\":[{\"name\":\"d\",\"value\":\"operator\"}]}"));
    ok(
        api.patch(
            "/api/v1/factories/acme/devices/" + RecordedJournal.DEVICE,
            token,
            "{\"name\":\"dev-renamed\",\"group\":\"lab\",\"tag\":\"beta\","
                + "\"labels\":{\"color\":\"blue\"}}"));
    Thread.sleep(1_500);
    deviceOk(
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
            "shellhttpd"));
    for (int i = 0; i < SNAPSHOT_EVENTS; i++) {
      deviceOk(
          device.send(
              base,
              "POST",
              "/events",
              "["
                  + updateEvent(
                      "s" + i,
                      "upd-2",
                      i % 2 == 0 ? "EcuInstallationStarted" : "EcuInstallationCompleted",
                      i % 2 == 0 ? null : true)
                  + "]"));
    }

    register(server, token, RecordedJournal.DECOMMISSIONED_DEVICE);
    assertEquals(
        204,
        api.delete("/api/v1/factories/acme/devices/" + RecordedJournal.DECOMMISSIONED_DEVICE, token)
            .status());
  }

  private DeviceClient register(FlotillaServer server, String token, String uuid) throws Exception {
    return DeviceClient.register(
        new ApiClient(server.httpPort()),
        token,
        RecordedJournal.FACTORY,
        uuid,
        body -> {
          body.put("name", "dev-" + uuid.substring(uuid.length() - 1));
          body.put("group", "lab");
        });
  }

  private static String updateEvent(String id, String correlationId, String type, Boolean success) {
    return "{\"id\":\""
        + id
        + "\",\"deviceTime\":\"2026-12-01T10:00:00Z\",\"eventType\":{\"id\":\""
        + type
        + "\",\"version\":2},"
        + "\"event\":{\"correlationId\":\""
        + correlationId
        + "\",\"success\":"
        + success
        + ",\"targetName\":\"amd64-linux-1\",\"version\":\"1\","
        + "\"details\":\"{\\\"message\\\":\\\"ok\\\"}\"}}";
  }

  /**
   * Waits until the read side answers the same twice in a row, two seconds apart: the projections
   * have caught up.
   */
  private void settle(FlotillaServer server, String admin) throws Exception {
    eventually(
        Duration.ofSeconds(60),
        () -> {
          Map<String, JsonNode> first = readSide(server, admin);
          Thread.sleep(2_000);
          assertEquals(first, readSide(server, admin), "the read side still moves");
          return first;
        });
  }

  private Map<String, JsonNode> readSide(FlotillaServer server, String admin) throws Exception {
    ApiClient api = new ApiClient(server.httpPort());
    Map<String, JsonNode> answers = new LinkedHashMap<>();
    for (String path : RecordedJournal.READ_SIDE) {
      ApiClient.Answer answer = api.get(path, admin);
      assertEquals(200, answer.status(), path + ": " + answer.body());
      answers.put(path, RecordedJournal.answer(path, answer.body()));
    }
    return answers;
  }

  private Map<String, JsonNode> answers(FlotillaServer server, String admin) throws Exception {
    ApiClient api = new ApiClient(server.httpPort());
    Map<String, JsonNode> answers = readSide(server, admin);
    for (String path : RecordedJournal.ENTITY_READS) {
      ApiClient.Answer answer = api.get(path, admin);
      assertEquals(200, answer.status(), path + ": " + answer.body());
      answers.put(path, RecordedJournal.answer(path, answer.body()));
    }
    return answers;
  }

  private Map<String, List<String>> rendered(
      FlotillaServer server, String admin, List<RecordedJournal.Row> rows) throws Exception {
    ApiClient api = new ApiClient(server.httpPort());
    Set<String> persistenceIds = new LinkedHashSet<>();
    rows.forEach(row -> persistenceIds.add(row.persistenceId()));
    Map<String, List<String>> rendered = new LinkedHashMap<>();
    for (String persistenceId : persistenceIds) {
      int bar = persistenceId.indexOf('|');
      ApiClient.Answer answer =
          api.get(
              "/api/v1/journal/"
                  + persistenceId.substring(0, bar)
                  + "/"
                  + persistenceId.substring(bar + 1),
              admin);
      assertEquals(200, answer.status(), persistenceId + ": " + answer.body());
      rendered.put(persistenceId, List.of(answer.body().split("\n")));
    }
    return rendered;
  }

  private static Map<String, TreeSet<String>> missing(RecordedJournal recorded) {
    Map<String, TreeSet<String>> seen = recorded.renderedEventTypes();
    Map<String, TreeSet<String>> missing = new LinkedHashMap<>();
    RecordedJournal.eventClasses()
        .forEach(
            (type, classes) -> {
              TreeSet<String> absent = new TreeSet<>(classes);
              absent.removeAll(seen.getOrDefault(type, new TreeSet<>()));
              if (!absent.isEmpty()) {
                missing.put(type, absent);
              }
            });
    return missing;
  }

  /**
   * fioup's registration without a token (the device authorization grant): one authorization
   * approved and redeemed as a token, one denied, one left waiting.
   */
  private static void deviceAuthorizations(FlotillaServer server, ApiClient api, String token)
      throws Exception {
    String oauth = "http://127.0.0.1:" + server.httpPort() + "/oauth";
    HttpClient http = HttpClient.newHttpClient();
    List<JsonNode> grants = new java.util.ArrayList<>();
    for (String client : RecordedJournal.AUTHORIZED_CLIENTS) {
      HttpResponse<String> answer =
          form(
              http,
              oauth + "/authorization/device/",
              "client_id=" + client + "&scope=acme:devices:create");
      assertEquals(200, answer.statusCode(), answer.body());
      grants.add(JSON.readTree(answer.body()));
    }
    String path = "/api/v1/factories/acme/device-authorizations/";
    ok(api.post(path + grants.get(0).get("user_code").asText(), token, "{\"approved\":true}"));
    ok(api.post(path + grants.get(1).get("user_code").asText(), token, "{\"approved\":false}"));
    HttpResponse<String> redeemed =
        form(
            http,
            oauth + "/token/",
            "grant_type=urn:ietf:params:oauth:grant-type:device_code&device_code="
                + grants.get(0).get("device_code").asText()
                + "&client_id="
                + RecordedJournal.AUTHORIZED_CLIENTS.get(0));
    assertEquals(200, redeemed.statusCode(), redeemed.body());
  }

  private static HttpResponse<String> form(HttpClient http, String url, String body)
      throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(url))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static String recordedFrom() throws Exception {
    GitCli.Result head = GitCli.run(Path.of("").toAbsolutePath(), "log", "-1", "--format=%h %s");
    return "commit " + head.output().strip();
  }

  private static String token(ApiClient api, String admin, String request) throws Exception {
    ApiClient.Answer answer = api.post("/api/v1/factories/acme/tokens", admin, request);
    created(answer);
    return answer.json().get("token").asText();
  }

  private static void created(ApiClient.Answer answer) {
    assertEquals(201, answer.status(), answer.body());
  }

  private static void ok(ApiClient.Answer answer) {
    assertTrue(
        answer.status() == 200 || answer.status() == 204, answer.status() + " " + answer.body());
  }

  private static void deviceOk(HttpResponse<String> answer) {
    assertTrue(answer.statusCode() / 100 == 2, answer.statusCode() + " " + answer.body());
  }
}
