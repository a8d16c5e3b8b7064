package io.flotilla.gateway.rollout;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.core.testing.TestDatabases;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.device.DeviceClient;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.TestServers;
import java.net.http.HttpRequest;
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
    DeviceClient device = new DeviceClient(UUID.randomUUID().toString());
    ObjectNode body = JSON.createObjectNode();
    body.put("uuid", device.uuid);
    body.put("hardware-id", "amd64-linux");
    body.put("csr", device.csr(factory));
    body.put("sota-config-dir", "/var/sota");
    body.putObject("overrides").putObject("pacman").put("tags", "\"main\"");
    ApiClient.Answer answer =
        api.send(
            api.request("/ota/devices/", null)
                .header("OSF-TOKEN", admin)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())));
    assertEquals(201, answer.status(), answer.body());
    device.registered(
        answer.json().get("root.crt").asText(), answer.json().get("client.pem").asText());
    return device;
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
    };
    for (String body : bodies) {
      ApiClient.Answer answer = api.post(base + "/rollouts", admin, body);
      assertEquals(400, answer.status(), body + " -> " + answer.body());
      assertTrue(answer.json().has("error") && answer.json().has("detail"), answer.body());
    }
    assertEquals(0, api.get(base + "/rollouts", admin).json().path("rollouts").size());
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
