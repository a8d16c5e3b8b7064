package io.flotilla.core.auth;

import io.flotilla.core.CborSerializable;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;

/**
 * The server-wide admin tokens (hashes only). One entity, id {@link #ID}: the token file in the
 * data dir holds the secret, this entity decides whether a presented admin token is valid on every
 * node.
 */
public final class AdminTokens
    extends EventSourcedBehaviorWithEnforcedReplies<
        AdminTokens.Command, AdminTokens.Event, AdminTokens.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY =
      EntityTypeKey.create(Command.class, "AdminTokens");
  public static final String ID = "admin";

  public sealed interface Command extends CborSerializable {}

  /** Idempotent: registering the same id with the same hash again persists nothing. */
  public record Register(String tokenId, String secretHash, ActorRef<StatusReply<Done>> replyTo)
      implements Command {}

  public record Check(String tokenId, String secretHash, ActorRef<Valid> replyTo)
      implements Command {}

  public record Valid(boolean valid) implements CborSerializable {}

  public sealed interface Event extends CborSerializable {}

  public record TokenRegistered(String tokenId, String secretHash, Instant registeredAt)
      implements Event {}

  public record State(Map<String, String> hashes) implements CborSerializable {
    State with(String tokenId, String hash) {
      Map<String, String> next = new HashMap<>(hashes);
      next.put(tokenId, hash);
      return new State(Map.copyOf(next));
    }
  }

  public static void init(ActorSystem<?> system) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx -> create(ctx.getEntityId())));
  }

  public static AdminTokens create(String id) {
    return new AdminTokens(PersistenceId.of(ENTITY_KEY.name(), id));
  }

  private AdminTokens(PersistenceId persistenceId) {
    super(persistenceId);
  }

  @Override
  public State emptyState() {
    return new State(Map.of());
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(Register.class, this::onRegister)
        .onCommand(Check.class, this::onCheck)
        .build();
  }

  private ReplyEffect<Event, State> onRegister(State state, Register command) {
    String known = state.hashes().get(command.tokenId());
    if (command.secretHash().equals(known)) {
      return Effect().reply(command.replyTo(), StatusReply.ack());
    }
    return Effect()
        .persist(new TokenRegistered(command.tokenId(), command.secretHash(), Instant.now()))
        .thenReply(command.replyTo(), s -> StatusReply.ack());
  }

  private ReplyEffect<Event, State> onCheck(State state, Check command) {
    boolean valid =
        ApiToken.hashesEqual(state.hashes().get(command.tokenId()), command.secretHash());
    return Effect().reply(command.replyTo(), new Valid(valid));
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(
            TokenRegistered.class,
            (state, event) -> state.with(event.tokenId(), event.secretHash()))
        .build();
  }
}
