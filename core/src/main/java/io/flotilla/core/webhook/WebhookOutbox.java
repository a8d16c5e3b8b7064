package io.flotilla.core.webhook;

import static io.flotilla.core.ReadSideSupport.timestamp;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.core.ReadSideSupport;
import io.flotilla.core.persistence.Database;
import io.flotilla.core.persistence.PooledJdbcSession;
import io.flotilla.protocol.Json;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.jdbc.javadsl.JdbcHandler;

/**
 * The durable outbox of webhook deliveries: projections over the tags of the hooked events turn
 * each event into notifications ({@code mapper}) and store one {@code webhook_deliveries} row per
 * hook that wants it, in the transaction that stores the projection's offset. A restart resumes
 * from that offset and the rows wait for {@link WebhookDispatcher}, so nothing between the journal
 * and the receiver is held only in memory. A hook gets what happened after its creation ({@code
 * occurredAt}, the event's write time, is not before it).
 */
public final class WebhookOutbox {

  private WebhookOutbox() {}

  /** What an event tells the receivers of a factory; {@code payload} is the delivery's payload. */
  public record Notification(String factory, String event, ObjectNode payload) {}

  public static ObjectNode payload() {
    return Json.mapper().createObjectNode();
  }

  /** An outbox over the events of one tag. */
  public static <E> void start(
      ActorSystem<?> system,
      Database database,
      String name,
      String tag,
      Function<E, List<Notification>> mapper) {
    ReadSideSupport.startProjection(
        system,
        database,
        name,
        tag,
        () ->
            new JdbcHandler<EventEnvelope<E>, PooledJdbcSession>() {
              @Override
              public void process(PooledJdbcSession session, EventEnvelope<E> envelope)
                  throws Exception {
                enqueueAll(session, List.of(envelope), mapper);
              }
            });
  }

  /** An outbox over events spread across {@code <tagPrefix>0..slices-1}, in groups. */
  public static <E> void startSliced(
      ActorSystem<?> system,
      Database database,
      String name,
      String tagPrefix,
      int slices,
      Function<E, List<Notification>> mapper) {
    ReadSideSupport.startSlicedProjection(
        system,
        database,
        name,
        tagPrefix,
        slices,
        () ->
            new JdbcHandler<List<EventEnvelope<E>>, PooledJdbcSession>() {
              @Override
              public void process(PooledJdbcSession session, List<EventEnvelope<E>> envelopes)
                  throws Exception {
                enqueueAll(session, envelopes, mapper);
              }
            });
  }

  private static <E> void enqueueAll(
      PooledJdbcSession session,
      List<EventEnvelope<E>> envelopes,
      Function<E, List<Notification>> mapper)
      throws Exception {
    List<EnvelopeNotifications> work = new ArrayList<>();
    for (EventEnvelope<E> envelope : envelopes) {
      List<Notification> notifications = mapper.apply(envelope.event());
      if (!notifications.isEmpty()) {
        work.add(
            new EnvelopeNotifications(
                envelope.persistenceId(),
                envelope.sequenceNr(),
                Instant.ofEpochMilli(envelope.timestamp()),
                notifications));
      }
    }
    if (work.isEmpty()) {
      return;
    }
    session.withConnection(
        connection -> {
          for (EnvelopeNotifications w : work) {
            for (int i = 0; i < w.notifications().size(); i++) {
              enqueue(connection, w, i);
            }
          }
          return null;
        });
  }

  private record EnvelopeNotifications(
      String persistenceId,
      long sequenceNr,
      Instant occurredAt,
      List<Notification> notifications) {}

  private static void enqueue(Connection connection, EnvelopeNotifications w, int index)
      throws SQLException {
    Notification n = w.notifications().get(index);
    List<String> hooks = new ArrayList<>();
    try (PreparedStatement s =
        connection.prepareStatement(
            "SELECT id, events FROM webhooks WHERE factory = ? AND created_at <= ?")) {
      s.setString(1, n.factory());
      s.setTimestamp(2, timestamp(w.occurredAt()));
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          if (List.of(r.getString(2).split(",")).contains(n.event())) {
            hooks.add(r.getString(1));
          }
        }
      }
    }
    for (String hook : hooks) {
      String id =
          UUID.nameUUIDFromBytes(
                  (hook + "|" + w.persistenceId() + "|" + w.sequenceNr() + "|" + index)
                      .getBytes(StandardCharsets.UTF_8))
              .toString();
      insert(connection, id, n.factory(), hook, n.event(), w.occurredAt(), n.payload());
    }
  }

  /**
   * Stores a delivery unless its id is there already: a projection replayed (an operator's rebuild)
   * finds the rows it wrote, and the receiver's de-duplication key stays the same.
   */
  static void insert(
      Connection connection,
      String id,
      String factory,
      String hook,
      String event,
      Instant occurredAt,
      ObjectNode payload)
      throws SQLException {
    try (PreparedStatement s =
        connection.prepareStatement("SELECT 1 FROM webhook_deliveries WHERE id = ?")) {
      s.setString(1, id);
      try (ResultSet r = s.executeQuery()) {
        if (r.next()) {
          return;
        }
      }
    }
    Instant now = Instant.now();
    try (PreparedStatement s =
        connection.prepareStatement(
            "INSERT INTO webhook_deliveries (id, factory, hook_id, event, body, state, attempts, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)")) {
      s.setString(1, id);
      s.setString(2, factory);
      s.setString(3, hook);
      s.setString(4, event);
      s.setString(5, body(id, event, factory, occurredAt, payload));
      s.setTimestamp(6, timestamp(now));
      s.setTimestamp(7, timestamp(now));
      s.executeUpdate();
    }
  }

  /** The request body, fixed when the delivery is stored: every attempt sends the same bytes. */
  static String body(
      String id, String event, String factory, Instant occurredAt, ObjectNode payload) {
    ObjectNode body = Json.mapper().createObjectNode();
    body.put("id", id);
    body.put("event", event);
    body.put("factory", factory);
    body.put("occurredAt", occurredAt.truncatedTo(ChronoUnit.MILLIS).toString());
    body.set("payload", payload);
    try {
      return Json.mapper().writeValueAsString(body);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
