package io.flotilla.builder.build;

import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.Queue;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * The node's limit on concurrent builds. A runner asks for a slot and holds it until it stops; the
 * slot is released when the runner terminates, however it ends, so a crashed runner cannot leak
 * one.
 */
public final class BuildSlots extends AbstractBehavior<BuildSlots.Command> {

  public sealed interface Command {}

  public record Acquire(ActorRef<Granted> runner) implements Command {}

  public record Granted() {}

  public static Behavior<Command> create(int limit) {
    return Behaviors.setup(ctx -> new BuildSlots(ctx, limit));
  }

  private final int limit;
  private final Set<ActorRef<Granted>> holders = new HashSet<>();
  private final Queue<ActorRef<Granted>> waiting = new ArrayDeque<>();

  private BuildSlots(ActorContext<Command> ctx, int limit) {
    super(ctx);
    this.limit = Math.max(1, limit);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Acquire.class, this::onAcquire)
        .onSignal(Terminated.class, this::onTerminated)
        .build();
  }

  private Behavior<Command> onAcquire(Acquire acquire) {
    getContext().watch(acquire.runner());
    if (holders.size() < limit) {
      holders.add(acquire.runner());
      acquire.runner().tell(new Granted());
    } else {
      waiting.add(acquire.runner());
    }
    return this;
  }

  private Behavior<Command> onTerminated(Terminated terminated) {
    ActorRef<Granted> gone = terminated.getRef().unsafeUpcast();
    waiting.remove(gone);
    if (holders.remove(gone)) {
      ActorRef<Granted> next = waiting.poll();
      if (next != null) {
        holders.add(next);
        next.tell(new Granted());
      }
    }
    return this;
  }
}
