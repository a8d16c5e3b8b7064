package io.flotilla.core.rollout;

import static io.flotilla.core.ReadSideSupport.timestamp;

import io.flotilla.core.ReadSideSupport;
import io.flotilla.core.persistence.Database;
import io.flotilla.core.persistence.PooledJdbcSession;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.jdbc.javadsl.JdbcHandler;

/**
 * Keeps {@code rollouts}: one row per rollout with its gate, replayed from the events alone (the
 * row's gate is the entity's state folded again here).
 */
public final class RolloutProjection
    extends JdbcHandler<EventEnvelope<Rollout.Event>, PooledJdbcSession> {

  public static final String NAME = "rollouts";

  public static void start(ActorSystem<?> system, Database database) {
    ReadSideSupport.startProjection(system, database, NAME, Rollout.TAG, RolloutProjection::new);
  }

  @Override
  public void process(PooledJdbcSession session, EventEnvelope<Rollout.Event> envelope)
      throws Exception {
    Rollout.Event event = envelope.event();
    session.withConnection(
        connection -> {
          Rollout.State state =
              event instanceof Rollout.Created ? Rollout.State.EMPTY : load(connection, event);
          if (state == null) {
            return null;
          }
          Rollout.State next = state.apply(event);
          String sql =
              event instanceof Rollout.Created
                  ? "INSERT INTO rollouts (tag, version, status, revision, gate, created_by, created_at, updated_at, factory, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                  : "UPDATE rollouts SET tag = ?, version = ?, status = ?, revision = ?, gate = ?, created_by = ?, created_at = ?, updated_at = ? WHERE factory = ? AND id = ?";
          try (PreparedStatement s = connection.prepareStatement(sql)) {
            s.setString(1, next.tag());
            s.setLong(2, next.version());
            s.setString(3, next.status().wireName());
            s.setLong(4, next.revision());
            s.setString(5, RolloutQueries.writeGate(next.gate()));
            s.setString(6, next.createdBy());
            s.setTimestamp(7, timestamp(next.createdAt()));
            s.setTimestamp(8, timestamp(next.updatedAt()));
            s.setString(9, next.factory());
            s.setString(10, next.id());
            s.executeUpdate();
          }
          return null;
        });
  }

  /**
   * The state the row holds, enough to fold the next event: the gate carries everything but the
   * halt's details, which only the event that sets them needs.
   */
  private static Rollout.State load(Connection connection, Rollout.Event event)
      throws java.sql.SQLException {
    try (PreparedStatement s =
        connection.prepareStatement(
            "SELECT gate, created_by, created_at, updated_at FROM rollouts WHERE factory = ? AND id = ?")) {
      s.setString(1, event.factory());
      s.setString(2, event.id());
      try (ResultSet r = s.executeQuery()) {
        if (!r.next()) {
          return null;
        }
        Gate gate = RolloutQueries.readGate(r.getString(1));
        return new Rollout.State(
            gate.factory(),
            gate.id(),
            gate.tag(),
            gate.version(),
            new RolloutPlan(gate.phases(), null, null, false),
            gate.status(),
            gate.limits(),
            null,
            null,
            gate.rolledBack(),
            null,
            null,
            gate.revision(),
            r.getString(2),
            ReadSideSupport.instant(r.getTimestamp(3)),
            ReadSideSupport.instant(r.getTimestamp(4)));
      }
    }
  }
}
