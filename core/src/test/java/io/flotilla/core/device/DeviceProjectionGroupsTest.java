package io.flotilla.core.device;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.Config;
import io.flotilla.core.device.Device.Contact;
import io.flotilla.core.device.Device.UpdateEvent;
import io.flotilla.core.persistence.Database;
import io.flotilla.core.persistence.PooledJdbcSession;
import io.flotilla.core.persistence.SchemaMigration;
import io.flotilla.core.testing.TestDatabases;
import io.flotilla.core.testing.TestNode;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The device projection handles envelopes in groups, one transaction per group with its offset:
 * every row lands, a group sees its own earlier writes, and the offset survives a restart so that
 * projection resumes where it was.
 */
abstract class DeviceProjectionGroupsTest {

  static final Duration PATIENCE = Duration.ofSeconds(30);
  static final int DEVICES = 12;

  @TempDir Path dataDir;

  abstract TestDatabases.Kind kind();

  static Contact contact(String factory, Instant at) {
    return new Contact(factory, false, "0a", "PEM", null, null, null, at);
  }

  static UpdateEvent event(String id, String correlationId, String type, Boolean success) {
    return new UpdateEvent(
        id, "2026-11-27T10:00:00Z", type, 2, correlationId, success, "amd64-linux-2", "2", null);
  }

  /** Sends one report for every device at once, so that the projection's groups mix devices. */
  static void reportAll(
      TestNode node,
      String factory,
      Instant at,
      java.util.function.Function<Integer, List<UpdateEvent>> events)
      throws Exception {
    List<CompletableFuture<StatusReply<Device.Summary>>> replies = new ArrayList<>();
    for (int i = 0; i < DEVICES; i++) {
      List<UpdateEvent> batch = events.apply(i);
      replies.add(
          node.core()
              .device(factory + "-dev-" + i)
              .<StatusReply<Device.Summary>>ask(
                  r -> new Device.ReportUpdateEvents(contact(factory, at), batch, r),
                  node.core().askTimeout())
              .toCompletableFuture());
    }
    for (CompletableFuture<StatusReply<Device.Summary>> reply : replies) {
      assertTrue(reply.get(15, TimeUnit.SECONDS).isSuccess());
    }
  }

  /** uuid/correlation id -> the update's event ids as the read side holds them. */
  static Map<String, String> updates(TestNode node, String factory) throws SQLException {
    return node.database()
        .withConnection(
            c -> {
              Map<String, String> rows = new TreeMap<>();
              try (var s =
                  c.prepareStatement(
                      "SELECT uuid, correlation_id, events FROM device_updates WHERE factory = ?")) {
                s.setString(1, factory);
                try (ResultSet r = s.executeQuery()) {
                  while (r.next()) {
                    rows.put(
                        r.getString(1) + "/" + r.getString(2),
                        String.join(
                            ",",
                            DeviceProjection.DeviceEventsJson.read(r.getString(3)).stream()
                                .map(UpdateEvent::id)
                                .toList()));
                  }
                }
              }
              return rows;
            });
  }

  /** Each device tag -> the offset the projection stored for it. */
  static Map<String, Long> offsets(TestNode node) throws SQLException {
    return node.database()
        .withConnection(
            c -> {
              Map<String, Long> offsets = new TreeMap<>();
              try (Statement s = c.createStatement();
                  ResultSet r =
                      s.executeQuery(
                          // Quoted: the projection's tables are lowercase, which H2 matches only
                          // when quoted.
                          "SELECT \"projection_key\", \"current_offset\" FROM \"pekko_projection_offset_store\" WHERE \"projection_name\" = 'devices'")) {
                while (r.next()) {
                  offsets.put(r.getString(1), Long.parseLong(r.getString(2)));
                }
              }
              return offsets;
            });
  }

  /** Each device tag -> the ordering of its newest journal event. */
  static Map<String, Long> newestEvents(TestNode node) throws SQLException {
    return node.database()
        .withConnection(
            c -> {
              Map<String, Long> newest = new TreeMap<>();
              try (Statement s = c.createStatement();
                  ResultSet r =
                      s.executeQuery(
                          "SELECT \"tag\", MAX(\"event_id\") FROM \"event_tag\" WHERE \"tag\" LIKE 'device-%' GROUP BY \"tag\"")) {
                while (r.next()) {
                  newest.put(r.getString(1), r.getLong(2));
                }
              }
              return newest;
            });
  }

  static Map<String, String> expected(String factory, boolean afterRestart) {
    Map<String, String> rows = new TreeMap<>();
    for (int i = 0; i < DEVICES; i++) {
      String uuid = factory + "-dev-" + i;
      rows.put(uuid + "/a-" + i, "a1-" + i + ",a2-" + i + ",a3-" + i);
      rows.put(uuid + "/b-" + i, afterRestart ? "b1-" + i + ",b2-" + i : "b1-" + i);
      if (afterRestart) {
        rows.put(uuid + "/c-" + i, "c1-" + i);
      }
    }
    return rows;
  }

