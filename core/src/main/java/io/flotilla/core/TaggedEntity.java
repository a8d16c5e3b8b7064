package io.flotilla.core;

import java.util.Set;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;

/**
 * An entity whose persistence id is {@code <entity type>|<id>} and whose events all carry one tag,
 * the one its projection reads; it snapshots every {@code snapshotEvery} events and keeps two
 * snapshots, so a recovery replays at most that many events.
 */
public abstract class TaggedEntity<C, E, S>
    extends EventSourcedBehaviorWithEnforcedReplies<C, E, S> {

  // A device node holds many thousands of these: two fields, no per-instance collections.
  private final String tag;
  private final int snapshotEvery;

  protected TaggedEntity(EntityTypeKey<?> type, String id, String tag, int snapshotEvery) {
    super(PersistenceId.of(type.name(), id));
    this.tag = tag;
    this.snapshotEvery = snapshotEvery;
  }

  @Override
  public final Set<String> tagsFor(E event) {
    return Set.of(tag);
  }

  @Override
  public final RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(snapshotEvery, 2);
  }
}
