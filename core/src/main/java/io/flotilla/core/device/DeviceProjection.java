package io.flotilla.core.device;

import static io.flotilla.core.ReadSideSupport.timestamp;
import static io.flotilla.core.ReadSideSupport.upsert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.core.ReadSideSupport;
import io.flotilla.core.persistence.Database;
import io.flotilla.core.persistence.PooledJdbcSession;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.jdbc.javadsl.JdbcHandler;

/**
 * Keeps {@code device_status} (one row per device), {@code device_updates} (one row per correlation
 * id, with every event of that update in the device's own wire shape) and {@code
 * device_system_info} (the last inventory of each kind). Envelopes arrive in groups, each group one
 * transaction with the projection's offset; within it they are applied in journal order, so a later
 * event of the same device or update reads what an earlier one of the group wrote.
 */
public final class DeviceProjection
    extends JdbcHandler<List<EventEnvelope<Device.Event>>, PooledJdbcSession> {

  public static final String NAME = "devices";

  public static void start(ActorSystem<?> system, Database database, DeviceSettings settings) {
    ReadSideSupport.startSlicedProjection(
        system, database, NAME, Device.TAG_PREFIX, settings.slices(), DeviceProjection::new);
  }

  @Override
  public void process(PooledJdbcSession session, List<EventEnvelope<Device.Event>> envelopes)
      throws Exception {
    session.withConnection(
        connection -> {
          for (EventEnvelope<Device.Event> envelope : envelopes) {
            apply(connection, envelope.event());
          }
          return null;
        });
  }

  private static void apply(Connection connection, Device.Event event) throws SQLException {
    if (event instanceof Device.Registered r) {
      upsert(
          connection,
          "UPDATE device_status SET factory = ?, name = ?, tag = ?, device_group = ?, hardware_id = ?, production = ?, last_seen = ?, created_at = ? WHERE uuid = ?",
          "INSERT INTO device_status (factory, name, tag, device_group, hardware_id, production, last_seen, created_at, uuid, apps) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '')",
          s -> {
            s.setString(1, r.factory());
            s.setString(2, r.name());
            s.setString(3, r.tag());
            s.setString(4, r.group());
            s.setString(5, r.hardwareId());
            s.setBoolean(6, r.production());
            s.setTimestamp(7, r.firstContact() ? timestamp(r.at()) : null);
            s.setTimestamp(8, timestamp(r.at()));
            s.setString(9, r.uuid());
          });
    } else if (event instanceof Device.StatusReported s) {
      update(
          connection,
          "UPDATE device_status SET tag = ?, target_name = ?, apps = ? WHERE uuid = ?",
          s.tag(),
          s.targetName(),
          String.join(",", s.apps()),
          s.uuid());
    } else if (event instanceof Device.UpdateEventsReported reported) {
      recordUpdateEvents(connection, reported);
    } else if (event instanceof Device.SystemInfoReported reported) {
      upsert(
          connection,
          "UPDATE device_system_info SET content = ?, reported_at = ? WHERE uuid = ? AND kind = ?",
          "INSERT INTO device_system_info (content, reported_at, uuid, kind) VALUES (?, ?, ?, ?)",
          s -> {
            s.setString(1, reported.content());
            s.setTimestamp(2, timestamp(reported.at()));
            s.setString(3, reported.uuid());
            s.setString(4, reported.kind().name());
          });
    } else if (event instanceof Device.DetailsChanged changed) {
      update(
          connection,
          "UPDATE device_status SET name = ?, device_group = ? WHERE uuid = ?",
          changed.name(),
          changed.group(),
          changed.uuid());
    } else if (event instanceof Device.LabelsSet set) {
      try (PreparedStatement s =
          connection.prepareStatement("DELETE FROM device_labels WHERE uuid = ?")) {
        s.setString(1, set.uuid());
        s.executeUpdate();
      }
      try (PreparedStatement s =
          connection.prepareStatement(
              "INSERT INTO device_labels (uuid, label_key, label_value) VALUES (?, ?, ?)")) {
        for (Map.Entry<String, String> label : set.labels().entrySet()) {
          s.setString(1, set.uuid());
          s.setString(2, label.getKey());
          s.setString(3, label.getValue());
          s.addBatch();
        }
        s.executeBatch();
      }
    } else if (event instanceof Device.AppsStatesReported reported) {
      try (PreparedStatement s =
          connection.prepareStatement("UPDATE device_status SET apps_healthy = ? WHERE uuid = ?")) {
        Boolean healthy = appsHealthy(reported.appsStates().appsJson());
        if (healthy == null) {
          s.setNull(1, java.sql.Types.BOOLEAN);
        } else {
          s.setBoolean(1, healthy);
        }
        s.setString(2, reported.uuid());
        s.executeUpdate();
      }
    } else if (event instanceof Device.Decommissioned d) {
      try (PreparedStatement s =
          connection.prepareStatement(
              "UPDATE device_status SET decommissioned_at = ? WHERE uuid = ?")) {
        s.setTimestamp(1, timestamp(d.at()));
        s.setString(2, d.uuid());
        s.executeUpdate();
      }
    }
    if (contactedByDevice(event)) {
      touchLastSeen(connection, event.uuid(), event.at());
    }
  }

  private static final com.fasterxml.jackson.databind.ObjectMapper APPS_JSON =
      new com.fasterxml.jackson.databind.ObjectMapper();

  /**
   * False when any app of the report is not {@code healthy} (ours and fioup's states: {@code
   * healthy}, {@code unhealthy}), true when every app is, null for a report without apps.
   */
  static Boolean appsHealthy(String appsJson) {
    JsonNode apps;
    try {
      apps = APPS_JSON.readTree(appsJson);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      return false;
    }
    if (apps == null || !apps.isObject() || apps.isEmpty()) {
      return null;
    }
    for (JsonNode app : apps) {
      if (!io.flotilla.protocol.device.AppsStates.HEALTHY.equals(app.path("state").asText())) {
        return false;
      }
    }
    return true;
  }

  private static void touchLastSeen(Connection connection, String uuid, Instant at)
      throws SQLException {
    try (PreparedStatement s =
        connection.prepareStatement(
            "UPDATE device_status SET last_seen = ? WHERE uuid = ? AND (last_seen IS NULL OR last_seen < ?)")) {
      s.setTimestamp(1, timestamp(at));
      s.setString(2, uuid);
      s.setTimestamp(3, timestamp(at));
      s.executeUpdate();
    }
  }

  /**
   * UpdateEventsReported is not listed: its own device_status update sets last_seen, one statement
   * instead of two.
   */
  private static boolean contactedByDevice(Device.Event event) {
    return event instanceof Device.StatusReported
        || event instanceof Device.Seen
        || event instanceof Device.AppsStatesReported
        || event instanceof Device.SystemInfoReported
        || (event instanceof Device.ConfigChanged changed && changed.byDevice());
  }

  private static void update(Connection connection, String sql, String... values)
      throws SQLException {
    try (PreparedStatement s = connection.prepareStatement(sql)) {
      for (int i = 0; i < values.length; i++) {
        s.setString(i + 1, values[i]);
      }
      s.executeUpdate();
    }
  }

  private static void recordUpdateEvents(
      Connection connection, Device.UpdateEventsReported reported) throws SQLException {
    Map<String, List<Device.UpdateEvent>> byUpdate = new LinkedHashMap<>();
    for (Device.UpdateEvent e : reported.events()) {
      if (!Device.isMetadataEvent(e)) {
        byUpdate.computeIfAbsent(e.correlationId(), k -> new ArrayList<>()).add(e);
      }
    }
    if (byUpdate.isEmpty()) {
      // only metadata events (Device.isMetadataEvent): a contact, not an update
      touchLastSeen(connection, reported.uuid(), reported.at());
      return;
    }
    String latest = null;
    Device.UpdateState latestState = null;
    for (Map.Entry<String, List<Device.UpdateEvent>> entry : byUpdate.entrySet()) {
      StoredUpdate stored = load(connection, reported.uuid(), entry.getKey());
      List<Device.UpdateEvent> events =
          new ArrayList<>(stored == null ? List.of() : stored.events());
      Set<String> ids = new HashSet<>();
      events.forEach(e -> ids.add(e.id()));
      entry.getValue().stream().filter(e -> ids.add(e.id())).forEach(events::add);
      Device.Outcome outcome = Device.outcome(events);
      Device.UpdateEvent last = events.get(events.size() - 1);
      String targetName =
          last.targetName() != null
              ? last.targetName()
              : stored == null ? null : stored.targetName();
      String version =
          last.version() != null ? last.version() : stored == null ? null : stored.version();
      Instant startedAt = stored == null ? reported.at() : stored.startedAt();
      // The SELECT above already told whether the row exists (this projection is its only writer):
      // one statement.
      String sql =
          stored == null
              ? "INSERT INTO device_updates (factory, target_name, version, state, failed_step, events, started_at, updated_at, uuid, correlation_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
              : "UPDATE device_updates SET factory = ?, target_name = ?, version = ?, state = ?, failed_step = ?, events = ?, started_at = ?, updated_at = ? WHERE uuid = ? AND correlation_id = ?";
      try (PreparedStatement s = connection.prepareStatement(sql)) {
        s.setString(1, reported.factory());
        s.setString(2, targetName);
        s.setString(3, version);
        s.setString(4, outcome.state().wireName());
        s.setString(5, outcome.failedStep());
        s.setString(6, DeviceEventsJson.write(events));
        s.setTimestamp(7, timestamp(startedAt));
        s.setTimestamp(8, timestamp(reported.at()));
        s.setString(9, reported.uuid());
        s.setString(10, entry.getKey());
        s.executeUpdate();
      }
      latest = entry.getKey();
      latestState = outcome.state();
    }
    try (PreparedStatement s =
        connection.prepareStatement(
            "UPDATE device_status SET update_correlation_id = ?, update_state = ?,"
                + " last_seen = CASE WHEN last_seen IS NULL OR last_seen < ? THEN ? ELSE last_seen END WHERE uuid = ?")) {
      s.setString(1, latest);
      s.setString(2, latestState.wireName());
      s.setTimestamp(3, timestamp(reported.at()));
      s.setTimestamp(4, timestamp(reported.at()));
      s.setString(5, reported.uuid());
      s.executeUpdate();
    }
  }

  private record StoredUpdate(
      String targetName, String version, List<Device.UpdateEvent> events, Instant startedAt) {}

  private static StoredUpdate load(Connection connection, String uuid, String correlationId)
      throws SQLException {
    try (PreparedStatement s =
        connection.prepareStatement(
            "SELECT target_name, version, events, started_at FROM device_updates WHERE uuid = ? AND correlation_id = ?")) {
      s.setString(1, uuid);
      s.setString(2, correlationId);
      try (ResultSet rows = s.executeQuery()) {
        if (!rows.next()) {
          return null;
        }
        return new StoredUpdate(
            rows.getString(1),
            rows.getString(2),
            DeviceEventsJson.read(rows.getString(3)),
            ReadSideSupport.instant(rows.getTimestamp(4)));
      }
    }
  }

  /**
   * Update events as the device sent them ({@code POST /events} element shape), for the read side
   * and the API.
   */
  public static final class DeviceEventsJson {

    private static final com.fasterxml.jackson.databind.ObjectMapper MAPPER =
        new com.fasterxml.jackson.databind.ObjectMapper();

    private DeviceEventsJson() {}

    public static String write(List<Device.UpdateEvent> events) {
      ArrayNode array = MAPPER.createArrayNode();
      for (Device.UpdateEvent e : events) {
        ObjectNode node = array.addObject();
        node.put("id", e.id());
        node.put("deviceTime", e.deviceTime());
        node.putObject("eventType").put("id", e.type()).put("version", e.typeVersion());
        ObjectNode body = node.putObject("event");
        body.put("correlationId", e.correlationId());
        if (e.success() == null) {
          body.putNull("success");
        } else {
          body.put("success", e.success());
        }
        body.put("targetName", e.targetName());
        body.put("version", e.version());
        body.put("details", e.details());
      }
      return array.toString();
    }

    public static List<Device.UpdateEvent> read(String json) {
      try {
        List<Device.UpdateEvent> events = new ArrayList<>();
        for (JsonNode node : MAPPER.readTree(json)) {
          JsonNode body = node.path("event");
          JsonNode success = body.path("success");
          events.add(
              new Device.UpdateEvent(
                  node.path("id").asText(),
                  node.path("deviceTime").asText(null),
                  node.path("eventType").path("id").asText(),
                  node.path("eventType").path("version").asInt(),
                  body.path("correlationId").asText(),
                  success.isBoolean() ? success.asBoolean() : null,
                  body.path("targetName").asText(null),
                  body.path("version").asText(null),
                  body.path("details").asText(null)));
        }
        return events;
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalStateException(
            "device_updates.events holds invalid JSON: " + e.getOriginalMessage(), e);
      }
    }
  }
}