  @Test
  void everyRowAndTheOffsetLandAndSurviveARestart() throws Exception {
    Config config = TestNode.config(TestDatabases.fresh(kind()), dataDir);
    String factory = "gr-" + UUID.randomUUID().toString().substring(0, 8);
    Instant now = Instant.now();
    Map<String, Long> offsetsBeforeRestart;
    try (TestNode node = TestNode.start(config)) {
      reportAll(
          node,
          factory,
          now,
          i ->
              List.of(
                  event("a1-" + i, "a-" + i, "UpdateInitStarted", null),
                  event("a2-" + i, "a-" + i, "UpdateInitCompleted", true)));
      reportAll(
          node,
          factory,
          now.plusSeconds(1),
          i ->
              List.of(
                  event("a3-" + i, "a-" + i, "EcuInstallationCompleted", true),
                  event("b1-" + i, "b-" + i, "UpdateInitStarted", null)));
      offsetsBeforeRestart =
          eventually(
              PATIENCE,
              () -> {
                assertEquals(expected(factory, false), updates(node, factory));
                Map<String, Long> offsets = offsets(node);
                assertEquals(newestEvents(node), offsets);
                return offsets;
              });
    }
    try (TestNode node = TestNode.start(config)) {
      assertEquals(
          offsetsBeforeRestart,
          offsets(node),
          "the offsets committed with the last groups are there after the restart");
      reportAll(
          node,
          factory,
          now.plusSeconds(2),
          i ->
              List.of(
                  event("b2-" + i, "b-" + i, "UpdateInitCompleted", false),
                  event("c1-" + i, "c-" + i, "UpdateInitStarted", null)));
      eventually(
          PATIENCE,
          () -> {
            assertEquals(expected(factory, true), updates(node, factory));
            assertEquals(newestEvents(node), offsets(node));
            return null;
          });
      var device =
          node.core()
              .deviceQueries()
              .device(factory, factory + "-dev-0")
              .toCompletableFuture()
              .get(15, TimeUnit.SECONDS)
              .orElseThrow();
      assertEquals("c-0", device.updateCorrelationId());
      assertEquals("in-progress", device.updateState());
      assertEquals(now.plusSeconds(2).toEpochMilli(), device.lastSeen().toEpochMilli());
    }
  }

  @Test
  void aGroupReadsWhatItsEarlierEnvelopesWrote() throws Exception {
    // The handler alone on a migrated database: the group is exactly these envelopes.
    try (Database database = Database.open(TestNode.config(TestDatabases.fresh(kind()), dataDir))) {
      SchemaMigration.migrate(database, List.of(SchemaMigration.CORE));
      String uuid = "grouped-" + UUID.randomUUID();
      Instant at = Instant.parse("2026-11-27T10:00:00Z");
      List<Device.Event> events =
          List.of(
              new Device.Registered(
                  uuid, "acme", uuid, "amd64-linux", null, "main", false, "0a", "PEM", true, at),
              new Device.UpdateEventsReported(
                  uuid,
                  "acme",
                  List.of(event("e1", "u-1", "UpdateInitStarted", null)),
                  at.plusSeconds(1)),
              new Device.UpdateEventsReported(
                  uuid,
                  "acme",
                  List.of(
                      event("e1", "u-1", "UpdateInitStarted", null),
                      event("e2", "u-1", "EcuInstallationCompleted", true),
                      event("f1", "u-2", "UpdateInitStarted", null)),
                  at.plusSeconds(2)),
              new Device.UpdateEventsReported(
                  uuid,
                  "acme",
                  List.of(event("f2", "u-2", "EcuDownloadCompleted", false)),
                  at.plusSeconds(3)));
      List<EventEnvelope<Device.Event>> group = new ArrayList<>();
      for (int i = 0; i < events.size(); i++) {
        group.add(
            EventEnvelope.create(
                Offset.sequence(i + 1), "Device|" + uuid, i + 1, events.get(i), at.toEpochMilli()));
      }
      PooledJdbcSession session = new PooledJdbcSession(database.dataSource());
      try {
        new DeviceProjection().process(session, group);
        session.commit();
      } finally {
        session.close();
      }

      DeviceQueries queries = new DeviceQueries(database, Runnable::run);
      var updates = queries.updates("acme", uuid).toCompletableFuture().get(15, TimeUnit.SECONDS);
      assertEquals(
          List.of("u-2", "u-1"),
          updates.stream().map(DeviceQueries.UpdateRow::correlationId).toList());
      var second =
          queries
              .update("acme", uuid, "u-2")
              .toCompletableFuture()
              .get(15, TimeUnit.SECONDS)
              .orElseThrow();
      assertEquals(List.of("f1", "f2"), second.events().stream().map(UpdateEvent::id).toList());
      assertEquals("failed", second.state());
      assertEquals("EcuDownloadCompleted", second.failedStep());
      var first =
          queries
              .update("acme", uuid, "u-1")
              .toCompletableFuture()
              .get(15, TimeUnit.SECONDS)
              .orElseThrow();
      assertEquals(List.of("e1", "e2"), first.events().stream().map(UpdateEvent::id).toList());
      assertEquals("succeeded", first.state());
      assertEquals(at.plusSeconds(1), first.startedAt());
      assertEquals(at.plusSeconds(2), first.updatedAt());
      var device =
          queries
              .device("acme", uuid)
              .toCompletableFuture()
              .get(15, TimeUnit.SECONDS)
              .orElseThrow();
      assertEquals("u-2", device.updateCorrelationId());
      assertEquals("failed", device.updateState());
      assertEquals(at.plusSeconds(3), device.lastSeen());
    }
  }
}

class DeviceProjectionGroupsOnH2Test extends DeviceProjectionGroupsTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.H2;
  }
}

class DeviceProjectionGroupsOnPostgresTest extends DeviceProjectionGroupsTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.POSTGRES;
  }
}
