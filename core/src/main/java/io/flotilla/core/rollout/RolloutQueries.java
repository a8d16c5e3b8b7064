package io.flotilla.core.rollout;

import static io.flotilla.core.ReadSideSupport.instant;

import io.flotilla.core.ReadSideSupport;
import io.flotilla.core.persistence.Database;
import io.flotilla.protocol.Json;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * Read-side queries for rollouts: the {@code rollouts} table, and the devices of a rollout's tag
 * with what they reported about its target. A rollout decides from these, one query per evaluation
 * whatever the number of devices, never by asking device entities.
 */
public final class RolloutQueries {

  /**
   * A device of the tag. {@code updated}: reported the target's install completed, runs it, and its
   * apps were not reported unhealthy; {@code failed}: an update to the target failed, or it runs
   * the target with unhealthy apps; {@code failedAt}: when the server received the first failure.
   */
  public record Member(
      String uuid,
      String group,
      Map<String, String> labels,
      boolean updated,
      boolean failed,
      Instant failedAt) {}

  /** A row of {@code rollouts}. */
  public record RolloutRow(
      String factory,
      String id,
      String tag,
      long version,
      String status,
      long revision,
      Gate gate,
      String createdBy,
      Instant createdAt,
      Instant updatedAt) {}

  static Gate readGate(String json) {
    try {
      return Json.mapper().readValue(json, Gate.class);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(
          "rollouts.gate holds invalid JSON: " + e.getOriginalMessage(), e);
    }
  }

  static String writeGate(Gate gate) {
    try {
      return Json.mapper().writeValueAsString(gate);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("a gate always serializes", e);
    }
  }

  private final Database database;
  private final Executor blocking;

  public RolloutQueries(Database database, Executor blocking) {
    this.database = database;
    this.blocking = blocking;
  }

  /**
   * The name pattern of every target of {@code version}: names are {@code <hardwareId>-<version>}.
   */
  static String targetNamesLike(long version) {
    return "%-" + version;
  }

