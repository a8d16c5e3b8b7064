package io.flotilla.gateway.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.builder.build.Build;
import io.flotilla.builder.build.BuildNumbers;
import io.flotilla.core.app.App;
import io.flotilla.core.auth.AdminTokens;
import io.flotilla.core.device.Device;
import io.flotilla.core.device.FleetConfig;
import io.flotilla.core.factory.Factory;
import io.flotilla.core.persistence.Database;
import io.flotilla.core.target.Targets;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A journal recorded by a released version ({@code
 * src/test/resources/journal/<version>/journal.json}): the journal, tag and snapshot rows exactly
 * as stored, the tokens whose secrets only the recording saw, each entity's journal as {@code GET
 * /api/v1/journal} rendered it, and the management API's answers once the read side had caught up.
 * {@link JournalRecorder} writes it, {@code JournalReplayTest} loads it into a fresh database.
 */
record RecordedJournal(
    String recordedFrom,
    Map<String, String> tokens,
    List<Row> journal,
    List<Snapshot> snapshots,
    Map<String, List<String>> rendered,
    Map<String, JsonNode> answers) {

  /** Every recorded version, oldest first; {@link JournalRecorder} writes the newest. */
  static final List<String> VERSIONS = List.of("v1", "v2", "v3", "v4");

  static final String NEWEST = VERSIONS.get(VERSIONS.size() - 1);
  static final Path SOURCE = Path.of("src/test/resources/journal/" + NEWEST + "/journal.json");

  /** The device uuids whose device authorizations v2 holds (approved, denied, waiting). */
  static final List<String> AUTHORIZED_CLIENTS =
      List.of(
          "5a1e0c1d-0000-4000-8000-000000000003",
          "5a1e0c1d-0000-4000-8000-000000000004",
          "5a1e0c1d-0000-4000-8000-000000000005");

  static final String FACTORY = "acme";

  /** Fixed, so that the persistence ids and the paths below stay the same in every recording. */
  static final String DEVICE = "5a1e0c1d-0000-4000-8000-000000000001";

  static final String DECOMMISSIONED_DEVICE = "5a1e0c1d-0000-4000-8000-000000000002";

  /**
   * Each entity type as stored in persistence ids, with the sealed interface its events implement.
   */
  static final Map<String, Class<?>> EVENT_TYPES = eventTypes();

  /** Management API reads whose answers the recording keeps; the replay must show the same. */
  static final List<String> READ_SIDE =
      List.of(
          "/api/v1/factories",
          "/api/v1/factories/acme/tokens",
          "/api/v1/factories/acme/targets",
          "/api/v1/factories/acme/targets?tag=main",
          "/api/v1/factories/acme/targets?tag=tour",
          "/api/v1/factories/acme/apps",
          "/api/v1/factories/acme/devices",
          "/api/v1/factories/acme/devices/" + DEVICE,
          "/api/v1/factories/acme/devices/" + DEVICE + "/updates",
          "/api/v1/factories/acme/devices/" + DEVICE + "/system-info",
          "/api/v1/factories/acme/builds");

  /** Reads answered by asking an entity. */
  static final List<String> ENTITY_READS =
      List.of(
          "/api/v1/factories/acme",
          "/api/v1/factories/acme/devices/" + DEVICE + "/config",
          "/api/v1/factories/acme/builds/1",
          "/api/v1/factories/acme/builds/2",
          "/api/v1/factories/acme/builds/3",
          "/api/v1/factories/acme/builds/1/log",
          "/api/v1/factories/acme/builds/3/log");

  /**
   * Fields computed from the clock at read time (a device is online while its last-seen is recent).
   */
  static final List<String> CLOCK_FIELDS = List.of("online", "offline");

  record Row(
      long ordering,
      String persistenceId,
      long sequenceNr,
      boolean deleted,
      String writer,
      long writeTimestamp,
      String adapterManifest,
      int serializerId,
      String manifest,
      String payload,
      Integer metaSerializerId,
      String metaManifest,
      String metaPayload,
      List<String> tags) {}

  record Snapshot(
      String persistenceId,
      long sequenceNr,
      long created,
      int serializerId,
      String manifest,
      String payload,
      Integer metaSerializerId,
      String metaManifest,
      String metaPayload) {}

  private static final ObjectMapper MAPPER =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private static Map<String, Class<?>> eventTypes() {
    Map<String, Class<?>> types = new LinkedHashMap<>();
    types.put(Factory.ENTITY_KEY.name(), Factory.Event.class);
    types.put(App.ENTITY_KEY.name(), App.Event.class);
    types.put(Targets.ENTITY_KEY.name(), Targets.Event.class);
    types.put(AdminTokens.ENTITY_KEY.name(), AdminTokens.Event.class);
    types.put(Device.ENTITY_KEY.name(), Device.Event.class);
    types.put(FleetConfig.ENTITY_KEY.name(), FleetConfig.Event.class);
    types.put(Build.ENTITY_KEY.name(), Build.Event.class);
    types.put(BuildNumbers.ENTITY_KEY.name(), BuildNumbers.Event.class);
    types.put(
        io.flotilla.core.rollout.Rollout.ENTITY_KEY.name(),
        io.flotilla.core.rollout.Rollout.Event.class);
    types.put(
        io.flotilla.core.webhook.Webhooks.ENTITY_KEY.name(),
        io.flotilla.core.webhook.Webhooks.Event.class);
    return types;
  }

  /**
   * The simple names of the event classes of each entity type, as the journal API's {@code type}
   * shows them.
   */
  static Map<String, TreeSet<String>> eventClasses() {
    Map<String, TreeSet<String>> classes = new LinkedHashMap<>();
    EVENT_TYPES.forEach(
        (type, eventInterface) -> {
          TreeSet<String> names = new TreeSet<>();
          for (Class<?> event : eventInterface.getPermittedSubclasses()) {
            names.add(event.getSimpleName());
          }
          classes.put(type, names);
        });
    return classes;
  }

  /** The event types each entity type's rendered journals hold. */
  Map<String, TreeSet<String>> renderedEventTypes() {
    Map<String, TreeSet<String>> seen = new LinkedHashMap<>();
    EVENT_TYPES.keySet().forEach(type -> seen.put(type, new TreeSet<>()));
    rendered.forEach(
        (persistenceId, lines) -> {
          String type = persistenceId.substring(0, persistenceId.indexOf('|'));
          for (String line : lines) {
            seen.computeIfAbsent(type, t -> new TreeSet<>()).add(read(line).get("type").asText());
          }
        });
    return seen;
  }

  static JsonNode read(String json) {
    try {
      return MAPPER.readTree(json);
    } catch (IOException e) {
      throw new IllegalArgumentException("not JSON: " + json, e);
    }
  }

  /**
   * An answer as the recording keeps it: a build log as its text, JSON without the fields that
   * depend on when it was read.
   */
  static JsonNode answer(String path, String body) {
    return path.endsWith("/log")
        ? MAPPER.getNodeFactory().textNode(body)
        : withoutClockFields(read(body));
  }

  /**
   * {@code now} says everything {@code recorded} says: every recorded field with an equal value,
   * arrays of the same length element by element. A field added since the recording is allowed; one
   * that is gone or changed is not.
   */
  static void assertCovers(JsonNode recorded, JsonNode now, String where) {
    if (recorded instanceof ObjectNode object) {
      assertTrue(
          now != null && now.isObject(),
          where + ": expected an object like " + recorded + " but was " + now);
      object
          .fields()
          .forEachRemaining(
              field ->
                  assertCovers(
                      field.getValue(), now.get(field.getKey()), where + "." + field.getKey()));
    } else if (recorded.isArray()) {
      assertTrue(
          now != null && now.isArray() && now.size() == recorded.size(),
          where + ": expected " + recorded + " but was " + now);
      for (int i = 0; i < recorded.size(); i++) {
        assertCovers(recorded.get(i), now.get(i), where + "[" + i + "]");
      }
    } else {
      assertEquals(recorded, now, where);
    }
  }

  /** The answer without the fields that depend on when it was read. */
  static JsonNode withoutClockFields(JsonNode answer) {
    JsonNode copy = answer.deepCopy();
    strip(copy);
    return copy;
  }

  private static void strip(JsonNode node) {
    if (node instanceof ObjectNode object) {
      object.remove(CLOCK_FIELDS);
    }
    for (Iterator<JsonNode> children = node.elements(); children.hasNext(); ) {
      strip(children.next());
    }
  }

  static RecordedJournal load(String version) throws IOException {
    String resource = "/journal/" + version + "/journal.json";
    try (InputStream in = RecordedJournal.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException(
            resource + " is missing: record it with JournalRecorder (docs/development.md)");
      }
      return MAPPER.readValue(in, RecordedJournal.class);
    }
  }

  void save(Path file) throws IOException {
    Files.createDirectories(file.getParent());
    MAPPER.writeValue(file.toFile(), this);
  }

  /** The journal, tag and snapshot rows of {@code database}, as stored. */
  static List<Row> journalRows(Database database) throws SQLException {
    return database.withConnection(
        connection -> {
          Map<Long, List<String>> tags = new HashMap<>();
          try (Statement statement = connection.createStatement();
              ResultSet rows =
                  statement.executeQuery(
                      "SELECT \"event_id\", \"tag\" FROM \"event_tag\" ORDER BY \"event_id\", \"tag\"")) {
            while (rows.next()) {
              tags.computeIfAbsent(rows.getLong(1), id -> new ArrayList<>()).add(rows.getString(2));
            }
          }
          List<Row> journal = new ArrayList<>();
          try (Statement statement = connection.createStatement();
              ResultSet rows =
                  statement.executeQuery(
                      "SELECT \"ordering\", \"persistence_id\", \"sequence_number\", \"deleted\", \"writer\", \"write_timestamp\", \"adapter_manifest\","
                          + " \"event_ser_id\", \"event_ser_manifest\", \"event_payload\", \"meta_ser_id\", \"meta_ser_manifest\", \"meta_payload\""
                          + " FROM \"event_journal\" ORDER BY \"ordering\"")) {
            while (rows.next()) {
              long ordering = rows.getLong(1);
              journal.add(
                  new Row(
                      ordering,
                      rows.getString(2),
                      rows.getLong(3),
                      rows.getBoolean(4),
                      rows.getString(5),
                      rows.getLong(6),
                      rows.getString(7),
                      rows.getInt(8),
                      rows.getString(9),
                      base64(rows.getBytes(10)),
                      (Integer) rows.getObject(11),
                      rows.getString(12),
                      base64(rows.getBytes(13)),
                      List.copyOf(tags.getOrDefault(ordering, List.of()))));
            }
          }
          return journal;
        });
  }

  static List<Snapshot> snapshotRows(Database database) throws SQLException {
    return database.withConnection(
        connection -> {
          List<Snapshot> snapshots = new ArrayList<>();
          try (Statement statement = connection.createStatement();
              ResultSet rows =
                  statement.executeQuery(
                      "SELECT \"persistence_id\", \"sequence_number\", \"created\", \"snapshot_ser_id\", \"snapshot_ser_manifest\", \"snapshot_payload\","
                          + " \"meta_ser_id\", \"meta_ser_manifest\", \"meta_payload\" FROM \"snapshot\" ORDER BY \"persistence_id\", \"sequence_number\"")) {
            while (rows.next()) {
              snapshots.add(
                  new Snapshot(
                      rows.getString(1),
                      rows.getLong(2),
                      rows.getLong(3),
                      rows.getInt(4),
                      rows.getString(5),
                      base64(rows.getBytes(6)),
                      (Integer) rows.getObject(7),
                      rows.getString(8),
                      base64(rows.getBytes(9))));
            }
          }
          return snapshots;
        });
  }

  /**
   * Writes the recorded rows into {@code database} (its schema applied, its journal empty) with
   * their own orderings, then moves the journal's ordering sequence past them so that new events
   * follow.
   */
  void insertInto(Database database) throws SQLException {
    database.withConnection(
        connection -> {
          connection.setAutoCommit(false);
          try (PreparedStatement event =
                  connection.prepareStatement(
                      "INSERT INTO \"event_journal\" (\"ordering\", \"persistence_id\", \"sequence_number\", \"deleted\", \"writer\", \"write_timestamp\","
                          + " \"adapter_manifest\", \"event_ser_id\", \"event_ser_manifest\", \"event_payload\", \"meta_ser_id\", \"meta_ser_manifest\", \"meta_payload\")"
                          + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
              PreparedStatement tag =
                  connection.prepareStatement(
                      "INSERT INTO \"event_tag\" (\"event_id\", \"tag\") VALUES (?, ?)");
              PreparedStatement snapshot =
                  connection.prepareStatement(
                      "INSERT INTO \"snapshot\" (\"persistence_id\", \"sequence_number\", \"created\", \"snapshot_ser_id\", \"snapshot_ser_manifest\","
                          + " \"snapshot_payload\", \"meta_ser_id\", \"meta_ser_manifest\", \"meta_payload\") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            long last = 0;
            for (Row row : journal) {
              event.setLong(1, row.ordering());
              event.setString(2, row.persistenceId());
              event.setLong(3, row.sequenceNr());
              event.setBoolean(4, row.deleted());
              event.setString(5, row.writer());
              event.setLong(6, row.writeTimestamp());
              event.setString(7, row.adapterManifest());
              event.setInt(8, row.serializerId());
              event.setString(9, row.manifest());
              event.setBytes(10, bytes(row.payload()));
              setInteger(event, 11, row.metaSerializerId());
              event.setString(12, row.metaManifest());
              setBytes(event, 13, row.metaPayload());
              event.addBatch();
              for (String name : row.tags()) {
                tag.setLong(1, row.ordering());
                tag.setString(2, name);
                tag.addBatch();
              }
              last = Math.max(last, row.ordering());
            }
            event.executeBatch();
            tag.executeBatch();
            for (Snapshot row : snapshots) {
              snapshot.setString(1, row.persistenceId());
              snapshot.setLong(2, row.sequenceNr());
              snapshot.setLong(3, row.created());
              snapshot.setInt(4, row.serializerId());
              snapshot.setString(5, row.manifest());
              snapshot.setBytes(6, bytes(row.payload()));
              setInteger(snapshot, 7, row.metaSerializerId());
              snapshot.setString(8, row.metaManifest());
              setBytes(snapshot, 9, row.metaPayload());
              snapshot.addBatch();
            }
            snapshot.executeBatch();
            try (Statement statement = connection.createStatement()) {
              if (database.dialect().equals("h2")) {
                statement.execute(
                    "ALTER TABLE \"event_journal\" ALTER COLUMN \"ordering\" RESTART WITH "
                        + (last + 1));
              } else {
                statement.execute(
                    "SELECT setval(pg_get_serial_sequence('event_journal', 'ordering'), "
                        + last
                        + ")");
              }
            }
            connection.commit();
          } catch (SQLException e) {
            connection.rollback();
            throw e;
          } finally {
            connection.setAutoCommit(true);
          }
          return null;
        });
  }

  private static String base64(byte[] bytes) {
    return bytes == null ? null : Base64.getEncoder().encodeToString(bytes);
  }

  private static byte[] bytes(String base64) {
    return Base64.getDecoder().decode(base64);
  }

  private static void setInteger(PreparedStatement statement, int index, Integer value)
      throws SQLException {
    if (value == null) {
      statement.setNull(index, Types.INTEGER);
    } else {
      statement.setInt(index, value);
    }
  }

  private static void setBytes(PreparedStatement statement, int index, String base64)
      throws SQLException {
    if (base64 == null) {
      statement.setNull(index, Types.BINARY);
    } else {
      statement.setBytes(index, bytes(base64));
    }
  }
}
