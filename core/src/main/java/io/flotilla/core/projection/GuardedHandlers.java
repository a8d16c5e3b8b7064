package io.flotilla.core.projection;

import io.flotilla.core.persistence.PooledJdbcSession;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.List;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.jdbc.javadsl.JdbcHandler;

/**
 * Wraps every projection handler: reports to its {@link ProjectionHealth.Tracker} which event it
 * cannot store, and passes over an event the operator chose to skip ({@code projection_skips}). The
 * skip table is read only for the event the projection is stuck on, inside the transaction that
 * then stores the offset past it.
 */
public final class GuardedHandlers {

  private GuardedHandlers() {}

  public static <E> JdbcHandler<EventEnvelope<E>, PooledJdbcSession> single(
      ProjectionHealth.Tracker tracker, JdbcHandler<EventEnvelope<E>, PooledJdbcSession> inner) {
    return new Delegating<>(inner) {
      @Override
      public void process(PooledJdbcSession session, EventEnvelope<E> envelope) throws Exception {
        guarded(tracker, session, envelope, inner::process);
        tracker.succeeded();
      }
    };
  }

  /**
   * A group fails as a whole and its transaction is lost, so the event to blame is not known then.
   * The retry after a failure hands the events to the handler one at a time (still one
   * transaction), which names the event.
   */
  public static <E> JdbcHandler<List<EventEnvelope<E>>, PooledJdbcSession> grouped(
      ProjectionHealth.Tracker tracker,
      JdbcHandler<List<EventEnvelope<E>>, PooledJdbcSession> inner) {
    return new Delegating<>(inner) {
      @Override
      public void process(PooledJdbcSession session, List<EventEnvelope<E>> envelopes)
          throws Exception {
        if (!tracker.isStuck()) {
          try {
            inner.process(session, envelopes);
          } catch (Exception e) {
            tracker.groupFailed(e);
            throw e;
          }
          return;
        }
        for (EventEnvelope<E> envelope : envelopes) {
          guarded(tracker, session, envelope, (s, one) -> inner.process(s, List.of(one)));
        }
        tracker.succeeded();
      }
    };
  }

  /** Stores one event unless the operator skips it; a failure names the event to the tracker. */
  private static <E> void guarded(
      ProjectionHealth.Tracker tracker,
      PooledJdbcSession session,
      EventEnvelope<E> envelope,
      Store<E> store)
      throws Exception {
    if (skipRequested(tracker, session, envelope)) {
      tracker.skipped(envelope.persistenceId(), envelope.sequenceNr());
      return;
    }
    try {
      store.process(session, envelope);
    } catch (Exception e) {
      tracker.failed(envelope.persistenceId(), envelope.sequenceNr(), envelope.offset(), e);
      throw e;
    }
  }

  private interface Store<E> {
    void process(PooledJdbcSession session, EventEnvelope<E> envelope) throws Exception;
  }

  /** The wrapped handler's life cycle stays its own. */
  private abstract static class Delegating<T> extends JdbcHandler<T, PooledJdbcSession> {
    private final JdbcHandler<?, PooledJdbcSession> inner;

    Delegating(JdbcHandler<?, PooledJdbcSession> inner) {
      this.inner = inner;
    }

    @Override
    public void start() {
      inner.start();
    }

    @Override
    public void stop() {
      inner.stop();
    }
  }

  private static boolean skipRequested(
      ProjectionHealth.Tracker tracker, PooledJdbcSession session, EventEnvelope<?> envelope)
      throws Exception {
    if (!tracker.isStuckAt(envelope.persistenceId(), envelope.sequenceNr())) {
      return false;
    }
    return session.withConnection(
        connection -> {
          try (PreparedStatement s =
              connection.prepareStatement(
                  "SELECT 1 FROM projection_skips WHERE projection_name = ? AND projection_key = ? AND persistence_id = ? AND sequence_nr = ?")) {
            s.setString(1, tracker.id().name());
            s.setString(2, tracker.id().key());
            s.setString(3, envelope.persistenceId());
            s.setLong(4, envelope.sequenceNr());
            try (ResultSet rows = s.executeQuery()) {
              return rows.next();
            }
          }
        });
  }
}
