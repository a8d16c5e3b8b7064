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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.projection.ProjectionId;
import org.apache.pekko.projection.javadsl.ProjectionManagement;

/**
 * The operator's view of the read side and the fix for a projection stuck on an event it cannot
 * store: skip that event (recorded in {@code projection_skips}; the projection passes over it at
 * its next retry, on whichever node it runs). The stuck state is what this node knows (see {@link
 * ProjectionHealth}); offsets and skips are the database's, the same from every node.
 *
 * <p>A rebuild empties a projection's tables and replays its events from the first: every instance
 * of it (each key, wherever in the cluster it runs) is paused through Pekko's {@link
 * ProjectionManagement}, its tables are emptied and its offsets removed in one transaction, and the
 * instances are resumed, which starts them from no offset. Until they catch up, the read side
 * answers from the partly rebuilt tables.
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

  /**
   * The read-side tables each projection writes, and no other projection does: what a rebuild
   * empties. A projection added later gets its tables here, or it cannot be rebuilt.
   */
  public static final Map<String, List<String>> TABLES =
      Map.of(
          "factories", List.of("factories", "factory_tokens"),
          "targets", List.of("targets"),
          "apps", List.of("app_versions"),
          "devices",
              List.of("device_status", "device_updates", "device_system_info", "device_labels"),
          "builds", List.of("builds"),
          "rollouts", List.of("rollouts"));

  /** Events of one key's tag, and how many of them the projection has stored. */
  public record KeyProgress(String key, long replayed, long total) {}

  /** {@code caughtUp}: every key has stored every event of its tag written so far. */
  public record Progress(
      String name, long replayed, long total, boolean caughtUp, List<KeyProgress> keys) {}

  private final Database database;
  private final Executor blocking;
  private final ProjectionHealth health;

  public ProjectionAdmin(Database database, Executor blocking, ProjectionHealth health) {
    this.database = database;
    this.blocking = blocking;
    this.health = health;
  }

  /** Whether {@code name} is a projection of this node that a rebuild knows the tables of. */
  public boolean rebuildable(String name) {
    return TABLES.containsKey(name) && !ids(name).isEmpty();
  }

  private List<ProjectionId> ids(String name) {
    return health.statuses().stream()
        .filter(status -> status.name().equals(name))
        .map(status -> ProjectionId.of(status.name(), status.key()))
        .toList();
  }

  /**
   * Empties the projection's tables and offsets and starts its replay; the answer comes once the
   * tables are empty and every instance is running again, with the progress so far. {@code
   * management} is the node's ({@code ProjectionManagement.get(system)}): it reaches each instance
   * wherever it runs.
   */
  public CompletionStage<Progress> rebuild(String name, ProjectionManagement management) {
    List<ProjectionId> ids = ids(name);
    // Paused is stored (pekko_projection_management) and outlives restarts: whatever fails, the
    // instances are resumed before the failure is answered.
    return each(ids, management::pause)
        .thenCompose(paused -> empty(name))
        .handle((emptied, failure) -> failure)
        .thenCompose(
            failure ->
                each(ids, management::resume)
                    .thenCompose(
                        resumed ->
                            failure == null
                                ? progress(name)
                                : CompletableFuture.<Progress>failedFuture(failure)));
  }

  /** The projection's tables and offsets, gone in one transaction. */
  private CompletionStage<String> empty(String name) {
    return database.query(
        blocking,
        connection -> {
          boolean autoCommit = connection.getAutoCommit();
          connection.setAutoCommit(false);
          try {
            for (String table : TABLES.get(name)) {
              try (PreparedStatement s = connection.prepareStatement("DELETE FROM " + table)) {
                s.executeUpdate();
              }
            }
            try (PreparedStatement s =
                connection.prepareStatement(
                    "DELETE FROM \"pekko_projection_offset_store\" WHERE \"projection_name\" = ?")) {
              s.setString(1, name);
              s.executeUpdate();
            }
            connection.commit();
          } catch (SQLException | RuntimeException e) {
            connection.rollback();
            throw e;
          } finally {
            connection.setAutoCommit(autoCommit);
          }
          return name;
        });
  }

  private static CompletionStage<Void> each(
      List<ProjectionId> ids,
      java.util.function.Function<ProjectionId, CompletionStage<org.apache.pekko.Done>> action) {
    CompletionStage<Void> all = CompletableFuture.completedFuture(null);
    for (ProjectionId id : ids) {
      all = all.thenCompose(previous -> action.apply(id)).thenApply(done -> null);
    }
    return all;
  }

  /**
   * How far each key of the projection has got through its tag's events: events up to its stored
   * offset, of all written so far (two counts over the tag's rows of {@code event_tag}).
   */
  public CompletionStage<Progress> progress(String name) {
    List<ProjectionId> ids = ids(name);
    return database.query(
        blocking,
        connection -> {
          List<KeyProgress> keys = new ArrayList<>();
          long replayed = 0;
          long total = 0;
          for (ProjectionId id : ids) {
            long offset = 0;
            try (PreparedStatement s =
                connection.prepareStatement(
                    "SELECT \"current_offset\" FROM \"pekko_projection_offset_store\""
                        + " WHERE \"projection_name\" = ? AND \"projection_key\" = ?")) {
              s.setString(1, id.name());
              s.setString(2, id.key());
              try (ResultSet rows = s.executeQuery()) {
                if (rows.next()) {
                  offset = Long.parseLong(rows.getString(1));
                }
              }
            }
            try (PreparedStatement s =
                connection.prepareStatement(
                    "SELECT COUNT(*), COALESCE(SUM(CASE WHEN \"event_id\" <= ? THEN 1 ELSE 0 END), 0)"
                        + " FROM \"event_tag\" WHERE \"tag\" = ?")) {
              s.setLong(1, offset);
              s.setString(2, id.key());
              try (ResultSet rows = s.executeQuery()) {
                rows.next();
                keys.add(new KeyProgress(id.key(), rows.getLong(2), rows.getLong(1)));
                total += rows.getLong(1);
                replayed += rows.getLong(2);
              }
            }
          }
          return new Progress(name, replayed, total, replayed >= total, List.copyOf(keys));
        });
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
