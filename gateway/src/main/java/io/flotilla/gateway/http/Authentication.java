package io.flotilla.gateway.http;

import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.onComplete;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.auth.Access;
import io.flotilla.core.auth.ApiToken;
import io.flotilla.core.auth.Credentials;
import io.flotilla.core.auth.Decision;
import io.flotilla.core.auth.Principal;
import io.flotilla.core.auth.Scope;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The management API's side of {@link Access}: reads {@code Authorization: Bearer <token>} or
 * Foundries' {@code OSF-TOKEN: <token>} and answers a denial as a JSON error.
 */
public final class Authentication {

  /** Far above the base64 of the longest token: anything longer is not decoded. */
  private static final int MAX_BASE64_TOKEN = 512;

  private static final String HINT = "an API token is required (Authorization: Bearer <token>)";

  private final Access access;

  public Authentication(FlotillaCore core) {
    this.access = core.access();
  }

  public Route authenticated(Function<Principal, Route> inner) {
    return decided(credentials -> access.authenticate(credentials, Access.TOKENS), inner);
  }

  /**
   * Authenticates, then requires {@code scope} on {@code factory} (or server admin). Another
   * factory's token gets the 404 of {@link Access#notVisible}, whether or not the factory exists; a
   * missing scope in one's own factory is 403.
   */
  public Route authorized(String factory, Scope scope, Supplier<Route> inner) {
    return decided(
        credentials -> access.authorize(credentials, Access.TOKENS, factory, scope),
        principal -> inner.get());
  }

  /** As {@link #authorized}, handing the caller to {@code inner}. */
  public Route authorizedAs(String factory, Scope scope, Function<Principal, Route> inner) {
    return decided(
        credentials -> access.authorize(credentials, Access.TOKENS, factory, scope), inner);
  }

  /**
   * Authenticates, then requires membership of {@code factory} (or server admin), with no
   * particular scope.
   */
  public Route member(String factory, Supplier<Route> inner) {
    return authorized(factory, null, inner);
  }

  public Route adminOnly(Supplier<Route> inner) {
    return decided(access::serverAdmin, principal -> inner.get());
  }

  private static Route decided(
      Function<Credentials, CompletionStage<Decision>> decide, Function<Principal, Route> inner) {
    return extractRequest(
        request ->
            onComplete(
                decide.apply(credentials(request)),
                result -> {
                  if (result.isFailure()) {
                    return Errors.failure(result.failed().get());
                  }
                  return result.get() instanceof Decision.Allowed allowed
                      ? inner.apply(allowed.principal())
                      : refusal((Decision.Denied) result.get());
                }));
  }

  /** The answer to a denied decision, the same wherever the decision was made. */
  public static Route refusal(Decision.Denied denied) {
    return switch (denied.denial()) {
      case UNAUTHENTICATED -> Errors.unauthorized(denied.detail());
      case NOT_VISIBLE -> Errors.notFound(denied.detail());
      case FORBIDDEN -> Errors.forbidden(denied.detail());
      case UNAVAILABLE ->
          Errors.error(StatusCodes.SERVICE_UNAVAILABLE, "unavailable", denied.detail());
      case DATABASE_UNAVAILABLE -> Errors.databaseUnavailable();
    };
  }

  /**
   * fioup registers with {@code Bearer base64(<token>)} after the device authorization grant (fioup
   * {@code internal/register/auth.go}, {@code authGetHttpHeaders}); a token is taken plain or so.
   */
  private static String bearer(String value) {
    if (ApiToken.parse(value).isPresent() || value.length() > MAX_BASE64_TOKEN) {
      return value;
    }
    try {
      String decoded = new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8);
      return ApiToken.parse(decoded).isPresent() ? decoded : value;
    } catch (IllegalArgumentException e) {
      return value;
    }
  }

  private static Credentials credentials(HttpRequest request) {
    Optional<String> authorization = request.getHeader("Authorization").map(h -> h.value());
    if (authorization.isPresent()) {
      String value = authorization.get().strip();
      return value.regionMatches(true, 0, "Bearer ", 0, 7)
          ? new Credentials.Token(bearer(value.substring(7).strip()))
          : new Credentials.Missing(HINT);
    }
    return request
        .getHeader("OSF-TOKEN")
        .<Credentials>map(h -> new Credentials.Token(h.value().strip()))
        .orElseGet(() -> new Credentials.Missing(HINT));
  }
}
