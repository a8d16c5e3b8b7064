package io.flotilla.gateway.device;

import static org.apache.pekko.http.javadsl.server.Directives.*;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.Limits;
import io.flotilla.core.Rejection;
import io.flotilla.core.auth.ApiToken;
import io.flotilla.core.auth.Principal;
import io.flotilla.core.auth.Scope;
import io.flotilla.core.factory.Factory;
import io.flotilla.gateway.http.Authentication;
import io.flotilla.gateway.http.Errors;
import io.flotilla.gateway.http.JsonSupport;
import io.flotilla.gateway.http.Replies;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.regex.Matcher;
import org.apache.pekko.Done;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.Uri;
import org.apache.pekko.http.javadsl.model.headers.CacheControl;
import org.apache.pekko.http.javadsl.model.headers.CacheDirectives;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;

/**
 * The OAuth 2.0 device authorization grant (RFC 8628) as {@code fioup register} without {@code
 * --api-token} uses it (fioup {@code internal/register/auth.go}, {@code getOauthToken}): {@code
 * POST {OAUTH_BASE}/authorization/device/} and {@code POST {OAUTH_BASE}/token/} with form bodies,
 * {@code OAUTH_BASE} being {@code http(s)://<api>/oauth}. The grant lives in the {@code Factory}
 * entity named by the request's scope ({@code <factory>:devices:create}); an operator decides under
 * {@code /api/v1/factories/{f}/device-authorizations/{user_code}}; the approved device's poll is
 * answered with a factory token that holds only {@code devices:create} and expires soon.
 */
final class DeviceAuthorizationRoutes {

  static final String GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code";
  private static final String USER_CODE_LETTERS = "BCDFGHJKLMNPQRSTVWXZ";
  private static final String SCOPE_SUFFIX = ":" + Scope.DEVICES_CREATE.wireName();
  private static final SecureRandom RANDOM = new SecureRandom();

  /** The device's wire answer of RFC 8628 §3.2. */
  record DeviceAuthorizationAnswer(
      String device_code,
      String user_code,
      String verification_uri,
      String verification_uri_complete,
      long expires_in,
      long interval) {}

  /** RFC 6749 §5.1. */
  record TokenAnswer(String access_token, String token_type, long expires_in, String scope) {}

  /** The operator's decision. */
  record Decision(Boolean approved) {}

  private final FlotillaCore core;
  private final Authentication auth;
  private final Duration codeTtl;
  private final Duration interval;
  private final Duration tokenTtl;

  DeviceAuthorizationRoutes(
      FlotillaCore core,
      Authentication auth,
      Duration codeTtl,
      Duration interval,
      Duration tokenTtl) {
    this.core = core;
    this.auth = auth;
    this.codeTtl = codeTtl;
    this.interval = interval;
    this.tokenTtl = tokenTtl;
  }

  /** The device's side, at the root of the API port. */
  Route oauthRoute() {
    return pathPrefix(
        "oauth",
        () ->
            concat(
                pathPrefix(
                    "authorization",
                    () ->
                        pathPrefix(
                            "device",
                            () ->
                                pathEndOrSingleSlash(
                                    () ->
                                        post(
                                            () ->
                                                form(
                                                    (request, fields) ->
                                                        authorize(request, fields)))))),
                pathPrefix(
                    "token",
                    () ->
                        pathEndOrSingleSlash(
                            () -> post(() -> form((request, fields) -> token(fields)))))));
  }

  /** The operator's side, below {@code /api/v1/factories/{factory}/}. */
  Route operatorRoute(String factory) {
    return pathPrefix(
        "device-authorizations",
        () ->
            concat(
                pathEndOrSingleSlash(
                    () ->
                        get(
                            () ->
                                auth.authorized(
                                    factory,
                                    Scope.DEVICES_CREATE,
                                    () ->
                                        Replies.json(
                                            core.factory(factory)
                                                .<Factory.DeviceAuthorizations>askWithStatus(
                                                    Factory.ListDeviceAuthorizations::new,
                                                    core.askTimeout()))))),
                path(
                    segment(),
                    code ->
                        post(
                            () ->
                                auth.authorizedAs(
                                    factory,
                                    Scope.DEVICES_CREATE,
                                    principal ->
                                        entity(
                                            JsonSupport.unmarshaller(Decision.class),
                                            decision ->
                                                decide(factory, code, decision, principal)))))));
  }

  private interface FormRoute {
    Route apply(HttpRequest request, Map<String, String> fields);
  }

