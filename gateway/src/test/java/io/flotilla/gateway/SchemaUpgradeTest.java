package io.flotilla.gateway;

import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.Config;
import io.flotilla.core.persistence.Database;
import io.flotilla.core.testing.TestDatabases;
import io.flotilla.gateway.testing.TestServers;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A database made by the last version before Flyway (its schema files are kept as test resources)
 * is taken over by the node's start: every row stays, the repairs the old schema ran at each start
 * are made once, and Flyway's history shows the baseline and then each module's migrations.
 */
abstract class SchemaUpgradeTest {

  private static final Instant WHEN = Instant.parse("2026-11-01T10:00:00Z");
  private static final byte[] EVENT = {1, 2, 3, 4, 5};
  private static final byte[] SNAPSHOT = {9, 8, 7};

  @TempDir Path dataDir;

  /**
   * The database settings for {@link TestServers}; null for the embedded H2 file under the data
   * dir.
   */
  abstract Config database();

  @Test
  void aDatabaseOfThePreFlywayVersionStartsWithEveryRowAndAVersionedHistory() throws Exception {
    Config database = database();
    Config config = TestServers.config(dataDir, database);
    try (Database old = Database.open(config)) {
      String script = preFlywaySchema(old.dialect());
      old.withConnection(
          connection -> {
            run(connection, script);
            writeRows(connection);
            return null;
          });
    }

    try (FlotillaServer server = TestServers.start(dataDir, database)) {
      server
          .core()
          .database()
          .withConnection(
              connection -> {
                assertRowsKept(connection);
                assertPhantomUpdatesRepaired(connection);
                assertEquals(
                    List.of(
                        "0 schema made before Flyway",
                        "1.1 core tables",
                        "1.2 builds",
                        "2.1 labels and rollouts",
                        "3.1 webhooks"),
                    history(connection));
                return null;
              });
    }
  }

