package io.flotilla.core;

import io.flotilla.core.persistence.Database;
import io.flotilla.core.persistence.PooledJdbcSession;
import io.flotilla.core.projection.GuardedHandlers;
import io.flotilla.core.projection.ProjectionHealth;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.ShardedDaemonProcessSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ShardedDaemonProcess;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.projection.ProjectionBehavior;
import org.apache.pekko.projection.ProjectionId;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.eventsourced.javadsl.EventSourcedProvider;
import org.apache.pekko.projection.jdbc.javadsl.JdbcHandler;
import org.apache.pekko.projection.jdbc.javadsl.JdbcProjection;

/**
 * Runs read-side projections as sharded daemons: exactly one instance per projection in the whole
 * cluster. Every projection is registered with {@link ProjectionHealth} on every node (so its
 * metrics exist everywhere) and its handler is guarded ({@link GuardedHandlers}).
 */
public final class ReadSideSupport {

  private ReadSideSupport() {}

  public static <E> void startProjection(
      ActorSystem<?> system,
      Database database,
      String projectionName,
      String eventTag,
      Supplier<JdbcHandler<EventEnvelope<E>, PooledJdbcSession>> handler) {
    ProjectionHealth health = ProjectionHealth.get(system);
    health.register(ProjectionId.of(projectionName, eventTag));
    ShardedDaemonProcess.get(system)
        .init(
            ProjectionBehavior.Command.class,
            projectionName,
            1,
            index -> {
              ProjectionHealth.Tracker tracker =
                  health.register(ProjectionId.of(projectionName, eventTag));
              return ProjectionBehavior.create(
                  JdbcProjection.exactlyOnce(
                      tracker.id(),
                      EventSourcedProvider.<E>eventsByTag(
                          system, JdbcReadJournal.Identifier(), eventTag),
                      () -> new PooledJdbcSession(database.dataSource()),
                      () -> GuardedHandlers.single(tracker, handler.get()),
                      system));
            },
            ShardedDaemonProcessSettings.create(system),
            Optional.of(ProjectionBehavior.stopMessage()));
  }

  /**
   * A projection over events spread across {@code slices} tags {@code <tagPrefix>0..N-1}: one
   * daemon per tag, so the slices run in parallel and spread over the nodes of a cluster. The
   * handler gets the envelopes in groups ({@code pekko.projection.grouped}) and each group commits
   * in one transaction with its offset: a busy fleet's events cost a transaction per group rather
   * than one per event, and the read side stays exactly-once.
   */
  public static <E> void startSlicedProjection(
      ActorSystem<?> system,
      Database database,
      String projectionName,
      String tagPrefix,
      int slices,
      Supplier<JdbcHandler<List<EventEnvelope<E>>, PooledJdbcSession>> handler) {
    ProjectionHealth health = ProjectionHealth.get(system);
    for (int slice = 0; slice < slices; slice++) {
      health.register(ProjectionId.of(projectionName, tagPrefix + slice));
    }
    ShardedDaemonProcess.get(system)
        .init(
            ProjectionBehavior.Command.class,
            projectionName,
            slices,
            index -> {
              ProjectionHealth.Tracker tracker =
                  health.register(ProjectionId.of(projectionName, tagPrefix + index));
              return ProjectionBehavior.create(
                  JdbcProjection.groupedWithin(
                      tracker.id(),
                      EventSourcedProvider.<E>eventsByTag(
                          system, JdbcReadJournal.Identifier(), tagPrefix + index),
                      () -> new PooledJdbcSession(database.dataSource()),
                      () -> GuardedHandlers.grouped(tracker, handler.get()),
                      system));
            },
            ShardedDaemonProcessSettings.create(system),
            Optional.of(ProjectionBehavior.stopMessage()));
  }

  /**
   * Update-then-insert instead of a dialect's upsert: one statement pair that H2 and PostgreSQL
   * both run, and safe because exactly one projection instance writes each table.
   */
  public static void upsert(
      Connection connection, String updateSql, String insertSql, Binder binder)
      throws SQLException {
    try (PreparedStatement update = connection.prepareStatement(updateSql)) {
      binder.bind(update);
      if (update.executeUpdate() > 0) {
        return;
      }
    }
    try (PreparedStatement insert = connection.prepareStatement(insertSql)) {
      binder.bind(insert);
      insert.executeUpdate();
    }
  }

  public interface Binder {
    void bind(PreparedStatement statement) throws SQLException;
  }

  public static Timestamp timestamp(Instant instant) {
    return instant == null ? null : Timestamp.from(instant);
  }

  public static Instant instant(Timestamp timestamp) {
    return timestamp == null ? null : timestamp.toInstant();
  }
}
