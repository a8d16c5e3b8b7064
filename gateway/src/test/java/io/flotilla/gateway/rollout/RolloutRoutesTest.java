package io.flotilla.gateway.rollout;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.core.testing.TestDatabases;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.device.DeviceClient;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.TestServers;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The rollout API and what devices see over the real device port: labels, a rollout that gives a
 * target to one labelled device only, pause, the audit trail, and bad input answered 4xx. Each test
 * makes its own factory.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class RolloutRoutesTest {

  static final ObjectMapper JSON = new ObjectMapper();
  static final String APP =
      "\"apps\":{\"shellhttpd\":\"hub.example.com/%s/shellhttpd@sha256:" + "1".repeat(64) + "\"}";

  @TempDir static Path dataDir;
  FlotillaServer server;
  ApiClient api;
  String admin;

  abstract TestDatabases.Kind kind();

  @BeforeAll
  void start() throws Exception {
    server = TestServers.start(dataDir, TestDatabases.fresh(kind()));
    api = new ApiClient(server.httpPort());
    admin = server.adminToken().value();
  }

  @AfterAll
  void stop() {
    server.close();
  }

  String factory() throws Exception {
    String f = "ro-" + UUID.randomUUID().toString().substring(0, 8);
    assertEquals(
        201,
        api.post(
                "/api/v1/factories",
                admin,
                "{\"name\":\"" + f + "\",\"platforms\":[\"amd64-linux\"]}")
            .status());
    return f;
  }

  DeviceClient register(String factory) throws Exception {
    return DeviceClient.register(api, admin, factory);
  }

  /** The target names the device's targets.json offers on tag main. */
  List<String> offered(DeviceClient device) throws Exception {
    var answer =
        device.send(
            "https://127.0.0.1:" + server.devicePort(),
            "GET",
            "/repo/targets.json",
            null,
            "x-ats-tags",
            "main",
            "x-ats-target",
            "amd64-linux-1");
    assertEquals(200, answer.statusCode(), answer.body());
    List<String> names = new ArrayList<>();
    JSON.readTree(answer.body())
        .path("signed")
        .path("targets")
        .fieldNames()
        .forEachRemaining(names::add);
    return names;
  }

  void target(String factory, int version) throws Exception {
    assertEquals(
        201,
        api.post(
                "/api/v1/factories/" + factory + "/targets",
                admin,
                "{\"version\":" + version + ",\"tags\":[\"main\"]," + APP.formatted(factory) + "}")
            .status());
  }

  @Test
  void aRolloutOffersItsTargetOnlyToTheDevicesOfItsStartedPhases() throws Exception {
    String f = factory();
    String base = "/api/v1/factories/" + f;
    target(f, 1);
    DeviceClient canary = register(f);
    DeviceClient other = register(f);
    ApiClient.Answer labelled =
        api.patch(base + "/devices/" + canary.uuid, admin, "{\"labels\":{\"ring\":\"canary\"}}");
    assertEquals(200, labelled.status(), labelled.body());
    assertEquals("canary", labelled.json().path("labels").path("ring").asText());
    JsonNode listed = api.get(base + "/devices?label=ring=canary", admin).json();
    assertEquals(1, listed.path("devices").size());
    assertEquals(canary.uuid, listed.path("devices").get(0).path("uuid").asText());

    ApiClient.Answer created =
        api.post(
            base + "/rollouts",
            admin,
            "{\"id\":\"r1\",\"tag\":\"main\",\"version\":2,\"errorCount\":1,"
                + "\"phases\":[{\"name\":\"canary\",\"labels\":{\"ring\":\"canary\"}},"
                + "{\"name\":\"all\",\"percent\":100}]}");
    assertEquals(201, created.status(), created.body());
    assertEquals("running", created.json().path("status").asText());
    assertEquals("admin", created.json().path("createdBy").asText());
    eventually(
        Duration.ofSeconds(30),
        () -> {
          assertEquals(
              1, api.get(base + "/rollouts/r1", admin).json().path("startedPhases").asInt());
          return null;
        });
    target(f, 2);
    eventually(
        Duration.ofSeconds(30),
        () -> {
          assertEquals(List.of("amd64-linux-1", "amd64-linux-2"), offered(canary));
          return null;
        });
    assertEquals(List.of("amd64-linux-1"), offered(other));

    JsonNode shown = api.get(base + "/rollouts/r1", admin).json();
    assertEquals(1, shown.path("startedPhases").asInt());
    assertEquals(1, shown.path("progress").path("phases").get(0).path("targeted").asInt());
    assertEquals(1, shown.path("progress").path("phases").get(0).path("pending").asInt());
    assertEquals(
        "r1",
        api.get(base + "/rollouts", admin).json().path("rollouts").get(0).path("id").asText());

    assertEquals(
        "paused", api.post(base + "/rollouts/r1/pause", admin, "").json().path("status").asText());
    assertEquals(
        "canceled",
        api.post(base + "/rollouts/r1/cancel", admin, "").json().path("status").asText());
    assertEquals(409, api.post(base + "/rollouts/r1/resume", admin, "").status());
    JsonNode audit = api.get(base + "/rollouts/r1/events", admin).json().path("events");
    List<String> trail = new ArrayList<>();
    audit.forEach(e -> trail.add(e.path("type").asText() + " by " + e.path("by").asText()));
    assertEquals(
        List.of(
            "Created by admin", "PhaseStarted by rollout", "Paused by admin", "Canceled by admin"),
        trail);
    assertEquals(List.of("amd64-linux-1"), offered(other), "a canceled rollout gives nobody more");
  }

  @Test
  void badInputIsRefusedWithAClearErrorAndChangesNothing() throws Exception {
    String f = factory();
    String base = "/api/v1/factories/" + f;
    String[] bodies = {
      "{\"id\":\"Bad Id\",\"tag\":\"main\",\"version\":2,\"growth\":[100]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"growth\":[100]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2,\"growth\":[100],\"phases\":[]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2,\"growth\":[10,5]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2,\"growth\":[101]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2,\"growth\":[" + "5,".repeat(20) + "100]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2,\"errorShare\":2,\"growth\":[100]}",
      "{\"id\":\"r\",\"tag\":\"bad tag\",\"version\":2,\"growth\":[100]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":0,\"growth\":[100]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2,\"phases\":[{\"group\":\"lab\",\"percent\":5}]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2,\"phases\":[{\"labels\":{\"k\":\"v v\"}}]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2,\"successWithinSeconds\":0,\"growth\":[100]}",
      "[1]",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2,\"growth\":[100],\"errorshare\":0.5}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":\"2\",\"growth\":[100]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2.5,\"growth\":[100]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":99999999999,\"growth\":[100]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":-2,\"growth\":[100]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2,\"growth\":[100],\"rollback\":\"true\"}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2,\"growth\":[100],\"rollback\":1}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2,\"growth\":[100],\"errorCount\":-1}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2,\"growth\":[100],\"errorCount\":1e12}",
      "{\"id\":42,\"tag\":\"main\",\"version\":2,\"growth\":[100]}",
      "{\"id\":\"r\",\"tag\":null,\"version\":2,\"growth\":[100]}",
      "{\"id\":\"r\",\"tag\":\"ma\\u0000in\",\"version\":2,\"growth\":[100]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2,\"growth\":[null]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2,\"growth\":[-5]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2,\"growth\":[\"50\"]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2,\"phases\":[{\"name\":\"a\\u001bb\",\"percent\":5}]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2,\"phases\":[{\"count\":-3}]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2,\"phases\":[{\"uuids\":[\"a b\"]}]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2,\"phases\":[{\"group\":\"lab\",\"colour\":1}]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2,\"phases\":[{\"percent\":5,\"successShare\":0}]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2,\"phases\":[{\"labels\":{\"k\":null}}]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2,\"phases\":[null]}",
      "{\"id\":\"r\",\"tag\":\"main\",\"version\":2,\"phases\":[{\"uuids\":["
          + "\"u\",".repeat(1000)
          + "\"u\"]}]}",
    };
    for (String body : bodies) {
      ApiClient.Answer answer = api.post(base + "/rollouts", admin, body);
      assertEquals(400, answer.status(), body + " -> " + answer.body());
      assertTrue(answer.json().has("error") && answer.json().has("detail"), answer.body());
    }
    assertEquals(0, api.get(base + "/rollouts", admin).json().path("rollouts").size());
    for (String query :
        List.of(
            "limit=0", "limit=1001", "limit=abc", "limit=-1", "cursor=Bad%20Id", "cursor=%00")) {
      ApiClient.Answer answer = api.get(base + "/rollouts?" + query, admin);
      assertEquals(400, answer.status(), query + " -> " + answer.body());
      assertTrue(answer.json().has("error") && answer.json().has("detail"), answer.body());
    }
    for (String path : List.of("/rollouts/BAD", "/rollouts/" + "x".repeat(100), "/rollouts/a%00")) {
      ApiClient.Answer answer = api.get(base + path, admin);
      assertEquals(404, answer.status(), path + " -> " + answer.body());
      assertTrue(answer.json().has("error"), answer.body());
      assertEquals(404, api.post(base + path + "/cancel", admin, "").status(), path);
    }
    assertEquals(404, api.get(base + "/rollouts/none", admin).status());
    assertEquals(404, api.post(base + "/rollouts/none/pause", admin, "").status());
    assertEquals(404, api.get(base + "/rollouts/none/events", admin).status());
    DeviceClient device = register(f);
    StringBuilder many = new StringBuilder("{\"labels\":{");
    for (int i = 0; i < 21; i++) {
      many.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":\"v\"");
    }
    many.append("}}");
    assertEquals(400, api.patch(base + "/devices/" + device.uuid, admin, many.toString()).status());
    assertEquals(
        400,
        api.patch(base + "/devices/" + device.uuid, admin, "{\"labels\":{\"\":\"v\"}}").status());
    assertEquals(400, api.get(base + "/devices?label=novalue", admin).status());
    assertEquals(400, api.get(base + "/devices?label=k=v%20v", admin).status());
    assertEquals(
        0,
        api.get(base + "/devices/" + device.uuid, admin).json().path("labels").size(),
        "a refused change changes nothing");
  }

  String growth(String id, String tag) {
    return "{\"id\":\"" + id + "\",\"tag\":\"" + tag + "\",\"version\":2,\"growth\":[100]}";
  }

  @Test
  void aTagHasOneRunningOrPausedRolloutAtATime() throws Exception {
    String f = factory();
    String base = "/api/v1/factories/" + f;
    assertEquals(201, api.post(base + "/rollouts", admin, growth("r1", "main")).status());
    ApiClient.Answer second = api.post(base + "/rollouts", admin, growth("r2", "main"));
    assertEquals(409, second.status(), second.body());
    assertTrue(
        second.json().path("detail").asText().contains("rollout r1 of tag main"), second.body());
    assertEquals(200, api.post(base + "/rollouts/r1/pause", admin, "").status());
    assertEquals(409, api.post(base + "/rollouts", admin, growth("r2", "main")).status());
    assertEquals(201, api.post(base + "/rollouts", admin, growth("q1", "qa")).status());
    assertEquals(200, api.post(base + "/rollouts/r1/cancel", admin, "").status());
    assertEquals(201, api.post(base + "/rollouts", admin, growth("r2", "main")).status());
    assertEquals(404, api.get(base + "/rollouts/r2x", admin).status());
    List<String> listed = new ArrayList<>();
    api.get(base + "/rollouts", admin)
        .json()
        .path("rollouts")
        .forEach(r -> listed.add(r.path("id").asText() + " " + r.path("status").asText()));
    assertEquals(List.of("r1 canceled", "q1 running", "r2 running"), listed);

    List<java.util.concurrent.CompletableFuture<Integer>> racing = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      String id = "race" + i;
      racing.add(
          java.util.concurrent.CompletableFuture.supplyAsync(
              () -> {
                try {
                  return api.post(base + "/rollouts", admin, growth(id, "race")).status();
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              }));
    }
    List<Integer> statuses = new ArrayList<>();
    for (var answer : racing) {
      statuses.add(answer.get(60, java.util.concurrent.TimeUnit.SECONDS));
    }
    assertEquals(1, statuses.stream().filter(s -> s == 201).count(), statuses.toString());
    assertEquals(3, statuses.stream().filter(s -> s == 409).count(), statuses.toString());
  }

  @Test
  void theListIsPagedInCreationOrder() throws Exception {
    String f = factory();
    String base = "/api/v1/factories/" + f;
    List<String> ids = List.of("p1", "a2", "z3", "b4", "m5");
    for (String id : ids) {
      assertEquals(201, api.post(base + "/rollouts", admin, growth(id, "tag-" + id)).status());
    }
    List<String> seen = new ArrayList<>();
    String cursor = null;
    int pages = 0;
    do {
      JsonNode page =
          api.get(base + "/rollouts?limit=2" + (cursor == null ? "" : "&cursor=" + cursor), admin)
              .json();
      page.path("rollouts").forEach(r -> seen.add(r.path("id").asText()));
      assertTrue(page.path("rollouts").size() <= 2, page.toString());
      cursor = page.hasNonNull("nextCursor") ? page.get("nextCursor").asText() : null;
      pages++;
    } while (cursor != null && pages < 10);
    assertEquals(ids, seen);
    assertEquals(3, pages);
    JsonNode all = api.get(base + "/rollouts?limit=5", admin).json();
    assertEquals(5, all.path("rollouts").size());
    assertFalse(all.hasNonNull("nextCursor"), all.toString());
    assertEquals(
        0, api.get(base + "/rollouts?cursor=nosuch", admin).json().path("rollouts").size());
  }

  /** What fioup posts once it installed {@code target}: download, then install, completed. */
  void installed(DeviceClient device, String target, String version) throws Exception {
    String correlation = "c-" + UUID.randomUUID();
    StringBuilder events = new StringBuilder("[");
    String[] types = {"EcuDownloadCompleted", "EcuInstallationCompleted"};
    for (int i = 0; i < types.length; i++) {
      events
          .append(i == 0 ? "" : ",")
          .append("{\"id\":\"")
          .append(correlation)
          .append('-')
          .append(i)
          .append("\",\"deviceTime\":\"2026-12-06T10:00:00Z\",\"eventType\":{\"id\":\"")
          .append(types[i])
          .append("\",\"version\":2},\"event\":{\"correlationId\":\"")
          .append(correlation)
          .append("\",\"success\":true,\"targetName\":\"")
          .append(target)
          .append("\",\"version\":\"")
          .append(version)
          .append("\"}}");
    }
    events.append(']');
    var answer =
        device.send(
            "https://127.0.0.1:" + server.devicePort(),
            "POST",
            "/events",
            events.toString(),
            "x-ats-tags",
            "main",
            "x-ats-target",
            target);
    assertEquals(200, answer.statusCode(), answer.body());
  }

  void appsStates(DeviceClient device, String target, String state) throws Exception {
    var answer =
        device.send(
            "https://127.0.0.1:" + server.devicePort(),
            "POST",
            "/apps-states",
            "{\"deviceTime\":\"2026-12-06T10:00:01Z\",\"apps\":{\"shellhttpd\":{\"state\":\""
                + state
                + "\"}}}",
            "x-ats-tags",
            "main",
            "x-ats-target",
            target);
    assertEquals(200, answer.statusCode(), answer.body());
  }

  @Test
  void appsGoingUnhealthyAfterTheInstallHaltThePhaseAndRollbackOffersThePreviousTarget()
      throws Exception {
    String f = factory();
    String base = "/api/v1/factories/" + f;
    target(f, 1);
    List<DeviceClient> devices = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      devices.add(register(f));
    }
    StringBuilder canary = new StringBuilder();
    for (DeviceClient d : devices.subList(0, 2)) {
      canary.append(canary.isEmpty() ? "" : ",").append('"').append(d.uuid).append('"');
    }
    ApiClient.Answer created =
        api.post(
            base + "/rollouts",
            admin,
            "{\"id\":\"r1\",\"tag\":\"main\",\"version\":2,\"errorCount\":1,\"rollback\":true,"
                + "\"phases\":[{\"name\":\"canary\",\"uuids\":["
                + canary
                + "]},{\"name\":\"all\",\"percent\":100}]}");
    assertEquals(201, created.status(), created.body());
    eventually(
        Duration.ofSeconds(30),
        () -> {
          assertEquals(
              1, api.get(base + "/rollouts/r1", admin).json().path("startedPhases").asInt());
          return null;
        });
    target(f, 2);
    DeviceClient bad = devices.get(0);
    eventually(
        Duration.ofSeconds(30),
        () -> {
          assertEquals(List.of("amd64-linux-1", "amd64-linux-2"), offered(bad));
          return null;
        });
    installed(bad, "amd64-linux-2", "2");
    appsStates(bad, "amd64-linux-2", "healthy");
    eventually(
        Duration.ofSeconds(30),
        () -> {
          JsonNode phase = api.get(base + "/rollouts/r1", admin).json().path("progress");
          assertEquals(1, phase.path("phases").get(0).path("updated").asInt(), phase.toString());
          return null;
        });
    assertEquals("running", api.get(base + "/rollouts/r1", admin).json().path("status").asText());

    appsStates(bad, "amd64-linux-2", "unhealthy");
    JsonNode halted =
        eventually(
            Duration.ofSeconds(30),
            () -> {
              JsonNode r = api.get(base + "/rollouts/r1", admin).json();
              assertEquals("halted", r.path("status").asText(), r.toString());
              return r;
            });
    assertTrue(halted.path("rolledBack").asBoolean(), halted.toString());
    assertTrue(
        halted.path("haltReason").asText().contains("1 of 2 devices failed"), halted.toString());
    assertEquals(1, halted.path("startedPhases").asInt(), "the next phase never started");
    assertEquals(1, halted.path("progress").path("failed").asInt(), halted.toString());
    for (DeviceClient d : devices) {
      eventually(
          Duration.ofSeconds(30),
          () -> {
            assertEquals(List.of("amd64-linux-1"), offered(d), "the previous target only");
            return null;
          });
    }
  }
}

class RolloutRoutesOnH2Test extends RolloutRoutesTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.H2;
  }
}

class RolloutRoutesOnPostgresTest extends RolloutRoutesTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.POSTGRES;
  }
}