  public CompletionStage<List<Member>> members(
      String factory, String tag, long version, boolean withLabels) {
    return database.query(
        blocking,
        connection -> {
          Map<String, Map<String, String>> labels = new HashMap<>();
          if (withLabels) {
            try (PreparedStatement s =
                connection.prepareStatement(
                    "SELECT l.uuid, l.label_key, l.label_value FROM device_labels l"
                        + " JOIN device_status d ON d.uuid = l.uuid WHERE d.factory = ? AND d.tag = ?")) {
              s.setString(1, factory);
              s.setString(2, tag);
              try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                  labels
                      .computeIfAbsent(r.getString(1), u -> new TreeMap<>())
                      .put(r.getString(2), r.getString(3));
                }
              }
            }
          }
          String like = targetNamesLike(version);
          List<Member> members = new ArrayList<>();
          try (PreparedStatement s =
              connection.prepareStatement(
                  "SELECT d.uuid, d.device_group, d.target_name, d.apps_healthy, u.ok, u.bad, u.bad_at"
                      + " FROM device_status d LEFT JOIN ("
                      + "SELECT uuid, MAX(CASE WHEN state = 'succeeded' THEN 1 ELSE 0 END) AS ok,"
                      + " MAX(CASE WHEN state = 'failed' THEN 1 ELSE 0 END) AS bad,"
                      + " MIN(CASE WHEN state = 'failed' THEN updated_at END) AS bad_at"
                      + " FROM device_updates WHERE factory = ? AND target_name LIKE ? GROUP BY uuid"
                      + ") u ON u.uuid = d.uuid"
                      + " WHERE d.factory = ? AND d.tag = ? AND d.decommissioned_at IS NULL")) {
            s.setString(1, factory);
            s.setString(2, like);
            s.setString(3, factory);
            s.setString(4, tag);
            try (ResultSet r = s.executeQuery()) {
              String suffix = like.substring(1);
              while (r.next()) {
                String uuid = r.getString(1);
                String running = r.getString(3);
                boolean runsIt = running != null && running.endsWith(suffix);
                boolean healthyKnown = r.getObject(4) != null;
                boolean healthy = r.getBoolean(4);
                boolean ok = r.getInt(5) == 1;
                boolean bad = r.getInt(6) == 1;
                boolean unhealthy = runsIt && healthyKnown && !healthy;
                members.add(
                    new Member(
                        uuid,
                        r.getString(2),
                        labels.getOrDefault(uuid, Map.of()),
                        ok && runsIt && !unhealthy && !bad,
                        bad || unhealthy,
                        instant(r.getTimestamp(7))));
              }
            }
          }
          return members;
        });
  }

  /** A page of a factory's rollouts; {@code nextCursor} is the id to continue after, or null. */
  public record RolloutPage(List<RolloutRow> rollouts, String nextCursor) {}

  private static final String COLUMNS =
      "SELECT factory, id, tag, version, status, revision, gate, created_by, created_at, updated_at"
          + " FROM rollouts";

  /** The statuses a rollout can still change from, as the read side stores them. */
  static final String NOT_FINISHED = "status IN ('running', 'paused')";

  /**
   * A factory's rollouts in the order they were created, {@code limit} of them after the rollout
   * {@code cursor} (null: from the first). A cursor that names no rollout of the factory gives an
   * empty page.
   */
  public CompletionStage<RolloutPage> rollouts(String factory, int limit, String cursor) {
    return database.query(
        blocking,
        connection -> {
          try (PreparedStatement s =
              connection.prepareStatement(
                  COLUMNS
                      + " WHERE factory = ?"
                      + (cursor == null
                          ? ""
                          : " AND EXISTS (SELECT 1 FROM rollouts c WHERE c.factory = rollouts.factory"
                              + " AND c.id = ? AND (rollouts.created_at > c.created_at"
                              + " OR (rollouts.created_at = c.created_at AND rollouts.id > c.id)))")
                      + " ORDER BY created_at, id")) {
            s.setString(1, factory);
            if (cursor != null) {
              s.setString(2, cursor);
            }
            s.setMaxRows(limit + 1);
            List<RolloutRow> rows = rows(s);
            if (rows.size() <= limit) {
              return new RolloutPage(rows, null);
            }
            List<RolloutRow> page = List.copyOf(rows.subList(0, limit));
            return new RolloutPage(page, page.get(limit - 1).id());
          }
        });
  }

  /** The rollouts of a factory's tag that are running or paused. */
  public CompletionStage<List<RolloutRow>> unfinished(String factory, String tag) {
    return database.query(
        blocking,
        connection -> {
          try (PreparedStatement s =
              connection.prepareStatement(
                  COLUMNS
                      + " WHERE factory = ? AND tag = ? AND "
                      + NOT_FINISHED
                      + " ORDER BY created_at, id")) {
            s.setString(1, factory);
            s.setString(2, tag);
            return rows(s);
          }
        });
  }

  /**
   * What a node must know of every rollout: all of them when {@code changedSince} is null, else
   * those still running or paused and those changed at or after {@code changedSince} (a rollout
   * that finished since the last read). Finished rollouts never change again, so a node that read
   * them once keeps them.
   */
  public CompletionStage<List<RolloutRow>> forGates(Instant changedSince) {
    return database.query(
        blocking,
        connection -> {
          try (PreparedStatement s =
              connection.prepareStatement(
                  COLUMNS
                      + (changedSince == null
                          ? ""
                          : " WHERE " + NOT_FINISHED + " OR updated_at >= ?"))) {
            if (changedSince != null) {
              s.setTimestamp(1, ReadSideSupport.timestamp(changedSince));
            }
            return rows(s);
          }
        });
  }

  private static List<RolloutRow> rows(PreparedStatement s) throws java.sql.SQLException {
    List<RolloutRow> rows = new ArrayList<>();
    try (ResultSet r = s.executeQuery()) {
      while (r.next()) {
        rows.add(
            new RolloutRow(
                r.getString(1),
                r.getString(2),
                r.getString(3),
                r.getLong(4),
                r.getString(5),
                r.getLong(6),
                readGate(r.getString(7)),
                r.getString(8),
                instant(r.getTimestamp(9)),
                instant(r.getTimestamp(10))));
      }
    }
    return rows;
  }
}
