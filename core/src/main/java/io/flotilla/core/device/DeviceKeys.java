package io.flotilla.core.device;

import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * The public key a device was registered with, for the {@code pubkey} of a device record. It is
 * read from the device's journal rather than kept by the entity: only the record shows it, and
 * every active entity would otherwise hold its ~180 characters of PEM. A device's first event is
 * always its {@link Device.Registered}.
 */
public final class DeviceKeys {

  private final ActorSystem<?> system;
  private final JdbcReadJournal readJournal;

  public DeviceKeys(ActorSystem<?> system) {
    this.system = system;
    this.readJournal =
        PersistenceQuery.get(system)
            .getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
  }

  /** Empty when the device has no events (it does not exist). */
  public CompletionStage<Optional<String>> registeredPublicKey(String uuid) {
    return readJournal
        .currentEventsByPersistenceId(PersistenceId.of(Device.ENTITY_KEY.name(), uuid).id(), 1, 1)
        .map(envelope -> envelope.event())
        .filter(Device.Registered.class::isInstance)
        .map(event -> ((Device.Registered) event).publicKeyPem())
        .runWith(Sink.headOption(), system);
  }
}