  /**
   * The form body (RFC 6749 §3.2: {@code application/x-www-form-urlencoded}, each parameter at most
   * once). Read whatever the Content-Type says: fioup sets it, and other clients are not refused
   * over a header.
   */
  private static Route form(FormRoute inner) {
    return extractRequest(
        request ->
            entity(
                Unmarshaller.entityToString(),
                body ->
                    parseForm(body)
                        .map(fields -> inner.apply(request, fields))
                        .orElseGet(
                            () ->
                                oauthError(
                                    "invalid_request",
                                    "the body must be a form (application/x-www-form-urlencoded)"
                                        + " naming each parameter once"))));
  }

  static Optional<Map<String, String>> parseForm(String body) {
    Map<String, String> fields = new HashMap<>();
    if (body.isBlank()) {
      return Optional.of(fields);
    }
    for (String pair : body.strip().split("&", -1)) {
      int equals = pair.indexOf('=');
      String name = equals < 0 ? pair : pair.substring(0, equals);
      String value = equals < 0 ? "" : pair.substring(equals + 1);
      try {
        name = URLDecoder.decode(name, StandardCharsets.UTF_8);
        value = URLDecoder.decode(value, StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        return Optional.empty();
      }
      if (fields.put(name, value) != null) {
        return Optional.empty();
      }
    }
    return Optional.of(fields);
  }

  private Route authorize(HttpRequest request, Map<String, String> fields) {
    String clientId = fields.get("client_id");
    if (clientId == null || !Limits.DEVICE_UUID.matcher(clientId).matches()) {
      return oauthError(
          "invalid_request",
          "client_id (the device uuid) must match " + Limits.DEVICE_UUID.pattern());
    }
    Optional<String> factory = factoryOfScope(fields.get("scope"));
    if (factory.isEmpty()) {
      return oauthError("invalid_scope", "scope must be <factory>" + SCOPE_SUFFIX);
    }
    String deviceCode = factory.get() + "." + randomHex(32);
    String userCode = userCode();
    Instant expiresAt = Instant.now().plus(codeTtl);
    CompletionStage<Done> stored =
        core.factory(factory.get())
            .askWithStatus(
                replyTo ->
                    new Factory.RequestDeviceAuthorization(
                        userCode, ApiToken.hash(deviceCode), clientId, expiresAt, replyTo),
                core.askTimeout());
    return onComplete(
        stored,
        result -> {
          if (result.isSuccess()) {
            String verification =
                apiUrl(request) + "/api/v1/factories/" + factory.get() + "/device-authorizations";
            return noStore(
                complete(
                    StatusCodes.OK,
                    new DeviceAuthorizationAnswer(
                        deviceCode,
                        userCode,
                        verification,
                        verification + "/" + userCode,
                        codeTtl.toSeconds(),
                        interval.toSeconds()),
                    JsonSupport.marshaller()));
          }
          Optional<Rejection> rejection = Rejection.of(result.failed().get());
          if (rejection.isPresent() && rejection.get().kind() == Rejection.Kind.NOT_FOUND) {
            return oauthError(
                "invalid_scope", "factory " + factory.get() + " does not exist on this server");
          }
          if (rejection.isPresent() && rejection.get().kind() == Rejection.Kind.CONFLICT) {
            return Errors.error(
                StatusCodes.TOO_MANY_REQUESTS, "temporarily_unavailable", rejection.get().detail());
          }
          return Errors.failure(result.failed().get());
        });
  }

  private Route token(Map<String, String> fields) {
    String grantType = fields.get("grant_type");
    String deviceCode = fields.get("device_code");
    String clientId = fields.get("client_id");
    if (grantType == null || deviceCode == null || clientId == null) {
      return oauthError("invalid_request", "grant_type, device_code and client_id are required");
    }
    if (!grantType.equals(GRANT_TYPE)) {
      return oauthError("unsupported_grant_type", "grant_type must be " + GRANT_TYPE);
    }
    Matcher code = Limits.DEVICE_CODE.matcher(deviceCode);
    if (!code.matches() || !Limits.DEVICE_UUID.matcher(clientId).matches()) {
      return oauthError("invalid_grant", "the device code is not valid for this client");
    }
    String factory = code.group(1);
    if (fields.containsKey("scope")
        && !factoryOfScope(fields.get("scope")).equals(Optional.of(factory))) {
      return oauthError("invalid_scope", "scope must be " + factory + SCOPE_SUFFIX);
    }
    ApiToken token = ApiToken.newFactoryToken(factory);
    Instant expiresAt = Instant.now().plus(tokenTtl);
    // fioup sleeps the interval after a pending answer (its polls arrive an interval plus a round
    // trip apart, less a second of slack for jitter) but only 2 s after any status other than 400,
    // such as a 503 while the entity was slow to answer: a tighter bound would fail it for good
    long minimumMillis = Math.max(0, Math.min(interval.toMillis() - 1000, 1500));
    CompletionStage<Factory.DevicePoll> poll =
        core.factory(factory)
            .ask(
                replyTo ->
                    new Factory.PollDeviceAuthorization(
                        ApiToken.hash(deviceCode),
                        clientId,
                        token.id(),
                        token.secretHash(),
                        expiresAt,
                        minimumMillis,
                        replyTo),
                core.askTimeout());
    return Replies.whenDone(
        poll,
        answer -> {
          if (answer.error() == null) {
            return noStore(
                complete(
                    StatusCodes.OK,
                    new TokenAnswer(
                        token.value(), "Bearer", tokenTtl.toSeconds(), factory + SCOPE_SUFFIX),
                    JsonSupport.marshaller()));
          }
          if (answer.error().equals("temporarily_unavailable")) {
            return Errors.error(
                StatusCodes.SERVICE_UNAVAILABLE,
                answer.error(),
                "factory " + factory + " holds its maximum of live tokens; try again later");
          }
          return oauthError(answer.error(), pollDetail(answer.error()));
        });
  }

  private Route decide(String factory, String code, Decision decision, Principal principal) {
    if (decision.approved() == null) {
      return Errors.badRequest("approved (true or false) is required");
    }
    String userCode = normalizeUserCode(code);
    if (!Limits.USER_CODE.matcher(userCode).matches()) {
      return Errors.badRequest(
          "a user code is eight letters of " + USER_CODE_LETTERS + ", as XXXX-XXXX");
    }
    String decidedBy = principal.admin() ? "server admin" : "token " + principal.id();
    return Replies.json(
        core.factory(factory)
            .<Factory.DeviceAuthorization>askWithStatus(
                replyTo ->
                    new Factory.DecideDeviceAuthorization(
                        userCode, decision.approved(), decidedBy, replyTo),
                core.askTimeout()));
  }

  /** Operators may type a user code in lower case and without its dash. */
  static String normalizeUserCode(String code) {
    if (code.length() > 16) {
      return code;
    }
    String letters = code.replace("-", "").toUpperCase(Locale.ROOT);
    return letters.length() == 8 ? letters.substring(0, 4) + "-" + letters.substring(4) : code;
  }

  private static Optional<String> factoryOfScope(String scope) {
    if (scope == null || !scope.endsWith(SCOPE_SUFFIX)) {
      return Optional.empty();
    }
    String factory = scope.substring(0, scope.length() - SCOPE_SUFFIX.length());
    return Limits.FACTORY_NAME.matcher(factory).matches() ? Optional.of(factory) : Optional.empty();
  }

  private static String pollDetail(String error) {
    return switch (error) {
      case "authorization_pending" -> "an operator has not decided yet; poll again after interval";
      case "slow_down" -> "polled before interval had passed";
      case "access_denied" -> "an operator denied this device";
      case "expired_token" -> "the device code expired; start again";
      default -> "the device code is unknown, already redeemed or another client's";
    };
  }

  /** RFC 6749 §5.2: {@code 400} with the error code in {@code error}. */
  private static Route oauthError(String error, String detail) {
    return noStore(Errors.error(StatusCodes.BAD_REQUEST, error, detail));
  }

  /** RFC 6749 §5.1: answers that carry or concern credentials are never cached. */
  private static Route noStore(Route inner) {
    return respondWithHeaders(
        java.util.List.of(
            CacheControl.create(CacheDirectives.NO_STORE), RawHeader.create("Pragma", "no-cache")),
        () -> inner);
  }

  /** The API port's own URL as the device reached it. */
  private static String apiUrl(HttpRequest request) {
    Uri uri = request.getUri();
    String address = uri.host().address();
    String host = uri.host().isIPv6() ? "[" + address + "]" : address;
    return uri.scheme() + "://" + host + (uri.port() > 0 ? ":" + uri.port() : "");
  }

  private static String userCode() {
    StringBuilder code = new StringBuilder(9);
    for (int i = 0; i < 8; i++) {
      if (i == 4) {
        code.append('-');
      }
      code.append(USER_CODE_LETTERS.charAt(RANDOM.nextInt(USER_CODE_LETTERS.length())));
    }
    return code.toString();
  }

  private static String randomHex(int bytes) {
    byte[] buffer = new byte[bytes];
    RANDOM.nextBytes(buffer);
    return HexFormat.of().formatHex(buffer);
  }
}
