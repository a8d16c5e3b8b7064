package io.flotilla.core.target;

import io.flotilla.core.target.Targets.TargetList;
import io.flotilla.core.target.Targets.TargetsChanged;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * This node's copy of each (factory, tag) target list, so that a device check-in costs a map lookup
 * instead of an ask to the Targets entity. Correct on many nodes: every change is published
 * cluster-wide and a list is only kept when it is at least as new as the newest change seen for its
 * tag.
 */
public final class TargetsCache {

  /**
   * A bound on how many (factory, tag) lists one node keeps; unknown tags asked by devices must not
   * grow it forever.
   */
  static final int MAX_ENTRIES = 10_000;

  private record Key(String factory, String tag) {}

  private final ConcurrentHashMap<Key, TargetList> lists = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Key, Long> changedAt = new ConcurrentHashMap<>();
  private final ClusterSharding sharding;
  private final Duration askTimeout;

  private TargetsCache(ClusterSharding sharding, Duration askTimeout) {
    this.sharding = sharding;
    this.askTimeout = askTimeout;
  }

  public static TargetsCache start(
      ActorSystem<?> system, ActorRef<Topic.Command<TargetsChanged>> topic, Duration askTimeout) {
    TargetsCache cache = new TargetsCache(ClusterSharding.get(system), askTimeout);
    ActorRef<TargetsChanged> invalidator =
        system.systemActorOf(
            Behaviors.receive(TargetsChanged.class)
                .onMessage(
                    TargetsChanged.class,
                    change -> {
                      cache.invalidate(change);
                      return Behaviors.same();
                    })
                .build(),
            "targets-cache-invalidator",
            Props.empty());
    topic.tell(Topic.subscribe(invalidator));
    return cache;
  }

  public CompletionStage<TargetList> forTag(String factory, String tag) {
    Key key = new Key(factory, tag);
    TargetList cached = lists.get(key);
    if (cached != null) {
      return CompletableFuture.completedFuture(cached);
    }
    return sharding
        .entityRefFor(Targets.ENTITY_KEY, factory)
        .<TargetList>ask(replyTo -> new Targets.ListTargets(tag, replyTo), askTimeout)
        .thenApply(
            list -> {
              store(key, list);
              return list;
            });
  }

  private void store(Key key, TargetList list) {
    if (list.revision() < changedAt.getOrDefault(key, 0L)) {
      return;
    }
    if (lists.size() >= MAX_ENTRIES) {
      lists.clear();
    }
    lists.merge(key, list, (old, fresh) -> fresh.revision() >= old.revision() ? fresh : old);
  }

  void invalidate(TargetsChanged change) {
    for (String tag : change.tags()) {
      Key key = new Key(change.factory(), tag);
      changedAt.merge(key, change.revision(), Math::max);
      lists.computeIfPresent(key, (k, list) -> list.revision() < change.revision() ? null : list);
    }
  }
}
