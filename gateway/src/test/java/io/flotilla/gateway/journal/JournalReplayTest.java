package io.flotilla.gateway.journal;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import io.flotilla.core.persistence.Database;
import io.flotilla.core.persistence.SchemaMigration;
import io.flotilla.core.testing.TestDatabases;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.TestServers;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The journal a released version wrote ({@link RecordedJournal}, recorded by {@link
 * JournalRecorder}) loaded into a fresh database of today's schema: today's node recovers every
 * entity from it, rebuilds the read side from it and renders every recorded event as the released
 * version did. A renamed entity type, event class or field breaks it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class JournalReplayTest {

  private static final Duration PATIENCE = Duration.ofSeconds(45);
  private static final String ADMIN_TOKENS = "AdminTokens|admin";

  @TempDir static Path dir;

  RecordedJournal recorded;
  FlotillaServer server;
  ApiClient api;
  String admin;

  abstract TestDatabases.Kind kind();

  /** The recorded version replayed, one of {@link RecordedJournal#VERSIONS}. */
  abstract String version();

  @BeforeAll
  void start() throws Exception {
    recorded = RecordedJournal.load(version());
    Config config =
        TestServers.config(
            dir.resolve(kind().name().toLowerCase() + "-" + version()),
            TestDatabases.fresh(kind()));
    try (Database database = Database.open(config)) {
      SchemaMigration.migrate(database, FlotillaServer.SCHEMA);
      recorded.insertInto(database);
    }
    server = FlotillaServer.start(config);
    api = new ApiClient(server.httpPort());
    admin = recorded.tokens().get("admin");
  }

  @AfterAll
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  /**
   * The newest recording holds every event class there is; an older one holds only classes that
   * still exist.
   */
  @Test
  void theRecordingHoldsEveryEventClassOfEveryEntityType() {
    if (version().equals(RecordedJournal.NEWEST)) {
      assertEquals(
          RecordedJournal.eventClasses(),
          recorded.renderedEventTypes(),
          "an event class that is not in the recording is not tested: record a new journal version with JournalRecorder (docs/development.md)");
      return;
    }
    recorded
        .renderedEventTypes()
        .forEach(
            (type, events) ->
                assertTrue(
                    RecordedJournal.eventClasses().get(type).containsAll(events),
                    type
                        + " recorded "
                        + events
                        + ", today "
                        + RecordedJournal.eventClasses().get(type)));
  }

  @Test
  void theJournalApiRendersTheRecordedEventsAsTheReleasedVersionDid() throws Exception {
    for (Map.Entry<String, List<String>> entity : recorded.rendered().entrySet()) {
      String persistenceId = entity.getKey();
      int bar = persistenceId.indexOf('|');
      ApiClient.Answer answer =
          api.get(
              "/api/v1/journal/"
                  + persistenceId.substring(0, bar)
                  + "/"
                  + persistenceId.substring(bar + 1),
              admin);
      assertEquals(200, answer.status(), persistenceId + ": " + answer.body());
      List<String> lines = List.of(answer.body().split("\n"));
      if (persistenceId.equals(ADMIN_TOKENS)) {
        assertEquals(
            entity.getValue().size() + 1,
            lines.size(),
            "this node registered its own admin token after the recorded ones: " + lines);
        lines = lines.subList(0, entity.getValue().size());
      }
      assertEquals(entity.getValue().size(), lines.size(), persistenceId + ": " + lines);
      for (int i = 0; i < lines.size(); i++) {
        RecordedJournal.assertCovers(
            RecordedJournal.read(entity.getValue().get(i)),
            RecordedJournal.read(lines.get(i)),
            persistenceId + " #" + (i + 1));
      }
    }
  }

  @Test
  void theRecordedTokensStillCheck() throws Exception {
    assertEquals(
        200,
        api.get("/api/v1/factories", admin).status(),
        "the recorded admin token (AdminTokens)");
    assertEquals(
        200,
        api.get("/api/v1/factories/acme/targets", recorded.tokens().get("factory")).status(),
        "the factory token (Factory)");
    assertEquals(
        401,
        api.get("/api/v1/factories/acme/targets", recorded.tokens().get("revoked")).status(),
        "the revoked token (Factory)");
  }

  @Test
  void everyEntityRecoversItsRecordedState() throws Exception {
    for (String path : RecordedJournal.ENTITY_READS) {
      ApiClient.Answer answer = api.get(path, admin);
      assertEquals(200, answer.status(), path + ": " + answer.body());
      RecordedJournal.assertCovers(
          recorded.answers().get(path), RecordedJournal.answer(path, answer.body()), path);
    }
    JsonNode factory = api.get("/api/v1/factories/acme", admin).json();
    assertEquals("stable", factory.get("branchTags").get("release").asText(), factory.toString());
    assertEquals("succeeded", build(1).get("status").asText());
    assertEquals("[\"amd64-linux-1\"]", build(1).get("targets").toString());
    assertEquals("canceled", build(2).get("status").asText());
    assertEquals("canceled by api", build(2).get("reason").asText());
    assertEquals("failed", build(3).get("status").asText());
    JsonNode config =
        api.get("/api/v1/factories/acme/devices/" + RecordedJournal.DEVICE + "/config", admin)
            .json();
    List<String> files = new ArrayList<>();
    config
        .get("files")
        .forEach(file -> files.add(file.get("name").asText() + "=" + file.get("value").asText()));
    assertEquals(List.of("d=operator", "z-50-fioctl.toml=[pacman]\n  tags = \"beta\"\n"), files);
  }

  @Test
  void theProjectionsRebuildTheRecordedReadSide() throws Exception {
    for (String path : RecordedJournal.READ_SIDE) {
      eventually(
          PATIENCE,
          () -> {
            ApiClient.Answer answer = api.get(path, admin);
            assertEquals(200, answer.status(), path + ": " + answer.body());
            RecordedJournal.assertCovers(
                recorded.answers().get(path), RecordedJournal.answer(path, answer.body()), path);
            return answer;
          });
    }
  }

  private JsonNode build(long number) throws Exception {
    return api.get("/api/v1/factories/acme/builds/" + number, admin).json();
  }
}

class JournalReplayOnH2Test extends JournalReplayTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.H2;
  }

  @Override
  String version() {
    return "v1";
  }
}

class JournalReplayOnPostgresTest extends JournalReplayTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.POSTGRES;
  }

  @Override
  String version() {
    return "v1";
  }
}

class JournalReplayV2OnH2Test extends JournalReplayTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.H2;
  }

  @Override
  String version() {
    return "v2";
  }
}

class JournalReplayV2OnPostgresTest extends JournalReplayTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.POSTGRES;
  }

  @Override
  String version() {
    return "v2";
  }
}

class JournalReplayV3OnH2Test extends JournalReplayTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.H2;
  }

  @Override
  String version() {
    return "v3";
  }
}

class JournalReplayV3OnPostgresTest extends JournalReplayTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.POSTGRES;
  }

  @Override
  String version() {
    return "v3";
  }
}

class JournalReplayV4OnH2Test extends JournalReplayTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.H2;
  }

  @Override
  String version() {
    return "v4";
  }
}

class JournalReplayV4OnPostgresTest extends JournalReplayTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.POSTGRES;
  }

  @Override
  String version() {
    return "v4";
  }
}
