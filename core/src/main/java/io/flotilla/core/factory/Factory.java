package io.flotilla.core.factory;

import io.flotilla.core.CborSerializable;
import io.flotilla.core.Limits;
import io.flotilla.core.Rejection;
import io.flotilla.core.TaggedEntity;
import io.flotilla.core.auth.ApiToken;
import io.flotilla.core.auth.Scope;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
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
  private static final Pattern HASH = Pattern.compile("[0-9a-f]{64}");

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

  /**
   * A device asks to be registered in this factory (RFC 8628 §3.1); an operator decides by the user
   * code. Only the hash of the device code is kept: the device code is the device's secret.
   */
  public record RequestDeviceAuthorization(
      String userCode,
      String deviceCodeHash,
      String clientId,
      Instant expiresAt,
      ActorRef<StatusReply<Done>> replyTo)
      implements Command {}

  public record DecideDeviceAuthorization(
      String userCode,
      boolean approved,
      String decidedBy,
      ActorRef<StatusReply<DeviceAuthorization>> replyTo)
      implements Command {}

  /** The authorizations neither expired nor redeemed, oldest first. */
  public record ListDeviceAuthorizations(ActorRef<StatusReply<DeviceAuthorizations>> replyTo)
      implements Command {}

  /**
   * The device's poll of the token endpoint (RFC 8628 §3.4, §3.5): an approved authorization is
   * redeemed, once, as a factory token with only {@code devices:create} that expires at {@code
   * tokenExpiresAt}. Polls closer together than {@code minimumIntervalMillis} are told to slow
   * down.
   */
  public record PollDeviceAuthorization(
      String deviceCodeHash,
      String clientId,
      String tokenId,
      String tokenSecretHash,
      Instant tokenExpiresAt,
      long minimumIntervalMillis,
      ActorRef<DevicePoll> replyTo)
      implements Command {}

  public record Summary(
      String name, List<String> platforms, Map<String, String> branchTags, Instant createdAt)
      implements CborSerializable {}

  public record TokenInfo(String id, String description, List<String> scopes, Instant createdAt)
      implements CborSerializable {}

  /**
   * A device authorization as the operator sees it; {@code state} is pending, approved or denied.
   */
  public record DeviceAuthorization(
      String userCode,
      String clientId,
      String state,
      Instant requestedAt,
      Instant expiresAt,
      String decidedBy,
      Instant decidedAt)
      implements CborSerializable {}

  public record DeviceAuthorizations(List<DeviceAuthorization> authorizations)
      implements CborSerializable {}

  /**
   * A poll's outcome: the token, or {@code error}, one of RFC 8628's codes ({@code
   * authorization_pending}, {@code slow_down}, {@code access_denied}, {@code expired_token}),
   * {@code invalid_grant} for a device code that is unknown, redeemed or another client's, or
   * {@code temporarily_unavailable} when the factory holds its maximum of live tokens.
   */
  public record DevicePoll(String error, TokenInfo token) implements CborSerializable {}

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

  /**
   * {@code expiresAt} and {@code deviceAuthorization} (the user code the token redeemed) came with
   * device authorization; a token recorded before them has neither and never expires.
   */
  public record TokenCreated(
      String factory,
      String tokenId,
      String description,
      List<String> scopes,
      String secretHash,
      Instant createdAt,
      Instant expiresAt,
      String deviceAuthorization)
      implements Event {}

  public record TokenRevoked(String factory, String tokenId, Instant revokedAt) implements Event {}

  public record BranchTagSet(String factory, String branch, String tag, Instant setAt)
      implements Event {}

  public record DeviceAuthorizationRequested(
      String factory,
      String userCode,
      String deviceCodeHash,
      String clientId,
      Instant requestedAt,
      Instant expiresAt)
      implements Event {}

  public record DeviceAuthorizationDecided(
      String factory, String userCode, boolean approved, String decidedBy, Instant decidedAt)
      implements Event {}

  public record Token(
      String id,
      String description,
      List<String> scopes,
      String secretHash,
      Instant createdAt,
      Instant revokedAt,
      Instant expiresAt)
      implements CborSerializable {

    boolean live(Instant now) {
      return revokedAt == null && (expiresAt == null || now.isBefore(expiresAt));
    }
  }

  /** A device authorization in the state; {@code approved} is null until decided. */
  public record DeviceGrant(
      String userCode,
      String deviceCodeHash,
      String clientId,
      Instant requestedAt,
      Instant expiresAt,
      Boolean approved,
      String decidedBy,
      Instant decidedAt)
      implements CborSerializable {

    boolean expired(Instant now) {
      return !now.isBefore(expiresAt);
    }

    DeviceAuthorization view() {
      String state = approved == null ? "pending" : approved ? "approved" : "denied";
      return new DeviceAuthorization(
          userCode, clientId, state, requestedAt, expiresAt, decidedBy, decidedAt);
    }
  }

  public record State(
      String name,
      List<String> platforms,
      Map<String, String> branchTags,
      Map<String, Token> tokens,
      Instant createdAt,
      Map<String, DeviceGrant> deviceAuthorizations)
      implements CborSerializable {

    /** A snapshot taken before device authorization has none. */
    public State {
      deviceAuthorizations = deviceAuthorizations == null ? Map.of() : deviceAuthorizations;
    }

    boolean exists() {
      return name != null;
    }

    Summary summary() {
      return new Summary(name, platforms, branchTags, createdAt);
    }

    long liveTokens(Instant now) {
      return tokens.values().stream().filter(t -> t.live(now)).count();
    }

    List<DeviceGrant> unexpiredGrants(Instant now) {
      return deviceAuthorizations.values().stream().filter(g -> !g.expired(now)).toList();
    }

    State apply(Event event) {
      if (event instanceof Created created) {
        return new State(
            created.factory(),
            created.platforms(),
            created.branchTags(),
            Map.of(),
            created.createdAt(),
            Map.of());
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
                null,
                created.expiresAt()));
        Map<String, DeviceGrant> grants = deviceAuthorizations;
        if (created.deviceAuthorization() != null) {
          grants = new LinkedHashMap<>(deviceAuthorizations);
          grants.remove(created.deviceAuthorization());
        }
        return new State(name, platforms, branchTags, next, createdAt, grants);
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
                revoked.revokedAt(),
                token.expiresAt()));
        return new State(name, platforms, branchTags, next, createdAt, deviceAuthorizations);
      } else if (event instanceof BranchTagSet set) {
        Map<String, String> next = new TreeMap<>(branchTags);
        next.put(set.branch(), set.tag());
        return new State(name, platforms, next, tokens, createdAt, deviceAuthorizations);
      } else if (event instanceof DeviceAuthorizationRequested requested) {
        // expired grants leave the state with the next request, so it holds at most the limit
        Map<String, DeviceGrant> next = new LinkedHashMap<>();
        deviceAuthorizations.forEach(
            (code, grant) -> {
              if (!grant.expired(requested.requestedAt())) {
                next.put(code, grant);
              }
            });
        next.put(
            requested.userCode(),
            new DeviceGrant(
                requested.userCode(),
                requested.deviceCodeHash(),
                requested.clientId(),
                requested.requestedAt(),
                requested.expiresAt(),
                null,
                null,
                null));
        return new State(name, platforms, branchTags, tokens, createdAt, next);
      } else if (event instanceof DeviceAuthorizationDecided decided) {
        Map<String, DeviceGrant> next = new LinkedHashMap<>(deviceAuthorizations);
        DeviceGrant grant = next.get(decided.userCode());
        next.put(
            decided.userCode(),
            new DeviceGrant(
                grant.userCode(),
                grant.deviceCodeHash(),
                grant.clientId(),
                grant.requestedAt(),
                grant.expiresAt(),
                decided.approved(),
                decided.decidedBy(),
                decided.decidedAt()));
        return new State(name, platforms, branchTags, tokens, createdAt, next);
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

  /**
   * When each device code last polled, in memory only: a lost entry (passivation, a move to another
   * node) at worst lets one early poll through.
   */
  private final Map<String, Instant> lastPolls = new HashMap<>();

  private Factory(String name) {
    super(ENTITY_KEY, name, TAG, 100);
    this.name = name;
  }

  @Override
  public State emptyState() {
    return new State(null, List.of(), Map.of(), Map.of(), null, Map.of());
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
            RequestDeviceAuthorization.class,
            (state, c) ->
                Effect()
                    .reply(c.replyTo(), Rejection.notFound("factory " + name + " does not exist")))
        .onCommand(
            DecideDeviceAuthorization.class,
            (state, c) ->
                Effect()
                    .reply(c.replyTo(), Rejection.notFound("factory " + name + " does not exist")))
        .onCommand(
            ListDeviceAuthorizations.class,
            (state, c) ->
                Effect()
                    .reply(c.replyTo(), Rejection.notFound("factory " + name + " does not exist")))
        .onCommand(
            PollDeviceAuthorization.class,
            (state, c) -> Effect().reply(c.replyTo(), new DevicePoll("invalid_grant", null)))
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
        .onCommand(SetBranchTag.class, this::onSetBranchTag)
        .onCommand(RequestDeviceAuthorization.class, this::onRequestDeviceAuthorization)
        .onCommand(DecideDeviceAuthorization.class, this::onDecideDeviceAuthorization)
        .onCommand(ListDeviceAuthorizations.class, this::onListDeviceAuthorizations)
        .onCommand(PollDeviceAuthorization.class, this::onPollDeviceAuthorization);
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
    if (state.liveTokens(Instant.now()) >= MAX_TOKENS) {
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
            Instant.now(),
            null,
            null);
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
            && token.live(Instant.now())
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

  private ReplyEffect<Event, State> onRequestDeviceAuthorization(
      State state, RequestDeviceAuthorization command) {
    Instant now = Instant.now();
    if (command.userCode() == null || !Limits.USER_CODE.matcher(command.userCode()).matches()) {
      return Effect()
          .reply(
              command.replyTo(),
              Rejection.invalid("user code must match " + Limits.USER_CODE.pattern()));
    }
    if (command.deviceCodeHash() == null || !HASH.matcher(command.deviceCodeHash()).matches()) {
      return Effect()
          .reply(command.replyTo(), Rejection.invalid("device code hash must be SHA-256 hex"));
    }
    if (command.clientId() == null || !Limits.DEVICE_UUID.matcher(command.clientId()).matches()) {
      return Effect()
          .reply(
              command.replyTo(),
              Rejection.invalid("client_id must match " + Limits.DEVICE_UUID.pattern()));
    }
    if (command.expiresAt() == null || !command.expiresAt().isAfter(now)) {
      return Effect().reply(command.replyTo(), Rejection.invalid("expiry must be in the future"));
    }
    List<DeviceGrant> unexpired = state.unexpiredGrants(now);
    if (unexpired.size() >= Limits.PENDING_DEVICE_AUTHORIZATIONS) {
      return Effect()
          .reply(
              command.replyTo(),
              Rejection.conflict(
                  "factory "
                      + name
                      + " has "
                      + Limits.PENDING_DEVICE_AUTHORIZATIONS
                      + " device authorizations waiting; decide some or wait until they expire"));
    }
    if (unexpired.stream().anyMatch(g -> g.userCode().equals(command.userCode()))) {
      return Effect()
          .reply(
              command.replyTo(),
              Rejection.conflict("user code " + command.userCode() + " is taken"));
    }
    return Effect()
        .persist(
            new DeviceAuthorizationRequested(
                name,
                command.userCode(),
                command.deviceCodeHash(),
                command.clientId(),
                now,
                command.expiresAt()))
        .thenReply(command.replyTo(), s -> StatusReply.ack());
  }

  private ReplyEffect<Event, State> onDecideDeviceAuthorization(
      State state, DecideDeviceAuthorization command) {
    DeviceGrant grant =
        command.userCode() == null ? null : state.deviceAuthorizations().get(command.userCode());
    if (grant == null || grant.expired(Instant.now())) {
      return Effect()
          .reply(
              command.replyTo(),
              Rejection.notFound(
                  "no device authorization waits under user code "
                      + Limits.shortened(command.userCode())));
    }
    String problem = Limits.textProblem("decidedBy", command.decidedBy());
    if (problem != null) {
      return Effect().reply(command.replyTo(), Rejection.invalid(problem));
    }
    if (grant.approved() != null) {
      return grant.approved() == command.approved()
          ? Effect().reply(command.replyTo(), StatusReply.success(grant.view()))
          : Effect()
              .reply(
                  command.replyTo(),
                  Rejection.conflict(
                      "device authorization " + grant.userCode() + " is " + grant.view().state()));
    }
    return Effect()
        .persist(
            new DeviceAuthorizationDecided(
                name, grant.userCode(), command.approved(), command.decidedBy(), Instant.now()))
        .thenReply(
            command.replyTo(),
            s -> StatusReply.success(s.deviceAuthorizations().get(grant.userCode()).view()));
  }

  private ReplyEffect<Event, State> onListDeviceAuthorizations(
      State state, ListDeviceAuthorizations command) {
    List<DeviceAuthorization> views = new ArrayList<>();
    state.unexpiredGrants(Instant.now()).stream()
        .sorted(Comparator.comparing(DeviceGrant::requestedAt))
        .forEach(g -> views.add(g.view()));
    return Effect().reply(command.replyTo(), StatusReply.success(new DeviceAuthorizations(views)));
  }

  private ReplyEffect<Event, State> onPollDeviceAuthorization(
      State state, PollDeviceAuthorization command) {
    Instant now = Instant.now();
    lastPolls
        .keySet()
        .retainAll(
            state.deviceAuthorizations().values().stream()
                .map(DeviceGrant::deviceCodeHash)
                .toList());
    DeviceGrant grant =
        state.deviceAuthorizations().values().stream()
            .filter(g -> ApiToken.hashesEqual(g.deviceCodeHash(), command.deviceCodeHash()))
            .findFirst()
            .orElse(null);
    if (grant == null || !grant.clientId().equals(command.clientId())) {
      return Effect().reply(command.replyTo(), new DevicePoll("invalid_grant", null));
    }
    if (grant.expired(now)) {
      return Effect().reply(command.replyTo(), new DevicePoll("expired_token", null));
    }
    Instant last = lastPolls.put(grant.deviceCodeHash(), now);
    if (last != null && last.plusMillis(command.minimumIntervalMillis()).isAfter(now)) {
      return Effect().reply(command.replyTo(), new DevicePoll("slow_down", null));
    }
    if (grant.approved() == null) {
      return Effect().reply(command.replyTo(), new DevicePoll("authorization_pending", null));
    }
    if (!grant.approved()) {
      return Effect().reply(command.replyTo(), new DevicePoll("access_denied", null));
    }
    if (state.liveTokens(now) >= MAX_TOKENS || state.tokens().containsKey(command.tokenId())) {
      return Effect().reply(command.replyTo(), new DevicePoll("temporarily_unavailable", null));
    }
    TokenCreated event =
        new TokenCreated(
            name,
            command.tokenId(),
            "device authorization " + grant.userCode() + " of " + grant.clientId(),
            List.of(Scope.DEVICES_CREATE.wireName()),
            command.tokenSecretHash(),
            now,
            command.tokenExpiresAt(),
            grant.userCode());
    return Effect()
        .persist(event)
        .thenReply(
            command.replyTo(),
            s ->
                new DevicePoll(
                    null,
                    new TokenInfo(
                        event.tokenId(), event.description(), event.scopes(), event.createdAt())));
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }
}