  private static String preFlywaySchema(String dialect) throws IOException {
    String resource = "pre-flyway/" + dialect + ".sql";
    try (InputStream in = SchemaUpgradeTest.class.getClassLoader().getResourceAsStream(resource)) {
      assertNotNull(in, resource);
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static void run(Connection connection, String script) throws SQLException {
    // That version ran its statements one by one, split on the semicolons that end a line.
    StringBuilder current = new StringBuilder();
    try (Statement statement = connection.createStatement()) {
      for (String line : script.split("\n")) {
        if (line.strip().startsWith("--")) {
          continue;
        }
        current.append(line).append('\n');
        if (line.strip().endsWith(";")) {
          String sql = current.toString().strip();
          statement.execute(sql.substring(0, sql.length() - 1));
          current.setLength(0);
        }
      }
    }
  }

  private static void writeRows(Connection connection) throws SQLException {
    try (PreparedStatement journal =
        connection.prepareStatement(
            "INSERT INTO \"event_journal\" (\"persistence_id\", \"sequence_number\", \"deleted\", \"writer\", \"write_timestamp\", \"adapter_manifest\", \"event_ser_id\", \"event_ser_manifest\", \"event_payload\")"
                + " VALUES ('Old|one', 1, false, 'w', 1, '', 33, 'io.flotilla.Old', ?)")) {
      journal.setBytes(1, EVENT);
      journal.executeUpdate();
    }
    try (PreparedStatement snapshot =
        connection.prepareStatement(
            "INSERT INTO \"snapshot\" (\"persistence_id\", \"sequence_number\", \"created\", \"snapshot_ser_id\", \"snapshot_ser_manifest\", \"snapshot_payload\")"
                + " VALUES ('Old|one', 1, 2, 33, 'io.flotilla.OldState', ?)")) {
      snapshot.setBytes(1, SNAPSHOT);
      snapshot.executeUpdate();
    }
    try (Statement statement = connection.createStatement()) {
      statement.execute(
          "INSERT INTO \"pekko_projection_offset_store\" (\"projection_name\", \"projection_key\", \"current_offset\", \"manifest\", \"mergeable\", \"last_updated\")"
              + " VALUES ('old-projection', 'key', '42', 'SEQ', false, 3)");
    }
    try (PreparedStatement factory =
        connection.prepareStatement(
            "INSERT INTO factories VALUES ('acme', 'amd64-linux', '{\"main\":[\"main\"]}', ?)")) {
      factory.setTimestamp(1, Timestamp.from(WHEN));
      factory.executeUpdate();
    }
    try (PreparedStatement target =
        connection.prepareStatement(
            "INSERT INTO targets (factory, name, hardware_id, version, tags, apps, containers_sha, created_at) VALUES ('acme', 'intel-corei7-64-lmp-7', 'intel-corei7-64', 7, '[\"main\"]', '{}', NULL, ?)")) {
      target.setTimestamp(1, Timestamp.from(WHEN));
      target.executeUpdate();
    }
    try (PreparedStatement build =
        connection.prepareStatement(
            "INSERT INTO builds (factory, number, status, commit_sha, branch, tag, requested_by, reason, created_at, finished_at) VALUES ('acme', 7, 'succeeded', 'abc123', 'main', 'main', 'alice', NULL, ?, ?)")) {
      build.setTimestamp(1, Timestamp.from(WHEN));
      build.setTimestamp(2, Timestamp.from(WHEN.plusSeconds(60)));
      build.executeUpdate();
    }
    // A device whose newest "update" is a fioup metadata event, as projections before
    // Device.isMetadataEvent made.
    try (PreparedStatement device =
        connection.prepareStatement(
            "INSERT INTO device_status (uuid, factory, name, production, apps, update_correlation_id, update_state, created_at) VALUES ('d-1', 'acme', 'one', false, '[]', 'meta-01KC', 'in-progress', ?)")) {
      device.setTimestamp(1, Timestamp.from(WHEN));
      device.executeUpdate();
    }
    for (String[] update :
        List.of(
            new String[] {"u-1", "succeeded", "0"},
            new String[] {"meta-01KC", "in-progress", "5"})) {
      try (PreparedStatement insert =
          connection.prepareStatement(
              "INSERT INTO device_updates (uuid, correlation_id, factory, state, events, started_at, updated_at) VALUES ('d-1', ?, 'acme', ?, '[]', ?, ?)")) {
        insert.setString(1, update[0]);
        insert.setString(2, update[1]);
        insert.setTimestamp(3, Timestamp.from(WHEN.plusSeconds(Long.parseLong(update[2]))));
        insert.setTimestamp(4, Timestamp.from(WHEN.plusSeconds(Long.parseLong(update[2]))));
        insert.executeUpdate();
      }
    }
  }

  private static void assertRowsKept(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      try (ResultSet rows =
          statement.executeQuery(
              "SELECT \"event_ser_manifest\", \"event_payload\" FROM \"event_journal\" WHERE \"persistence_id\" = 'Old|one'")) {
        assertTrue(rows.next(), "the journal row");
        assertEquals("io.flotilla.Old", rows.getString(1));
        assertArrayEquals(EVENT, rows.getBytes(2));
      }
      try (ResultSet rows =
          statement.executeQuery(
              "SELECT \"snapshot_payload\" FROM \"snapshot\" WHERE \"persistence_id\" = 'Old|one'")) {
        assertTrue(rows.next(), "the snapshot");
        assertArrayEquals(SNAPSHOT, rows.getBytes(1));
      }
      try (ResultSet rows =
          statement.executeQuery(
              "SELECT \"current_offset\" FROM \"pekko_projection_offset_store\" WHERE \"projection_name\" = 'old-projection'")) {
        assertTrue(rows.next(), "the projection offset");
        assertEquals("42", rows.getString(1));
      }
      try (ResultSet rows =
          statement.executeQuery(
              "SELECT branch_tags, created_at FROM factories WHERE name = 'acme'")) {
        assertTrue(rows.next(), "the factory");
        assertEquals("{\"main\":[\"main\"]}", rows.getString(1));
        assertEquals(WHEN, rows.getTimestamp(2).toInstant());
      }
      try (ResultSet rows =
          statement.executeQuery(
              "SELECT version FROM targets WHERE factory = 'acme' AND name = 'intel-corei7-64-lmp-7'")) {
        assertTrue(rows.next(), "the target");
        assertEquals(7, rows.getLong(1));
      }
      try (ResultSet rows =
          statement.executeQuery(
              "SELECT status, requested_by, finished_at FROM builds WHERE factory = 'acme' AND number = 7")) {
        assertTrue(rows.next(), "the build");
        assertEquals("succeeded", rows.getString(1));
        assertEquals("alice", rows.getString(2));
        assertEquals(WHEN.plusSeconds(60), rows.getTimestamp(3).toInstant());
      }
    }
  }

  private static void assertPhantomUpdatesRepaired(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      try (ResultSet rows =
          statement.executeQuery("SELECT correlation_id FROM device_updates WHERE uuid = 'd-1'")) {
        assertTrue(rows.next());
        assertEquals("u-1", rows.getString(1));
        assertFalse(rows.next(), "the metadata event's update is gone");
      }
      try (ResultSet rows =
          statement.executeQuery(
              "SELECT update_correlation_id, update_state FROM device_status WHERE uuid = 'd-1'")) {
        assertTrue(rows.next());
        assertEquals("u-1", rows.getString(1));
        assertEquals("succeeded", rows.getString(2));
      }
    }
  }

  private static List<String> history(Connection connection) throws SQLException {
    List<String> rows = new ArrayList<>();
    try (Statement statement = connection.createStatement();
        ResultSet result =
            statement.executeQuery(
                "SELECT \"version\", \"description\", \"success\" FROM \"flyway_schema_history\" WHERE \"version\" IS NOT NULL ORDER BY \"installed_rank\"")) {
      while (result.next()) {
        assertTrue(result.getBoolean(3), result.getString(1));
        rows.add(result.getString(1) + " " + result.getString(2));
      }
    }
    return rows;
  }
}

class SchemaUpgradeOnH2Test extends SchemaUpgradeTest {
  @Override
  Config database() {
    return null;
  }
}

class SchemaUpgradeOnPostgresTest extends SchemaUpgradeTest {
  @Override
  Config database() {
    return TestDatabases.fresh(TestDatabases.Kind.POSTGRES);
  }
}
