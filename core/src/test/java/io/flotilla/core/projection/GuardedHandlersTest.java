package io.flotilla.core.projection;

import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.core.device.Device;
import io.flotilla.core.device.DeviceProjection;
import io.flotilla.core.persistence.Database;
import io.flotilla.core.persistence.PooledJdbcSession;
import io.flotilla.core.persistence.SchemaMigration;
import io.flotilla.core.testing.TestDatabases;
import io.flotilla.core.testing.TestNode;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.projection.ProjectionId;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.jdbc.javadsl.JdbcHandler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A grouped projection (the device read side) meets an event its table refuses: the first failure
 * cannot tell which event of the group it was, the retry names it, and once the operator skipped it
 * the group commits without it.
 */
abstract class GuardedHandlersTest {

  @TempDir Path dataDir;

  abstract TestDatabases.Kind kind();

  @Test
  void aFailingGroupIsNarrowedToItsEventAndPassesOnceTheOperatorSkipsIt() throws Exception {
    try (Database database = Database.open(TestNode.config(TestDatabases.fresh(kind()), dataDir))) {
      SchemaMigration.migrate(database, List.of(SchemaMigration.CORE));
      database.withConnection(
          c -> {
            try (Statement s = c.createStatement()) {
              s.execute(
                  "ALTER TABLE device_status ADD CONSTRAINT no_poison CHECK (name <> 'poison')");
            }
            return null;
          });
      Instant at = Instant.parse("2026-12-01T10:00:00Z");
      List<EventEnvelope<Device.Event>> group = new ArrayList<>();
      List<String> uuids = new ArrayList<>();
      for (String name : List.of("first", "poison", "third")) {
        String uuid = name + "-" + UUID.randomUUID();
        uuids.add(uuid);
        Device.Event registered =
            new Device.Registered(
                uuid, "acme", name, "amd64-linux", null, "main", false, "0a", "PEM", true, at);
        group.add(
            EventEnvelope.create(
                Offset.sequence(group.size() + 1),
                "Device|" + uuid,
                1,
                registered,
                at.toEpochMilli()));
      }
      ProjectionHealth health = new ProjectionHealth();
      ProjectionHealth.Tracker tracker = health.register(ProjectionId.of("devices", "device-0"));
      JdbcHandler<List<EventEnvelope<Device.Event>>, PooledJdbcSession> handler =
          GuardedHandlers.grouped(tracker, new DeviceProjection());

      assertThrows(Exception.class, () -> run(database, handler, group));
      assertTrue(tracker.isStuck());
      assertNull(
          tracker.status().stuck().orElseThrow().persistenceId(),
          "a whole group failed: the event is not known yet");

      assertThrows(Exception.class, () -> run(database, handler, group));
      ProjectionHealth.Stuck stuck = tracker.status().stuck().orElseThrow();
      assertEquals("Device|" + uuids.get(1), stuck.persistenceId());
      assertEquals(1, stuck.sequenceNr());
      assertEquals(2, stuck.offset());
      assertEquals(2, tracker.status().errors());

      new ProjectionAdmin(database, Runnable::run, health)
          .skip("devices", "device-0", stuck.persistenceId(), 1)
          .toCompletableFuture()
          .get(15, TimeUnit.SECONDS);
      run(database, handler, group);
      assertFalse(tracker.isStuck());
      assertEquals(List.of("first", "third"), names(database));
    }
  }

  private static void run(
      Database database,
      JdbcHandler<List<EventEnvelope<Device.Event>>, PooledJdbcSession> handler,
      List<EventEnvelope<Device.Event>> group)
      throws Exception {
    PooledJdbcSession session = new PooledJdbcSession(database.dataSource());
    try {
      handler.process(session, group);
      session.commit();
    } catch (Exception e) {
      session.rollback();
      throw e;
    } finally {
      session.close();
    }
  }

  private static List<String> names(Database database) throws Exception {
    return database.withConnection(
        c -> {
          List<String> names = new ArrayList<>();
          try (Statement s = c.createStatement();
              ResultSet r = s.executeQuery("SELECT name FROM device_status ORDER BY name")) {
            while (r.next()) {
              names.add(r.getString(1));
            }
          }
          return names;
        });
  }
}

class GuardedHandlersOnH2Test extends GuardedHandlersTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.H2;
  }
}

class GuardedHandlersOnPostgresTest extends GuardedHandlersTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.POSTGRES;
  }
}
