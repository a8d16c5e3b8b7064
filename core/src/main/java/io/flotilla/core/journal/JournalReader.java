package io.flotilla.core.journal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.core.app.App;
import io.flotilla.core.auth.AdminTokens;
import io.flotilla.core.device.Device;
import io.flotilla.core.device.FleetConfig;
import io.flotilla.core.factory.Factory;
import io.flotilla.core.target.Targets;
import io.flotilla.protocol.Json;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.javadsl.Source;

/**
 * An entity's events as operators read them: one JSON object a line, in sequence order, straight
 * from the journal (no entity is started, so replaying a journal never changes it).
 */
public final class JournalReader {

  /**
   * The entity types whose journals operators may read; the names are those stored in persistence
   * ids.
   */
  public static final List<String> ENTITY_TYPES =
      List.of(
          Factory.ENTITY_KEY.name(),
          App.ENTITY_KEY.name(),
          Targets.ENTITY_KEY.name(),
          AdminTokens.ENTITY_KEY.name(),
          Device.ENTITY_KEY.name(),
          FleetConfig.ENTITY_KEY.name(),
          "Build",
          "BuildNumbers",
          io.flotilla.core.rollout.Rollout.ENTITY_KEY.name(),
          io.flotilla.core.webhook.Webhooks.ENTITY_KEY.name());

  public record Entry(
      String persistenceId, long sequenceNr, Instant timestamp, String type, JsonNode event) {}

  private final JdbcReadJournal readJournal;
  private final ObjectMapper mapper;

  public JournalReader(ActorSystem<?> system) {
    this.readJournal =
        PersistenceQuery.get(system)
            .getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    this.mapper = Json.mapper();
  }

  /** Empty when the type is not one operators may read. */
  public static Optional<String> persistenceId(String entityType, String entityId) {
    return ENTITY_TYPES.contains(entityType)
        ? Optional.of(entityType + "|" + entityId)
        : Optional.empty();
  }

  public Source<Entry, NotUsed> events(String persistenceId, long fromSequenceNr) {
    return readJournal
        .currentEventsByPersistenceId(persistenceId, Math.max(1, fromSequenceNr), Long.MAX_VALUE)
        .map(
            envelope ->
                new Entry(
                    envelope.persistenceId(),
                    envelope.sequenceNr(),
                    Instant.ofEpochMilli(envelope.timestamp()),
                    envelope.event().getClass().getSimpleName(),
                    mapper.valueToTree(envelope.event())));
  }

  /**
   * An entity's events as stored (deserialized), oldest first, from sequence number {@code
   * fromSequenceNr} on, those written up to {@code until}.
   */
  public Source<Object, NotUsed> eventsUntil(
      String persistenceId, long fromSequenceNr, Instant until) {
    return readJournal
        .currentEventsByPersistenceId(persistenceId, Math.max(1, fromSequenceNr), Long.MAX_VALUE)
        .takeWhile(envelope -> !Instant.ofEpochMilli(envelope.timestamp()).isAfter(until))
        .map(envelope -> envelope.event());
  }

  public String toJsonLine(Entry entry) {
    try {
      return mapper.writeValueAsString(entry) + "\n";
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("journal entries are plain records and always serialize", e);
    }
  }
}
