package io.flotilla.core.target;

import static io.flotilla.core.ReadSideSupport.timestamp;
import static io.flotilla.core.ReadSideSupport.upsert;

import io.flotilla.core.JsonColumns;
import io.flotilla.core.ReadSideSupport;
import io.flotilla.core.persistence.Database;
import io.flotilla.core.persistence.PooledJdbcSession;
import java.sql.PreparedStatement;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.jdbc.javadsl.JdbcHandler;

/** Keeps the {@code targets} table. */
public final class TargetsProjection
    extends JdbcHandler<EventEnvelope<Targets.Event>, PooledJdbcSession> {

  public static final String NAME = "targets";

  public static void start(ActorSystem<?> system, Database database) {
    ReadSideSupport.startProjection(system, database, NAME, Targets.TAG, TargetsProjection::new);
  }

  @Override
  public void process(PooledJdbcSession session, EventEnvelope<Targets.Event> envelope)
      throws Exception {
    Targets.Event event = envelope.event();
    session.withConnection(
        connection -> {
          if (event instanceof Targets.TargetAdded added) {
            Target t = added.target();
            upsert(
                connection,
                "UPDATE targets SET hardware_id = ?, version = ?, tags = ?, apps = ?, containers_sha = ?, created_at = ? WHERE factory = ? AND name = ?",
                "INSERT INTO targets (hardware_id, version, tags, apps, containers_sha, created_at, factory, name) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                s -> {
                  s.setString(1, t.hardwareId());
                  s.setLong(2, t.version());
                  s.setString(3, String.join(",", t.tags()));
                  s.setString(4, JsonColumns.write(t.apps()));
                  s.setString(5, t.containersSha());
                  s.setTimestamp(6, timestamp(t.createdAt()));
                  s.setString(7, added.factory());
                  s.setString(8, t.name());
                });
          } else if (event instanceof Targets.TargetTagsSet set) {
            try (PreparedStatement s =
                connection.prepareStatement(
                    "UPDATE targets SET tags = ? WHERE factory = ? AND name = ?")) {
              s.setString(1, String.join(",", set.tags()));
              s.setString(2, set.factory());
              s.setString(3, set.name());
              s.executeUpdate();
            }
          } else if (event instanceof Targets.TargetPruned pruned) {
            try (PreparedStatement s =
                connection.prepareStatement("DELETE FROM targets WHERE factory = ? AND name = ?")) {
              s.setString(1, pruned.factory());
              s.setString(2, pruned.name());
              s.executeUpdate();
            }
          }
          return null;
        });
  }
}
