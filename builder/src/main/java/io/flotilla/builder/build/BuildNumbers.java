package io.flotilla.builder.build;

import io.flotilla.core.CborSerializable;
import java.time.Instant;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;

/**
 * Hands out a factory's build numbers (entity id = factory), one persisted event each, so numbers
 * never repeat even across nodes. The number becomes the targets' version, so it also stays above
 * any version already used by targets added through the API ({@code floor}).
 */
public final class BuildNumbers
    extends EventSourcedBehaviorWithEnforcedReplies<
        BuildNumbers.Command, BuildNumbers.Event, BuildNumbers.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY =
      EntityTypeKey.create(Command.class, "BuildNumbers");

  public sealed interface Command extends CborSerializable {}

  public record Next(long floor, ActorRef<Number> replyTo) implements Command {}

  public record Number(long value) implements CborSerializable {}

  public sealed interface Event extends CborSerializable {}

  public record NumberTaken(String factory, long number, Instant at) implements Event {}

  public record State(long last) implements CborSerializable {}

  private final String factory;

  public BuildNumbers(String factory) {
    super(PersistenceId.of(ENTITY_KEY.name(), factory));
    this.factory = factory;
  }

  @Override
  public State emptyState() {
    return new State(0);
  }

  @Override
  public Set<String> tagsFor(Event event) {
    return Set.of();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 2);
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(
            Next.class,
            (state, next) ->
                Effect()
                    .persist(
                        new NumberTaken(
                            factory, Math.max(state.last(), next.floor()) + 1, Instant.now()))
                    .thenReply(next.replyTo(), s -> new Number(s.last())))
        .build();
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(NumberTaken.class, (state, taken) -> new State(taken.number()))
        .build();
  }
}
