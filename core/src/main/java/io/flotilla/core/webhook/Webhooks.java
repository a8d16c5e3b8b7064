package io.flotilla.core.webhook;

import io.flotilla.core.CborSerializable;
import io.flotilla.core.Limits;
import io.flotilla.core.Rejection;
import io.flotilla.core.TaggedEntity;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;

/**
 * The webhooks of one factory (entity id: the factory's name): where each hook posts, which event
 * kinds it wants and the secret its deliveries are signed with. The secret stays in the journal in
 * clear because every delivery is signed with it (a hash could not sign); the API shows it once, at
 * creation. A ping is an event too, so that it is delivered from the same durable outbox as every
 * other notification ({@link WebhookOutbox}).
 */
public final class Webhooks extends TaggedEntity<Webhooks.Command, Webhooks.Event, Webhooks.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY =
      EntityTypeKey.create(Command.class, "Webhooks");
  public static final String TAG = "webhooks";

  public sealed interface Command extends CborSerializable {}

  public record Create(
      String id,
      String url,
      List<String> events,
      String secret,
      String by,
      Instant at,
      ActorRef<StatusReply<Hook>> replyTo)
      implements Command {}

  public record Delete(String id, String by, Instant at, ActorRef<StatusReply<Done>> replyTo)
      implements Command {}

  public record Ping(
      String id, String delivery, String by, Instant at, ActorRef<StatusReply<Hook>> replyTo)
      implements Command {}

  public record GetHooks(ActorRef<StatusReply<HookList>> replyTo) implements Command {}

  /** One hook as stored; the API leaves the secret out of every answer but the creation's. */
  public record Hook(
      String id,
      String url,
      List<String> events,
      String secret,
      String createdBy,
      Instant createdAt)
      implements CborSerializable {

    public boolean wants(String kind) {
      return events.contains(kind);
    }
  }

  /** A record around the list, so that the reply crosses nodes (docs/development.md). */
  public record HookList(List<Hook> hooks) implements CborSerializable {}

  public sealed interface Event extends CborSerializable {
    String factory();

    String id();

    String by();

    Instant at();
  }

  public record HookCreated(
      String factory,
      String id,
      String url,
      List<String> events,
      String secret,
      String by,
      Instant at)
      implements Event {}

  public record HookDeleted(String factory, String id, String by, Instant at) implements Event {}

  /** {@code delivery}: the id of the ping's delivery, chosen by the API so it can answer it. */
  public record PingRequested(String factory, String id, String delivery, String by, Instant at)
      implements Event {}

  public record State(List<Hook> hooks) implements CborSerializable {

    static final State EMPTY = new State(List.of());

    public Hook hook(String id) {
      for (Hook hook : hooks) {
        if (hook.id().equals(id)) {
          return hook;
        }
      }
      return null;
    }

    State apply(Event event) {
      List<Hook> next = new ArrayList<>(hooks);
      if (event instanceof HookCreated c) {
        next.add(new Hook(c.id(), c.url(), c.events(), c.secret(), c.by(), c.at()));
      } else if (event instanceof HookDeleted d) {
        next.removeIf(h -> h.id().equals(d.id()));
      } else if (event instanceof PingRequested) {
        return this;
      } else {
        throw new IllegalStateException("unknown event " + event);
      }
      return new State(List.copyOf(next));
    }
  }

  public static void init(ActorSystem<?> system) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx -> new Webhooks(ctx.getEntityId())));
  }

  private final String factory;

  public Webhooks(String factory) {
    super(ENTITY_KEY, factory, TAG, 100);
    this.factory = factory;
  }

  @Override
  public State emptyState() {
    return State.EMPTY;
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(Create.class, this::onCreate)
        .onCommand(Delete.class, this::onDelete)
        .onCommand(Ping.class, this::onPing)
        .onCommand(
            GetHooks.class,
            (state, c) ->
                Effect().reply(c.replyTo(), StatusReply.success(new HookList(state.hooks()))))
        .build();
  }

  private ReplyEffect<Event, State> onCreate(State state, Create c) {
    String problem = WebhookKinds.hookProblem(c.url(), c.events());
    if (problem == null && (c.id() == null || !Limits.WEBHOOK_ID.matcher(c.id()).matches())) {
      problem = "webhook id must match " + Limits.WEBHOOK_ID.pattern();
    }
    if (problem == null && (c.secret() == null || c.secret().length() > Limits.WEBHOOK_SECRET)) {
      problem = "a secret of at most " + Limits.WEBHOOK_SECRET + " characters is needed";
    }
    if (problem != null) {
      return Effect().reply(c.replyTo(), Rejection.invalid(problem));
    }
    if (state.hook(c.id()) != null) {
      return Effect().reply(c.replyTo(), Rejection.conflict("webhook " + c.id() + " exists"));
    }
    if (state.hooks().size() >= Limits.WEBHOOKS) {
      return Effect()
          .reply(
              c.replyTo(),
              Rejection.conflict("a factory has at most " + Limits.WEBHOOKS + " webhooks"));
    }
    return Effect()
        .persist(
            new HookCreated(
                factory, c.id(), c.url(), List.copyOf(c.events()), c.secret(), c.by(), c.at()))
        .thenReply(c.replyTo(), s -> StatusReply.success(s.hook(c.id())));
  }

  private ReplyEffect<Event, State> onDelete(State state, Delete c) {
    if (state.hook(c.id()) == null) {
      return Effect().reply(c.replyTo(), notFound(c.id()));
    }
    return Effect()
        .persist(new HookDeleted(factory, c.id(), c.by(), c.at()))
        .thenReply(c.replyTo(), s -> StatusReply.success(Done.getInstance()));
  }

  private ReplyEffect<Event, State> onPing(State state, Ping c) {
    Hook hook = state.hook(c.id());
    if (hook == null) {
      return Effect().reply(c.replyTo(), notFound(c.id()));
    }
    if (c.delivery() == null || !Limits.WEBHOOK_DELIVERY_ID.matcher(c.delivery()).matches()) {
      return Effect()
          .reply(
              c.replyTo(),
              Rejection.invalid("delivery id must match " + Limits.WEBHOOK_DELIVERY_ID.pattern()));
    }
    return Effect()
        .persist(new PingRequested(factory, c.id(), c.delivery(), c.by(), c.at()))
        .thenReply(c.replyTo(), s -> StatusReply.success(hook));
  }

  private <T> StatusReply<T> notFound(String id) {
    return Rejection.notFound("no webhook " + id + " in factory " + factory);
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }
}
