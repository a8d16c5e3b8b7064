package io.flotilla.gateway;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.core.testing.TestDatabases;
import io.flotilla.gateway.projection.ProjectionsCommand;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.ApiClient.Answer;
import io.flotilla.gateway.testing.TestServers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * A projection meets a real event that its table refuses (a constraint the test adds to the read
 * side): readiness and /metrics name it, the admin API lists it, the operator's {@code flotilla
 * projections skip} lets it pass, and the events behind it reach the read side.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class ProjectionRecoveryTest {

  static final Duration PATIENCE = Duration.ofSeconds(30);

  @TempDir static Path dataDir;
  FlotillaServer server;
  ApiClient api;
  String admin;

  abstract TestDatabases.Kind kind();

  @BeforeAll
  void start() throws Exception {
    server = TestServers.start(dataDir, TestDatabases.fresh(kind()));
    api = new ApiClient(server.httpPort());
    admin = Files.readString(dataDir.resolve("admin-token")).strip();
  }

  @AfterAll
  void stop() {
    server.close();
  }

  @Test
  void aStuckProjectionIsReportedAndTheOperatorSkipsTheEvent() throws Exception {
    try (Connection connection = server.core().database().dataSource().getConnection();
        Statement statement = connection.createStatement()) {
      statement.execute(
          "ALTER TABLE targets ADD CONSTRAINT no_poison CHECK (containers_sha IS NULL OR containers_sha <> 'badc0de')");
    }
    assertEquals(
        201,
        api.post("/api/v1/factories", admin, "{\"name\":\"stuck\",\"platforms\":[\"amd64-linux\"]}")
            .status());
    assertEquals(
        201, api.post("/api/v1/factories/stuck/targets", admin, "{\"tags\":[\"main\"]}").status());
    assertEquals(
        201,
        api.post(
                "/api/v1/factories/stuck/targets",
                admin,
                "{\"tags\":[\"main\"],\"containersSha\":\"badc0de\"}")
            .status());
    assertEquals(
        201, api.post("/api/v1/factories/stuck/targets", admin, "{\"tags\":[\"main\"]}").status());

    JsonNode stuck =
        eventually(
            PATIENCE,
            () -> {
              JsonNode projection = projection("targets", "targets");
              assertEquals("stuck", projection.get("state").asText(), projection.toString());
              assertNotNull(projection.get("stuck").get("persistenceId"), projection.toString());
              return projection.get("stuck");
            });
    assertEquals("Targets|stuck", stuck.get("persistenceId").asText());
    assertEquals(2, stuck.get("sequenceNr").asLong());
    assertEquals(
        List.of("amd64-linux-1"), targetNames(), "the target behind the stuck event waits");

    Answer ready = api.get("/health/ready", null);
    assertEquals(200, ready.status());
    assertEquals("degraded", ready.json().get("status").asText());
    assertTrue(
        ready
            .json()
            .get("stuckProjections")
            .get(0)
            .asText()
            .contains("targets/targets cannot store event Targets|stuck #2"),
        ready.body());
    String metrics = api.get("/metrics", null).body();
    assertTrue(
        metrics.contains("flotilla_projection_stuck{key=\"targets\",projection=\"targets\"} 1"),
        metrics);
    assertTrue(metrics.contains("flotilla_database_available 1"), metrics);
    assertTrue(errorCount(metrics) >= 1, metrics);

    assertEquals(
        404,
        api.post(
                "/api/v1/projections/nothing/here/skip",
                admin,
                "{\"persistenceId\":\"Targets|stuck\",\"sequenceNr\":2}")
            .status());
    assertEquals(
        400,
        api.post("/api/v1/projections/targets/targets/skip", admin, "{\"sequenceNr\":2}").status());
    int exit =
        new CommandLine(new ProjectionsCommand())
            .execute(
                "skip",
                "targets",
                "targets",
                "Targets|stuck",
                "2",
                "--api",
                "http://127.0.0.1:" + server.httpPort(),
                "--data-dir",
                dataDir.toString());
    assertEquals(0, exit);

    eventually(
        PATIENCE,
        () -> {
          assertEquals(List.of("amd64-linux-1", "amd64-linux-3"), targetNames());
          return null;
        });
    JsonNode after = projection("targets", "targets");
    assertEquals("running", after.get("state").asText(), after.toString());
    assertEquals("Targets|stuck", after.get("skipped").get(0).get("persistenceId").asText());
    assertEquals("ready", api.get("/health/ready", null).json().get("status").asText());
    assertTrue(
        api.get("/metrics", null)
            .body()
            .contains("flotilla_projection_stuck{key=\"targets\",projection=\"targets\"} 0"));
  }

  private JsonNode projection(String name, String key) throws Exception {
    Answer list = api.get("/api/v1/projections", admin);
    assertEquals(200, list.status(), list.body());
    for (JsonNode projection : list.json().get("projections")) {
      if (projection.get("name").asText().equals(name)
          && projection.get("key").asText().equals(key)) {
        return projection;
      }
    }
    throw new AssertionError("no projection " + name + "/" + key + " in " + list.body());
  }

  private List<String> targetNames() throws Exception {
    List<String> names = new ArrayList<>();
    api.get("/api/v1/factories/stuck/targets", admin)
        .json()
        .get("targets")
        .forEach(t -> names.add(t.get("name").asText()));
    names.sort(String::compareTo);
    return names;
  }

  private static double errorCount(String metrics) {
    for (String line : metrics.split("\n")) {
      if (line.startsWith(
          "flotilla_projection_errors_total{key=\"targets\",projection=\"targets\"}")) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return 0;
  }
}

class ProjectionRecoveryOnH2Test extends ProjectionRecoveryTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.H2;
  }
}

class ProjectionRecoveryOnPostgresTest extends ProjectionRecoveryTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.POSTGRES;
  }
}
