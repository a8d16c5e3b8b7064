package io.flotilla.gateway.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import io.flotilla.core.persistence.Database;
import io.flotilla.core.persistence.SchemaMigration;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.TestServers;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * A device journal far longer than any page of the read journal, streamed whole over the API port:
 * the journal API streams it as it reads it, and a long-lived device's history must come out
 * complete, in order (the crash run reads journals of 12,000 events and more).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LargeJournalTest {

  private static final int ADDED_EVENTS = 30_000;

  @TempDir static Path dir;

  FlotillaServer server;
  String admin;
  String persistenceId;
  long lastSequenceNr;

  @BeforeAll
  void start() throws Exception {
    RecordedJournal recorded = RecordedJournal.load(RecordedJournal.NEWEST);
    RecordedJournal.Row sample =
        recorded.journal().stream()
            .filter(row -> row.persistenceId().equals("Device|" + RecordedJournal.DEVICE))
            .reduce((first, second) -> second)
            .orElseThrow();
    persistenceId = sample.persistenceId();
    long ordering =
        recorded.journal().stream().mapToLong(RecordedJournal.Row::ordering).max().orElseThrow();
    List<RecordedJournal.Row> rows = new ArrayList<>(recorded.journal());
    for (int i = 1; i <= ADDED_EVENTS; i++) {
      rows.add(
          new RecordedJournal.Row(
              ordering + i,
              persistenceId,
              sample.sequenceNr() + i,
              false,
              sample.writer(),
              sample.writeTimestamp(),
              sample.adapterManifest(),
              sample.serializerId(),
              sample.manifest(),
              sample.payload(),
              sample.metaSerializerId(),
              sample.metaManifest(),
              sample.metaPayload(),
              List.of()));
    }
    lastSequenceNr = sample.sequenceNr() + ADDED_EVENTS;
    Config config = TestServers.config(dir, null);
    try (Database database = Database.open(config)) {
      SchemaMigration.migrate(database, FlotillaServer.SCHEMA);
      new RecordedJournal(
              recorded.recordedFrom(),
              recorded.tokens(),
              rows,
              recorded.snapshots(),
              recorded.rendered(),
              recorded.answers())
          .insertInto(database);
    }
    server = FlotillaServer.start(config);
    admin = recorded.tokens().get("admin");
  }

  @AfterAll
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void aLongJournalStreamsWholeAndInOrder() throws Exception {
    ApiClient.Answer answer =
        new ApiClient(server.httpPort())
            .get("/api/v1/journal/Device/" + RecordedJournal.DEVICE, admin);
    assertEquals(200, answer.status());
    List<String> lines = answer.body().lines().toList();
    assertEquals(lastSequenceNr, lines.size(), "one line per event");
    for (int i = 0; i < lines.size(); i++) {
      assertTrue(
          lines.get(i).contains("\"sequenceNr\":" + (i + 1) + ","),
          "line " + (i + 1) + ": " + lines.get(i));
    }
  }

  @Test
  void aReadFromASequenceNumberStreamsOnlyTheRest() throws Exception {
    ApiClient.Answer answer =
        new ApiClient(server.httpPort())
            .get(
                "/api/v1/journal/Device/"
                    + RecordedJournal.DEVICE
                    + "?from="
                    + (lastSequenceNr - 9),
                admin);
    assertEquals(200, answer.status());
    List<String> lines = answer.body().lines().toList();
    assertEquals(10, lines.size(), answer.body());
    assertTrue(lines.get(9).contains("\"sequenceNr\":" + lastSequenceNr + ","), lines.get(9));
  }
}
