package io.flotilla.core.rollout;

import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * This node's copy of every rollout's {@link Gate}, so that a check-in decides what its device sees
 * from memory. Kept current by the rollout topic (each change of a rollout publishes its gate) and
 * reloaded from {@code rollouts} every keeper interval, which heals a lost notice; a gate is
 * replaced only by one of a higher revision. After the first read a reload reads only the rollouts
 * that can still change and those that finished lately (a finished rollout never changes again), so
 * its cost follows the running rollouts, not every rollout ever made. The reload also wakes the
 * running rollouts: after a restart or a rebalance nothing else would start them again.
 */
public final class RolloutGates {

  /** The gates of one (factory, tag); {@code revision} sums theirs and only grows. */
  public record TagGates(List<Gate> gates, long revision) {

    public static final TagGates NONE = new TagGates(List.of(), 0);

    /** The target versions this device must not see. */
    public Set<Long> hiddenVersions(String uuid, String group, Map<String, String> labels) {
      if (gates.isEmpty()) {
        return Set.of();
      }
      Set<Long> hidden = new HashSet<>();
      for (Gate gate : gates) {
        if (!gate.shows(uuid, group, labels)) {
          hidden.add(gate.version());
        }
      }
      return hidden;
    }
  }

  private record Key(String factory, String tag) {}

  private final ConcurrentHashMap<String, Gate> gates = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Key, TagGates> byTag = new ConcurrentHashMap<>();
  private final CompletableFuture<Void> loaded = new CompletableFuture<>();
  private final List<java.util.function.Consumer<Gate>> listeners =
      new java.util.concurrent.CopyOnWriteArrayList<>();
  private final RolloutQueries queries;
  private final ClusterSharding sharding;
  private final Duration askTimeout;

  private RolloutGates(ActorSystem<?> system, RolloutQueries queries, Duration askTimeout) {
    this.queries = queries;
    this.sharding = ClusterSharding.get(system);
    this.askTimeout = askTimeout;
  }

  private record Reload() {}

  /** {@code since}: the lower bound the read used for finished rollouts, null for all of them. */
  private record Loaded(List<RolloutQueries.RolloutRow> rows, Instant since, Instant readAt) {}

  /**
   * How far before the last read a finished rollout's change is read again: its row's {@code
   * updated_at} is the event's time, written by the projection a little later (its poll, under load
   * seconds), and set by another node's clock.
   */
  static final Duration FINISHED_OVERLAP = Duration.ofMinutes(2);

  /**
   * Every this many reloads reads every rollout again: heals a finished rollout that neither its
   * notice nor a reload within {@link #FINISHED_OVERLAP} brought (the projection far behind).
   */
  static final int FULL_RELOAD_EVERY = 60;

  public static RolloutGates start(
      ActorSystem<?> system,
      ActorRef<Topic.Command<Gate>> topic,
      RolloutQueries queries,
      Duration keeperInterval,
      Duration askTimeout) {
    RolloutGates gates = new RolloutGates(system, queries, askTimeout);
    ActorRef<Object> keeper =
        system.systemActorOf(
            Behaviors.<Object>setup(
                context ->
                    Behaviors.<Object>withTimers(
                        timers -> {
                          timers.startTimerWithFixedDelay(
                              new Reload(), Duration.ZERO, keeperInterval);
                          return keeper(context, gates, queries, null, 0);
                        })),
            "rollout-gates",
            Props.empty());
    topic.tell(Topic.subscribe(keeper.<Gate>narrow()));
    return gates;
  }

  /**
   * The keeper: reads every rollout first, then only those that can still change (running, paused)
   * and those that finished since the last read; see {@link RolloutQueries#forGates}.
   *
   * @param lastRead when the last successful read started (null: none yet, read all)
   * @param reloads reads since the last full one
   */
  private static Behavior<Object> keeper(
      ActorContext<Object> context,
      RolloutGates gates,
      RolloutQueries queries,
      Instant lastRead,
      int reloads) {
    return Behaviors.receiveMessage(
        message -> {
          if (message instanceof Gate gate) {
            gates.update(gate);
          } else if (message instanceof Reload) {
            Instant since =
                lastRead == null || reloads >= FULL_RELOAD_EVERY
                    ? null
                    : lastRead.minus(FINISHED_OVERLAP);
            Instant readAt = Instant.now();
            context.pipeToSelf(
                queries.forGates(since),
                (rows, failure) -> {
                  if (failure != null) {
                    context
                        .getLog()
                        .warn("cannot reload the rollouts' gates: {}", failure.getMessage());
                    return new Loaded(null, since, readAt);
                  }
                  return new Loaded(rows, since, readAt);
                });
          } else if (message instanceof Loaded loaded && loaded.rows() != null) {
            gates.loaded(loaded.rows());
            return keeper(
                context, gates, queries, loaded.readAt(), loaded.since() == null ? 1 : reloads + 1);
          }
          return Behaviors.same();
        });
  }

  /** Completes once the gates were read from the database at least once. */
  public CompletionStage<Void> loaded() {
    return loaded.isDone()
        ? loaded
        : loaded
            .copy()
            .orTimeout(askTimeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  /**
   * Told of each newer gate once this node's gates hold it, so that what a listener reads from
   * {@link #forTag} already includes it (the WebSocket pushes announce the tag's version).
   */
  public void onChange(java.util.function.Consumer<Gate> listener) {
    listeners.add(listener);
  }

  public TagGates forTag(String factory, String tag) {
    return byTag.getOrDefault(new Key(factory, tag), TagGates.NONE);
  }

  void update(Gate gate) {
    String id = Rollout.entityId(gate.factory(), gate.id());
    Gate kept =
        gates.merge(id, gate, (old, fresh) -> fresh.revision() > old.revision() ? fresh : old);
    if (kept == gate) {
      Key key = new Key(gate.factory(), gate.tag());
      List<Gate> ofTag =
          gates.values().stream()
              .filter(g -> g.factory().equals(key.factory()) && g.tag().equals(key.tag()))
              .toList();
      byTag.put(key, new TagGates(ofTag, ofTag.stream().mapToLong(Gate::revision).sum()));
      listeners.forEach(listener -> listener.accept(gate));
    }
  }

  /** On the keeper's thread, as every update: the gates of one tag are rebuilt by one writer. */
  private void loaded(List<RolloutQueries.RolloutRow> rows) {
    for (RolloutQueries.RolloutRow row : rows) {
      update(row.gate());
      if (row.gate().status() == Rollout.Status.RUNNING) {
        sharding
            .entityRefFor(Rollout.ENTITY_KEY, Rollout.entityId(row.factory(), row.id()))
            .tell(new Rollout.Wake());
      }
    }
    loaded.complete(null);
  }
}
