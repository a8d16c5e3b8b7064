package io.flotilla.builder.build;

import static io.flotilla.core.ReadSideSupport.timestamp;
import static io.flotilla.core.ReadSideSupport.upsert;

import io.flotilla.core.ReadSideSupport;
import io.flotilla.core.persistence.Database;
import io.flotilla.core.persistence.PooledJdbcSession;
import java.sql.PreparedStatement;
import java.time.Instant;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.jdbc.javadsl.JdbcHandler;

/**
 * Keeps the {@code builds} table: one row per build with its status, for listing and for finding
 * unfinished builds.
 */
public final class BuildProjection
    extends JdbcHandler<EventEnvelope<Build.Event>, PooledJdbcSession> {

  public static final String NAME = "builds";

  public static void start(ActorSystem<?> system, Database database) {
    ReadSideSupport.startProjection(system, database, NAME, Build.TAG, BuildProjection::new);
  }

  @Override
  public void process(PooledJdbcSession session, EventEnvelope<Build.Event> envelope)
      throws Exception {
    Build.Event event = envelope.event();
    session.withConnection(
        connection -> {
          if (event instanceof Build.Queued q) {
            upsert(
                connection,
                "UPDATE builds SET status = ?, commit_sha = ?, branch = ?, tag = ?, requested_by = ?, created_at = ? WHERE factory = ? AND number = ?",
                "INSERT INTO builds (status, commit_sha, branch, tag, requested_by, created_at, factory, number) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                s -> {
                  s.setString(1, Build.Status.QUEUED.wireName());
                  s.setString(2, q.commit());
                  s.setString(3, q.branch());
                  s.setString(4, q.tag());
                  s.setString(5, q.requestedBy());
                  s.setTimestamp(6, timestamp(q.at()));
                  s.setString(7, q.factory());
                  s.setLong(8, q.number());
                });
          } else if (event instanceof Build.StepStarted started) {
            update(connection, event, started.step().status(), null, null);
          } else if (event instanceof Build.Succeeded s) {
            update(connection, event, Build.Status.SUCCEEDED, null, s.at());
          } else if (event instanceof Build.Failed f) {
            update(connection, event, Build.Status.FAILED, f.reason(), f.at());
          } else if (event instanceof Build.Canceled c) {
            update(connection, event, Build.Status.CANCELED, "canceled by " + c.by(), c.at());
          }
          return null;
        });
  }

  private static void update(
      java.sql.Connection connection,
      Build.Event event,
      Build.Status status,
      String reason,
      Instant finishedAt)
      throws java.sql.SQLException {
    try (PreparedStatement s =
        connection.prepareStatement(
            "UPDATE builds SET status = ?, reason = ?, finished_at = ? WHERE factory = ? AND number = ?")) {
      s.setString(1, status.wireName());
      s.setString(
          2,
          reason == null
              ? null
              : reason.length() > 4000 ? reason.substring(0, 3997) + "..." : reason);
      s.setTimestamp(3, timestamp(finishedAt));
      s.setString(4, event.factory());
      s.setLong(5, event.number());
      s.executeUpdate();
    }
  }
}
