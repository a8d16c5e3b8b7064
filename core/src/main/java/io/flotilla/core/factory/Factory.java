package io.flotilla.core.factory;

import io.flotilla.core.CborSerializable;
import io.flotilla.core.Limits;
import io.flotilla.core.Rejection;
import io.flotilla.core.TaggedEntity;
import io.flotilla.core.auth.ApiToken;
import io.flotilla.core.auth.Scope;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
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
 * A factory: one tenant with its platforms (hardware ids), its API tokens (hashes only) and the
 * mapping of containers.git branches to the tags that devices follow.
 */
public final class Factory extends TaggedEntity<Factory.Command, Factory.Event, Factory.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY =
      EntityTypeKey.create(Command.class, "Factory");
  public static final String TAG = "factory";

  public static final Pattern NAME = Limits.FACTORY_NAME;
  public static final Pattern PLATFORM = Limits.PLATFORM;
  public static final Pattern BRANCH_OR_TAG = Limits.BRANCH_OR_TAG;
  public static final int MAX_TOKENS = Limits.LIVE_TOKENS;

  public sealed interface Command extends CborSerializable {}

  public record Create(List<String> platforms, ActorRef<StatusReply<Summary>> replyTo)
      implements Command {}

  public record Get(ActorRef<StatusReply<Summary>> replyTo) implements Command {}

  public record CreateToken(
      String tokenId,
      String description,
      List<String> scopes,
      String secretHash,
      ActorRef<StatusReply<TokenInfo>> replyTo)
      implements Command {}

  public record RevokeToken(String tokenId, ActorRef<StatusReply<Done>> replyTo)
      implements Command {}

  /**
   * Answers the token's scopes when the id exists, is not revoked and the hash matches; empty
   * otherwise.
   */
  public record CheckToken(String tokenId, String secretHash, ActorRef<TokenCheck> replyTo)
      implements Command {}

  public record SetBranchTag(String branch, String tag, ActorRef<StatusReply<Summary>> replyTo)
      implements Command {}

  public record Summary(
      String name, List<String> platforms, Map<String, String> branchTags, Instant createdAt)
      implements CborSerializable {}

  public record TokenInfo(String id, String description, List<String> scopes, Instant createdAt)
      implements CborSerializable {}

  public record TokenCheck(boolean valid, List<String> scopes) implements CborSerializable {
    public boolean allows(Scope scope) {
      return valid
          && (scopes.contains(scope.wireName()) || scopes.contains(Scope.ADMIN.wireName()));
    }
  }

  public sealed interface Event extends CborSerializable {
    String factory();
  }

  public record Created(
      String factory, List<String> platforms, Map<String, String> branchTags, Instant createdAt)
      implements Event {}

  public record TokenCreated(
      String factory,
      String tokenId,
      String description,
      List<String> scopes,
      String secretHash,
      Instant createdAt)
      implements Event {}

  public record TokenRevoked(String factory, String tokenId, Instant revokedAt) implements Event {}

  public record BranchTagSet(String factory, String branch, String tag, Instant setAt)
      implements Event {}

  public record Token(
      String id,
      String description,
      List<String> scopes,
      String secretHash,
      Instant createdAt,
      Instant revokedAt)
      implements CborSerializable {}

  public record State(
      String name,
      List<String> platforms,
      Map<String, String> branchTags,
      Map<String, Token> tokens,
      Instant createdAt)
      implements CborSerializable {

    boolean exists() {
      return name != null;
    }

    Summary summary() {
      return new Summary(name, platforms, branchTags, createdAt);
    }

    long liveTokens() {
      return tokens.values().stream().filter(t -> t.revokedAt() == null).count();
    }

    State apply(Event event) {
      if (event instanceof Created created) {
        return new State(
            created.factory(),
            created.platforms(),
            created.branchTags(),
            Map.of(),
            created.createdAt());
      } else if (event instanceof TokenCreated created) {
        Map<String, Token> next = new LinkedHashMap<>(tokens);
        next.put(
            created.tokenId(),
            new Token(
                created.tokenId(),
                created.description(),
                created.scopes(),
                created.secretHash(),
                created.createdAt(),
                null));
        return new State(name, platforms, branchTags, next, createdAt);
      } else if (event instanceof TokenRevoked revoked) {
        Map<String, Token> next = new LinkedHashMap<>(tokens);
        Token token = next.get(revoked.tokenId());
        next.put(
            revoked.tokenId(),
            new Token(
                token.id(),
                token.description(),
                token.scopes(),
                token.secretHash(),
                token.createdAt(),
                revoked.revokedAt()));
        return new State(name, platforms, branchTags, next, createdAt);
      } else if (event instanceof BranchTagSet set) {
        Map<String, String> next = new TreeMap<>(branchTags);
        next.put(set.branch(), set.tag());
        return new State(name, platforms, next, tokens, createdAt);
      }
      throw new IllegalStateException("unknown event " + event);
    }
  }

  public static void init(ActorSystem<?> system) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx -> create(ctx.getEntityId())));
  }

  public static Factory create(String name) {
    return new Factory(name);
  }

  private final String name;

  private Factory(String name) {
    super(ENTITY_KEY, name, TAG, 100);
    this.name = name;
  }

  @Override
  public State emptyState() {
    return new State(null, List.of(), Map.of(), Map.of(), null);
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    var builder = newCommandHandlerWithReplyBuilder();
    builder
        .forState(state -> !state.exists())
        .onCommand(Create.class, this::onCreate)
        .onCommand(
            Get.class,
            (state, c) ->
                Effect()
                    .reply(c.replyTo(), Rejection.notFound("factory " + name + " does not exist")))
        .onCommand(
            CreateToken.class,
            (state, c) ->
                Effect()
                    .reply(c.replyTo(), Rejection.notFound("factory " + name + " does not exist")))
        .onCommand(
            RevokeToken.class,
            (state, c) ->
                Effect()
                    .reply(c.replyTo(), Rejection.notFound("factory " + name + " does not exist")))
        .onCommand(
            SetBranchTag.class,
            (state, c) ->
                Effect()
                    .reply(c.replyTo(), Rejection.notFound("factory " + name + " does not exist")))
        .onCommand(
            CheckToken.class,
            (state, c) -> Effect().reply(c.replyTo(), new TokenCheck(false, List.of())));
    builder
        .forState(State::exists)
        .onCommand(
            Create.class,
            (state, c) ->
                Effect()
                    .reply(c.replyTo(), Rejection.conflict("factory " + name + " already exists")))
        .onCommand(
            Get.class,
            (state, c) -> Effect().reply(c.replyTo(), StatusReply.success(state.summary())))
        .onCommand(CreateToken.class, this::onCreateToken)
        .onCommand(RevokeToken.class, this::onRevokeToken)
        .onCommand(CheckToken.class, this::onCheckToken)
        .onCommand(SetBranchTag.class, this::onSetBranchTag);
    return builder.build();
  }

  private ReplyEffect<Event, State> onCreate(State state, Create command) {
    if (!NAME.matcher(name).matches()) {
      return Effect()
          .reply(command.replyTo(), Rejection.invalid("factory name must match " + NAME.pattern()));
    }
    String problem =
        Limits.listProblem("platforms", command.platforms(), Limits.PLATFORMS, PLATFORM);
    if (problem != null) {
      return Effect().reply(command.replyTo(), Rejection.invalid(problem));
    }
    List<String> platforms =
        command.platforms() == null || command.platforms().isEmpty()
            ? List.of("amd64-linux")
            : List.copyOf(command.platforms());
    if (platforms.stream().distinct().count() != platforms.size()) {
      return Effect().reply(command.replyTo(), Rejection.invalid("platforms must not repeat"));
    }
    return Effect()
        .persist(new Created(name, platforms, Map.of("main", "main"), Instant.now()))
        .thenReply(command.replyTo(), s -> StatusReply.success(s.summary()));
  }

  private ReplyEffect<Event, State> onCreateToken(State state, CreateToken command) {
    String problem = scopesProblem(command.scopes());
    if (problem == null) {
      problem = Limits.textProblem("description", command.description());
    }
    if (problem != null) {
      return Effect().reply(command.replyTo(), Rejection.invalid(problem));
    }
    String description = command.description() == null ? "" : command.description();
    if (state.tokens().containsKey(command.tokenId())) {
      return Effect()
          .reply(
              command.replyTo(), Rejection.conflict("token id " + command.tokenId() + " exists"));
    }
    if (state.liveTokens() >= MAX_TOKENS) {
      return Effect()
          .reply(
              command.replyTo(),
              Rejection.conflict("factory has " + MAX_TOKENS + " tokens; revoke some first"));
    }
    TokenCreated event =
        new TokenCreated(
            name,
            command.tokenId(),
            description,
            List.copyOf(command.scopes()),
            command.secretHash(),
            Instant.now());
    return Effect()
        .persist(event)
        .thenReply(
            command.replyTo(),
            s ->
                StatusReply.success(
                    new TokenInfo(
                        event.tokenId(), event.description(), event.scopes(), event.createdAt())));
  }

  /**
   * Known scopes, each once: the list is stored as given and must fit {@code
   * factory_tokens.scopes}.
   */
  public static String scopesProblem(List<String> scopes) {
    if (scopes == null || scopes.isEmpty()) {
      return "a token needs at least one scope";
    }
    if (scopes.size() > Scope.values().length) {
      return "a token has at most " + Scope.values().length + " scopes";
    }
    for (String scope : scopes) {
      if (Scope.fromWireName(scope).isEmpty()) {
        return "unknown scope '" + Limits.shortened(scope) + "'";
      }
    }
    if (scopes.stream().distinct().count() != scopes.size()) {
      return "scopes must not repeat";
    }
    return null;
  }

  private ReplyEffect<Event, State> onRevokeToken(State state, RevokeToken command) {
    Token token = state.tokens().get(command.tokenId());
    if (token == null) {
      return Effect().reply(command.replyTo(), Rejection.notFound("no token " + command.tokenId()));
    }
    if (token.revokedAt() != null) {
      return Effect().reply(command.replyTo(), StatusReply.ack());
    }
    return Effect()
        .persist(new TokenRevoked(name, command.tokenId(), Instant.now()))
        .thenReply(command.replyTo(), s -> StatusReply.ack());
  }

  private ReplyEffect<Event, State> onCheckToken(State state, CheckToken command) {
    Token token = state.tokens().get(command.tokenId());
    boolean valid =
        token != null
            && token.revokedAt() == null
            && ApiToken.hashesEqual(token.secretHash(), command.secretHash());
    return Effect()
        .reply(command.replyTo(), new TokenCheck(valid, valid ? token.scopes() : List.of()));
  }

  private ReplyEffect<Event, State> onSetBranchTag(State state, SetBranchTag command) {
    if (command.branch() == null || !BRANCH_OR_TAG.matcher(command.branch()).matches()) {
      return Effect()
          .reply(
              command.replyTo(), Rejection.invalid("branch must match " + BRANCH_OR_TAG.pattern()));
    }
    if (command.tag() == null || !BRANCH_OR_TAG.matcher(command.tag()).matches()) {
      return Effect()
          .reply(command.replyTo(), Rejection.invalid("tag must match " + BRANCH_OR_TAG.pattern()));
    }
    if (command.tag().equals(state.branchTags().get(command.branch()))) {
      return Effect().reply(command.replyTo(), StatusReply.success(state.summary()));
    }
    if (!state.branchTags().containsKey(command.branch())
        && state.branchTags().size() >= Limits.BRANCHES) {
      return Effect()
          .reply(
              command.replyTo(),
              Rejection.conflict("factory maps " + Limits.BRANCHES + " branches already"));
    }
    return Effect()
        .persist(new BranchTagSet(name, command.branch(), command.tag(), Instant.now()))
        .thenReply(command.replyTo(), s -> StatusReply.success(s.summary()));
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }
}
