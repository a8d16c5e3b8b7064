package io.flotilla.core.projection;

import static io.flotilla.core.ReadSideSupport.instant;

import io.flotilla.core.persistence.Database;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * The operator's view of the read side and the fix for a projection stuck on an event it cannot
 * store: skip that event (recorded in {@code projection_skips}; the projection passes over it at
 * its next retry, on whichever node it runs). The stuck state is what this node knows (see {@link
 * ProjectionHealth}); offsets and skips are the database's, the same from every node.
 */
public final class ProjectionAdmin {

  public static final int MAX_PERSISTENCE_ID = 255;

  public record Skip(String persistenceId, long sequenceNr, Instant skippedAt) {}

  /**
   * {@code offset} is the stored one (the last event stored), null before the first; {@code stuck}
   * null when not stuck here.
   */
  public record Projection(
      String name,
      String key,
      String offset,
      String state,
      ProjectionHealth.Stuck stuck,
      long errors,
      List<Skip> skipped) {}

  public record ProjectionList(List<Projection> projections) {}

  private final Database database;
  private final Executor blocking;
  private final ProjectionHealth health;

  public ProjectionAdmin(Database database, Executor blocking, ProjectionHealth health) {
    this.database = database;
    this.blocking = blocking;
    this.health = health;
  }

  public CompletionStage<ProjectionList> list() {
    return database.query(
        blocking,
        connection -> {
          Map<String, String> offsets = new HashMap<>();
          try (PreparedStatement s =
                  connection.prepareStatement(
                      "SELECT \"projection_name\", \"projection_key\", \"current_offset\" FROM \"pekko_projection_offset_store\"");
              ResultSet rows = s.executeQuery()) {
            while (rows.next()) {
              offsets.put(rows.getString(1) + "/" + rows.getString(2), rows.getString(3));
            }
          }
          Map<String, List<Skip>> skips = new HashMap<>();
          try (PreparedStatement s =
                  connection.prepareStatement(
                      "SELECT projection_name, projection_key, persistence_id, sequence_nr, skipped_at FROM projection_skips ORDER BY skipped_at");
              ResultSet rows = s.executeQuery()) {
            while (rows.next()) {
              skips
                  .computeIfAbsent(
                      rows.getString(1) + "/" + rows.getString(2), k -> new ArrayList<>())
                  .add(new Skip(rows.getString(3), rows.getLong(4), instant(rows.getTimestamp(5))));
            }
          }
          List<Projection> projections = new ArrayList<>();
          for (ProjectionHealth.Status status : health.statuses()) {
            String id = status.name() + "/" + status.key();
            projections.add(
                new Projection(
                    status.name(),
                    status.key(),
                    offsets.get(id),
                    status.stuck().isPresent() ? "stuck" : "running",
                    status.stuck().orElse(null),
                    status.errors(),
                    List.copyOf(skips.getOrDefault(id, List.of()))));
          }
          return new ProjectionList(List.copyOf(projections));
        });
  }

  public boolean knows(String name, String key) {
    return health.tracker(name, key).isPresent();
  }

  /** Skipping an event twice is a no-op. */
  public CompletionStage<Skip> skip(
      String name, String key, String persistenceId, long sequenceNr) {
    Skip skip = new Skip(persistenceId, sequenceNr, Instant.now());
    return database.query(
        blocking,
        connection -> {
          try (PreparedStatement s =
              connection.prepareStatement(
                  "INSERT INTO projection_skips (projection_name, projection_key, persistence_id, sequence_nr, skipped_at) VALUES (?, ?, ?, ?, ?)")) {
            s.setString(1, name);
            s.setString(2, key);
            s.setString(3, persistenceId);
            s.setLong(4, sequenceNr);
            s.setTimestamp(5, Timestamp.from(skip.skippedAt()));
            s.executeUpdate();
          } catch (SQLException e) {
            if (!"23505".equals(e.getSQLState())) {
              throw e;
            }
          }
          return skip;
        });
  }
}
