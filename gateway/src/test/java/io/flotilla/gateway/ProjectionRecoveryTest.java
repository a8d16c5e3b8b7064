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

  @Test
  void theOperatorRebuildsAProjectionAndGetsTheSameRows() throws Exception {
    assertEquals(
        201,
        api.post(
                "/api/v1/factories",
                admin,
                "{\"name\":\"rebuilt\",\"platforms\":[\"amd64-linux\"]}")
            .status());
    for (String description : List.of("ci", "reader")) {
      assertEquals(
          201,
          api.post(
                  "/api/v1/factories/rebuilt/tokens",
                  admin,
                  "{\"description\":\"" + description + "\",\"scopes\":[\"targets:read\"]}")
              .status());
    }
    List<String> before =
        eventually(
            PATIENCE,
            () -> {
              List<String> rows = factoryRows();
              assertEquals(
                  2, rows.stream().filter(r -> r.startsWith("factory_tokens|rebuilt|")).count());
              return rows;
            });
    String tokensBefore = api.get("/api/v1/factories/rebuilt/tokens", admin).body();

    java.io.StringWriter out = new java.io.StringWriter();
    java.io.StringWriter err = new java.io.StringWriter();
    int exit =
        new CommandLine(new ProjectionsCommand())
            .setOut(new java.io.PrintWriter(out, true))
            .setErr(new java.io.PrintWriter(err, true))
            .execute(
                "rebuild",
                "factories",
                "--api",
                "http://127.0.0.1:" + server.httpPort(),
                "--data-dir",
                dataDir.toString());
    assertEquals(0, exit, err.toString());
    assertTrue(err.toString().contains("factories: rebuilt"), err.toString());
    JsonNode done = JSON.readTree(out.toString());
    assertTrue(done.get("caughtUp").asBoolean());
    assertEquals(done.get("total").asLong(), done.get("replayed").asLong());
    assertTrue(done.get("total").asLong() >= 3, done.toString());

    assertEquals(before, factoryRows());
    assertEquals(tokensBefore, api.get("/api/v1/factories/rebuilt/tokens", admin).body());
    Answer progress = api.get("/api/v1/projections/factories/progress", admin);
    assertEquals(200, progress.status(), progress.body());
    assertTrue(progress.json().get("caughtUp").asBoolean());
    assertEquals(404, api.post("/api/v1/projections/nothing/rebuild", admin, "").status());
    assertEquals(404, api.get("/api/v1/projections/nothing/progress", admin).status());
    assertEquals(401, api.post("/api/v1/projections/factories/rebuild", null, "").status());
  }

  static final com.fasterxml.jackson.databind.ObjectMapper JSON =
      new com.fasterxml.jackson.databind.ObjectMapper();

  /** The factories projection's rows, each as text, sorted. */
  private List<String> factoryRows() throws Exception {
    List<String> rows = new ArrayList<>();
    try (Connection connection = server.core().database().dataSource().getConnection()) {
      for (String table : List.of("factories", "factory_tokens")) {
        try (Statement statement = connection.createStatement();
            java.sql.ResultSet r = statement.executeQuery("SELECT * FROM " + table)) {
          int columns = r.getMetaData().getColumnCount();
          while (r.next()) {
            StringBuilder row = new StringBuilder(table);
            for (int i = 1; i <= columns; i++) {
              row.append('|').append(r.getString(i));
            }
            rows.add(row.toString());
          }
        }
      }
    }
    rows.sort(String::compareTo);
    return rows;
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
