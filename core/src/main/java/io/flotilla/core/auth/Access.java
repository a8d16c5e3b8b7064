package io.flotilla.core.auth;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.factory.Factory;
import io.flotilla.core.persistence.DatabaseHealth;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one access check of every edge (management API, registry, git, the dashboard): credentials →
 * a {@link Principal} → a {@link Decision} for a factory and a scope. Each check asks the
 * credential's owner (the {@code Factory} entity for a factory token, {@code AdminTokens} for the
 * admin token), so a revoked token stops working on every node at once; device credentials are
 * checked by their signature ({@link DeviceIdentities}).
 *
 * <p>The answers, in this order: {@code 401} for no, malformed, unknown or revoked credentials and
 * for a kind of credentials the edge does not take; {@code 404} for anything outside the caller's
 * factory, decided before any lookup of what is asked for, so that it never tells what exists
 * there; {@code 403} for a missing scope in one's own factory and for server-admin actions; {@code
 * 503} when the owner of the credentials does not answer.
 */
public final class Access {

  /** What the management API takes. */
  public static final Set<Principal.Kind> TOKENS =
      EnumSet.of(Principal.Kind.SERVER_ADMIN, Principal.Kind.FACTORY_TOKEN);

  /** What containers.git takes: the server admin token opens no repository. */
  public static final Set<Principal.Kind> FACTORY_TOKENS = EnumSet.of(Principal.Kind.FACTORY_TOKEN);

  /** What the registry takes: factory tokens and devices pulling their factory's images. */
  public static final Set<Principal.Kind> FACTORY_TOKENS_AND_DEVICES =
      EnumSet.of(Principal.Kind.FACTORY_TOKEN, Principal.Kind.DEVICE);

  private static final Logger log = LoggerFactory.getLogger(Access.class);

  private final FlotillaCore core;
  private final DeviceIdentities devices;

  public Access(FlotillaCore core) {
    this(core, DeviceIdentities.NONE);
  }

  private Access(FlotillaCore core, DeviceIdentities devices) {
    this.core = core;
    this.devices = devices;
  }

  /** The same service, recognising devices by {@code devices} as well. */
  public Access withDevices(DeviceIdentities devices) {
    return new Access(core, devices);
  }

  /** Who presented {@code credentials}, when they are genuine and of a kind in {@code accepted}. */
  public CompletionStage<Decision> authenticate(
      Credentials credentials, Set<Principal.Kind> accepted) {
    if (credentials instanceof Credentials.Missing missing) {
      return done(unauthenticated(missing.hint()));
    }
    String secret =
        credentials instanceof Credentials.Token token
            ? token.value()
            : ((Credentials.Basic) credentials).password();
    Optional<ApiToken> parsed = ApiToken.parse(secret);
    if (parsed.isEmpty()) {
      if (credentials instanceof Credentials.Basic basic
          && accepted.contains(Principal.Kind.DEVICE)) {
        return done(
            devices
                .identify(basic.username(), basic.password())
                .<Decision>map(Decision.Allowed::new)
                .orElseGet(
                    () ->
                        unauthenticated(
                            "the credentials are neither a valid API token nor a device's")));
      }
      return done(unauthenticated("the API token is malformed"));
    }
    ApiToken token = parsed.get();
    Principal.Kind kind =
        token.isAdmin() ? Principal.Kind.SERVER_ADMIN : Principal.Kind.FACTORY_TOKEN;
    if (!accepted.contains(kind)) {
      return done(
          unauthenticated("the server admin token is no credential here; use a factory API token"));
    }
    return check(token)
        .thenApply(
            principal ->
                principal
                    .<Decision>map(Decision.Allowed::new)
                    .orElseGet(() -> unauthenticated("the API token is not valid")))
        .exceptionally(Access::unavailable);
  }

  /**
   * Authenticates, then requires {@code scope} on {@code factory}, or only membership of it when
   * scope is null.
   */
  public CompletionStage<Decision> authorize(
      Credentials credentials, Set<Principal.Kind> accepted, String factory, Scope scope) {
    return authenticate(credentials, accepted)
        .thenApply(decision -> then(decision, principal -> decide(principal, factory, scope)));
  }

  /** Authenticates, then requires the server admin. */
  public CompletionStage<Decision> serverAdmin(Credentials credentials) {
    return authenticate(credentials, TOKENS)
        .thenApply(
            decision ->
                then(
                    decision,
                    principal ->
                        principal.admin()
                            ? decision
                            : new Decision.Denied(
                                Decision.Denial.FORBIDDEN,
                                "only the server admin token may do this")));
  }

  /**
   * What {@code principal} may do with {@code scope} in {@code factory}; a null scope asks for
   * membership only.
   */
  public static Decision decide(Principal principal, String factory, Scope scope) {
    if (principal.outside(factory)) {
      return notVisible(factory);
    }
    if (scope == null || principal.mayAccess(factory, scope)) {
      return new Decision.Allowed(principal);
    }
    String who = principal.kind() == Principal.Kind.DEVICE ? "the device" : "the token";
    return new Decision.Denied(
        Decision.Denial.FORBIDDEN,
        who + " lacks scope " + scope.wireName() + " on factory " + factory);
  }

  /** The one answer for anything outside the caller's factory. */
  public static Decision.Denied notVisible(String factory) {
    return new Decision.Denied(
        Decision.Denial.NOT_VISIBLE, "factory " + factory + " is not visible to this token");
  }

  private CompletionStage<Optional<Principal>> check(ApiToken token) {
    if (token.isAdmin()) {
      return core.adminTokens()
          .<AdminTokens.Valid>ask(
              replyTo -> new AdminTokens.Check(token.id(), token.secretHash(), replyTo),
              core.askTimeout())
          .thenApply(
              valid -> valid.valid() ? Optional.of(Principal.serverAdmin()) : Optional.empty());
    }
    return core.factory(token.factory())
        .<Factory.TokenCheck>ask(
            replyTo -> new Factory.CheckToken(token.id(), token.secretHash(), replyTo),
            core.askTimeout())
        .thenApply(
            check ->
                check.valid()
                    ? Optional.of(
                        Principal.factoryToken(token.factory(), token.id(), check.scopes()))
                    : Optional.empty());
  }

  private static Decision then(Decision decision, Function<Principal, Decision> next) {
    return decision instanceof Decision.Allowed allowed
        ? next.apply(allowed.principal())
        : decision;
  }

  private static Decision unavailable(Throwable failure) {
    Throwable cause = failure;
    while (cause instanceof CompletionException && cause.getCause() != null) {
      cause = cause.getCause();
    }
    if (DatabaseHealth.isConnectionFailure(cause)) {
      return new Decision.Denied(
          Decision.Denial.DATABASE_UNAVAILABLE, "the database is unavailable; try again later");
    }
    if (!(cause instanceof TimeoutException)) {
      log.warn("checking a token failed", cause);
    }
    return new Decision.Denied(
        Decision.Denial.UNAVAILABLE, "checking the token did not finish in time; try again");
  }

  private static Decision unauthenticated(String detail) {
    return new Decision.Denied(Decision.Denial.UNAUTHENTICATED, detail);
  }

  private static CompletionStage<Decision> done(Decision decision) {
    return CompletableFuture.completedFuture(decision);
  }
}
