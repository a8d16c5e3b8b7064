package io.flotilla.core.webhook;

import static io.flotilla.core.ReadSideSupport.timestamp;

import io.flotilla.core.ReadSideSupport;
import io.flotilla.core.persistence.Database;
import io.flotilla.core.persistence.PooledJdbcSession;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.jdbc.javadsl.JdbcHandler;

/**
 * Keeps {@code webhooks} (what the outbox projections and the dispatcher read: url, filter, secret)
 * and stores pings as deliveries. A deleted hook takes its delivery log and waiting deliveries with
 * it.
 */
public final class WebhookProjection
    extends JdbcHandler<EventEnvelope<Webhooks.Event>, PooledJdbcSession> {

  public static final String NAME = "webhooks";

  public static void start(ActorSystem<?> system, Database database) {
    ReadSideSupport.startProjection(system, database, NAME, Webhooks.TAG, WebhookProjection::new);
  }

  @Override
  public void process(PooledJdbcSession session, EventEnvelope<Webhooks.Event> envelope)
      throws Exception {
    Webhooks.Event event = envelope.event();
    session.withConnection(
        connection -> {
          if (event instanceof Webhooks.HookCreated c) {
            try (PreparedStatement s =
                connection.prepareStatement(
                    "INSERT INTO webhooks (factory, id, url, events, secret, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")) {
              s.setString(1, c.factory());
              s.setString(2, c.id());
              s.setString(3, c.url());
              s.setString(4, String.join(",", c.events()));
              s.setString(5, c.secret());
              s.setString(6, c.by());
              // the outbox compares it with events' write times, which are in milliseconds
              s.setTimestamp(7, timestamp(c.at().truncatedTo(ChronoUnit.MILLIS)));
              s.executeUpdate();
            }
          } else if (event instanceof Webhooks.HookDeleted d) {
            for (String table : new String[] {"webhook_deliveries", "webhooks"}) {
              String column = table.equals("webhooks") ? "id" : "hook_id";
              try (PreparedStatement s =
                  connection.prepareStatement(
                      "DELETE FROM " + table + " WHERE factory = ? AND " + column + " = ?")) {
                s.setString(1, d.factory());
                s.setString(2, d.id());
                s.executeUpdate();
              }
            }
          } else if (event instanceof Webhooks.PingRequested p) {
            try (PreparedStatement s =
                connection.prepareStatement(
                    "SELECT 1 FROM webhooks WHERE factory = ? AND id = ?")) {
              s.setString(1, p.factory());
              s.setString(2, p.id());
              try (ResultSet r = s.executeQuery()) {
                if (!r.next()) {
                  return null;
                }
              }
            }
            WebhookOutbox.insert(
                connection,
                p.delivery(),
                p.factory(),
                p.id(),
                WebhookKinds.PING,
                Instant.ofEpochMilli(envelope.timestamp()),
                WebhookOutbox.payload().put("hook", p.id()).put("by", p.by()));
          }
          return null;
        });
  }
}
