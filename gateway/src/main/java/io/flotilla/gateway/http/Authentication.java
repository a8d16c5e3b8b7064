package io.flotilla.gateway.http;

import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.onComplete;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.auth.AdminTokens;
import io.flotilla.core.auth.ApiToken;
import io.flotilla.core.auth.Scope;
import io.flotilla.core.factory.Factory;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Bearer-token authentication: {@code Authorization: Bearer <token>} or Foundries' {@code OSF-TOKEN: <token>}.
 * Each check asks the token's owner entity, so a revoked token stops working on every node at once.
 */
public final class Authentication {

  private final FlotillaCore core;

  public Authentication(FlotillaCore core) {
    this.core = core;
  }

  public Route authenticated(Function<Principal, Route> inner) {
    return extractRequest(
        request -> {
          Optional<String> presented = presentedToken(request);
          if (presented.isEmpty()) {
            return Errors.unauthorized("an API token is required (Authorization: Bearer <token>)");
          }
          Optional<ApiToken> token = ApiToken.parse(presented.get());
          if (token.isEmpty()) {
            return Errors.unauthorized("the API token is malformed");
          }
          return onComplete(
              principal(token.get()),
              result -> {
                if (result.isFailure()) {
                  return Errors.failure(result.failed().get());
                }
                return result.get().map(inner).orElseGet(() -> Errors.unauthorized("the API token is not valid"));
              });
        });
  }

  /**
   * Authenticates, then requires {@code scope} on {@code factory} (or server admin). Another factory's token gets
   * the 404 of {@link #notVisible}, whether or not the factory exists; a missing scope in one's own factory is 403.
   */
  public Route authorized(String factory, Scope scope, Supplier<Route> inner) {
    return authenticated(
        principal -> {
          if (principal.outside(factory)) {
            return notVisible(factory);
          }
          return principal.mayAccess(factory, scope)
              ? inner.get()
              : Errors.forbidden("the token lacks scope " + scope.wireName() + " on factory " + factory);
        });
  }

  /** The one answer for anything outside the caller's factory, so that it never tells what exists there. */
  public static Route notVisible(String factory) {
    return Errors.notFound("factory " + factory + " is not visible to this token");
  }

  public Route adminOnly(Supplier<Route> inner) {
    return authenticated(principal -> principal.admin() ? inner.get() : Errors.forbidden("only the server admin token may do this"));
  }

  private CompletionStage<Optional<Principal>> principal(ApiToken token) {
    if (token.isAdmin()) {
      return core.adminTokens()
          .<AdminTokens.Valid>ask(replyTo -> new AdminTokens.Check(token.id(), token.secretHash(), replyTo), core.askTimeout())
          .thenApply(valid -> valid.valid() ? Optional.of(Principal.serverAdmin()) : Optional.empty());
    }
    if (token.factory() == null) {
      return CompletableFuture.completedFuture(Optional.empty());
    }
    return core.factory(token.factory())
        .<Factory.TokenCheck>ask(replyTo -> new Factory.CheckToken(token.id(), token.secretHash(), replyTo), core.askTimeout())
        .thenApply(check -> check.valid() ? Optional.of(new Principal(false, token.factory(), check.scopes())) : Optional.empty());
  }

  private static Optional<String> presentedToken(HttpRequest request) {
    Optional<String> authorization = request.getHeader("Authorization").map(h -> h.value());
    if (authorization.isPresent()) {
      String value = authorization.get().strip();
      return value.regionMatches(true, 0, "Bearer ", 0, 7) ? Optional.of(value.substring(7).strip()) : Optional.empty();
    }
    return request.getHeader("OSF-TOKEN").map(h -> h.value().strip());
  }
}
