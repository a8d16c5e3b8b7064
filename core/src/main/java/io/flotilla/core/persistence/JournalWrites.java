package io.flotilla.core.persistence;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * The node's journal writes as {@link TimedJdbcJournal} times them, handed to whoever listens (the
 * gateway's metrics): core has no metrics library of its own.
 */
public final class JournalWrites implements Extension {

  /** One batch written: its atomic writes (one per persist call), its time, whether it stored. */
  public interface Listener {
    void written(int writes, long nanos, boolean stored);
  }

  public static final class Id extends ExtensionId<JournalWrites> {
    @Override
    public JournalWrites createExtension(ActorSystem<?> system) {
      return new JournalWrites();
    }
  }

  private static final Id ID = new Id();

  public static JournalWrites get(ActorSystem<?> system) {
    return ID.apply(system);
  }

  private final List<Listener> listeners = new CopyOnWriteArrayList<>();

  JournalWrites() {}

  public void listen(Listener listener) {
    listeners.add(listener);
  }

  void record(int writes, long nanos, boolean stored) {
    for (Listener listener : listeners) {
      listener.written(writes, nanos, stored);
    }
  }
}
