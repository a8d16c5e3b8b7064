package io.flotilla.registry;

import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.reject;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.flotilla.registry.auth.Caller;
import io.flotilla.registry.auth.RegistryAuthenticator;
import io.flotilla.registry.auth.RegistryPrincipal;
import io.flotilla.registry.auth.TokenService;
import io.flotilla.registry.blob.BlobHandler;
import io.flotilla.registry.blob.BlobStore;
import io.flotilla.registry.manifest.ManifestHandler;
import io.flotilla.registry.repository.DiscoveryHandler;
import io.flotilla.registry.repository.RepositoryStore;
import io.flotilla.registry.upload.UploadHandler;
import io.flotilla.registry.upload.UploadStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.Materializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OCI Distribution 1.1 registry under {@code /v2/}, with its token endpoint at {@code
 * /v2/token}. The gateway mounts {@link #route()} on its API port.
 *
 * <p>Repository names hold slashes, so the path is matched here rather than with path directives:
 * the name is everything before the last {@code /manifests/}, {@code /blobs/}, {@code /tags/list}
 * or {@code /referrers/}.
 */
public final class RegistryRoutes {
  private static final Logger log = LoggerFactory.getLogger(RegistryRoutes.class);
  private static final HttpHeader API_VERSION =
      RawHeader.create("Docker-Distribution-API-Version", "registry/2.0");

  private final RegistrySettings settings;
  private final RegistryAuthenticator authenticator;
  private final TokenService tokens;
  private final BlockingIo io;
  private final BlobHandler blobs;
  private final UploadHandler uploads;
  private final ManifestHandler manifests;
  private final DiscoveryHandler discovery;

  public RegistryRoutes(
      ActorSystem<?> system, RegistrySettings settings, RegistryAuthenticator authenticator) {
    this.settings = settings;
    this.authenticator = authenticator;
    this.io = new BlockingIo(system);
    try {
      this.tokens =
          new TokenService(
              settings.rootDir(), settings.service(), settings.tokenTtl(), Clock.systemUTC());
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot read or create the registry's token key under " + settings.rootDir(), e);
    }
    RegistryContext ctx =
        new RegistryContext(
            settings,
            io,
            Materializer.matFromSystem(system),
            new BlobStore(settings.rootDir()),
            new UploadStore(settings.rootDir()),
            new RepositoryStore(settings.rootDir()));
    this.blobs = new BlobHandler(ctx);
    this.uploads = new UploadHandler(ctx);
    this.manifests = new ManifestHandler(ctx);
    this.discovery = new DiscoveryHandler(ctx);
  }

  public Route route() {
    return extractRequest(
        request -> {
          String path = request.getUri().path();
          if (!path.equals("/v2") && !path.startsWith("/v2/")) {
            return reject();
          }
          return completeWithFuture(handle(request));
        });
  }

  private CompletionStage<HttpResponse> handle(HttpRequest request) {
    CompletionStage<HttpResponse> response;
    try {
      Endpoint endpoint = Endpoint.parse(request.getUri().path());
      String method = request.method().name();
      if (endpoint.kind() == Endpoint.Kind.TOKEN) {
        response = issueToken(request);
      } else {
        Endpoint.Requirement requirement =
            endpoint.requirement(
                method,
                request
                    .getUri()
                    .query()
                    .get("from")
                    .filter(from -> request.getUri().query().get("mount").isPresent()));
        response =
            authenticate(request, requirement)
                .thenCompose(caller -> dispatch(request, method, endpoint, caller));
      }
    } catch (RuntimeException e) {
      response = CompletableFuture.failedFuture(e);
    }
    return response
        .exceptionally(failure -> errorResponse(request, failure))
        .thenApply(r -> r.addHeader(API_VERSION));
  }

  /**
   * The read side for a caller the gateway has already authorized for one factory's repositories
   * (the device apps proxy): manifests and blobs of that factory by digest, GET and HEAD, no
   * credentials asked. {@code path} is the registry path ({@code /v2/...}), which need not be the
   * request's own.
   */
  public CompletionStage<HttpResponse> readOnly(HttpRequest request, String path, String factory) {
    CompletionStage<HttpResponse> response;
    try {
      if (!path.startsWith("/v2/")) {
        throw new RegistryError(
            ErrorCode.NAME_UNKNOWN, 404, "no such registry endpoint", path, Map.of());
      }
      Endpoint endpoint = Endpoint.parse(path);
      String method = request.method().name();
      if (endpoint.kind() != Endpoint.Kind.MANIFEST && endpoint.kind() != Endpoint.Kind.BLOB) {
        throw new RegistryError(ErrorCode.DENIED, "only manifests and blobs are read here", path);
      }
      if (!method.equals("GET") && !method.equals("HEAD")) {
        throw new RegistryError(
            ErrorCode.UNSUPPORTED,
            405,
            "read only: GET and HEAD",
            method,
            Map.of("Allow", "GET, HEAD"));
      }
      if (!endpoint.name().factory().equals(factory)) {
        throw new RegistryError(
            ErrorCode.DENIED,
            "requested access to the resource is denied",
            endpoint.name().value());
      }
      Digests.parse(endpoint.reference());
      response = dispatch(request, method, endpoint, null);
    } catch (RuntimeException e) {
      response = CompletableFuture.failedFuture(e);
    }
    return response
        .exceptionally(failure -> errorResponse(request, failure))
        .thenApply(r -> r.addHeader(API_VERSION));
  }

  private CompletionStage<HttpResponse> dispatch(
      HttpRequest request, String method, Endpoint endpoint, Caller caller) {
    RepositoryName name = endpoint.name();
    String ref = endpoint.reference();
    return switch (endpoint.kind()) {
      case BASE -> CompletableFuture.completedFuture(Responses.json(200, Map.of(), Map.of()));
      case CATALOG -> discovery.catalog(request, caller);
      case TAGS -> discovery.tags(request, name);
      case REFERRERS -> discovery.referrers(request, name, ref);
      case MANIFEST ->
          switch (method) {
            case "GET", "HEAD" -> manifests.get(name, ref);
            case "PUT" -> manifests.put(request, name, ref);
            default -> manifests.delete(name, ref);
          };
      case BLOB ->
          switch (method) {
            case "GET" -> blobs.get(request, name, ref, false);
            case "HEAD" -> blobs.get(request, name, ref, true);
            default -> blobs.delete(name, ref);
          };
      case UPLOAD ->
          switch (method) {
            case "POST" -> uploads.start(request, name, caller);
            case "PATCH" -> uploads.patch(request, name, ref);
            case "PUT" -> uploads.complete(request, name, ref);
            case "GET" -> uploads.status(name, ref);
            default -> uploads.cancel(name, ref);
          };
      case TOKEN ->
          throw new IllegalStateException("the token endpoint is answered before dispatch");
    };
  }

  private CompletionStage<Caller> authenticate(
      HttpRequest request, Endpoint.Requirement requirement) {
    Optional<String> authorization = request.getHeader("Authorization").map(HttpHeader::value);
    if (authorization.isEmpty()) {
      return CompletableFuture.failedFuture(challenge(request, requirement, Optional.empty()));
    }
    String value = authorization.get();
    if (value.regionMatches(true, 0, "Bearer ", 0, 7)) {
      Optional<Caller> caller = tokens.verify(value.substring(7).strip()).map(TokenService::caller);
      if (caller.isEmpty()) {
        return CompletableFuture.failedFuture(
            challenge(request, requirement, Optional.of("invalid_token")));
      }
      return CompletableFuture.completedFuture(authorize(request, requirement, caller.get()));
    }
    return basicPrincipal(value)
        .thenApply(
            principal ->
                authorize(
                    request,
                    requirement,
                    Caller.of(
                        principal.orElseThrow(
                            () -> challenge(request, requirement, Optional.empty())))));
  }

  private Caller authorize(HttpRequest request, Endpoint.Requirement requirement, Caller caller) {
    if (requirement.repository().isPresent()
        && !caller.allows(requirement.repository().get(), requirement.action())) {
      RepositoryName repository = requirement.repository().get();
      if (caller.viaToken()) {
        throw challenge(request, requirement, Optional.of("insufficient_scope"));
      }
      if (!caller.memberOf(repository.factory())) {
        throw new RegistryError(
            ErrorCode.NAME_UNKNOWN, "repository name not known to registry", repository.value());
      }
      throw new RegistryError(
          ErrorCode.DENIED, "requested access to the resource is denied", repository.value());
    }
    return caller;
  }

  private CompletionStage<Optional<RegistryPrincipal>> basicPrincipal(String authorization) {
    if (!authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
      return CompletableFuture.completedFuture(Optional.empty());
    }
    String decoded;
    try {
      decoded =
          new String(
              Base64.getDecoder().decode(authorization.substring(6).strip()),
              StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return CompletableFuture.completedFuture(Optional.empty());
    }
    int colon = decoded.indexOf(':');
    if (colon < 0) {
      return CompletableFuture.completedFuture(Optional.empty());
    }
    return authenticator.authenticate(decoded.substring(0, colon), decoded.substring(colon + 1));
  }

  /** The token endpoint's answer; {@code access_token} repeats {@code token} for OAuth2 clients. */
  public record TokenResponse(
      String token,
      @JsonProperty("access_token") String accessToken,
      @JsonProperty("expires_in") long expiresInSeconds,
      @JsonProperty("issued_at") String issuedAt) {}

  /**
   * The token endpoint clients are sent to by the challenge: HTTP basic in, a short-lived signed
   * token for the requested scopes out. Scopes may come as several {@code scope} parameters or
   * space-separated in one.
   */
  private CompletionStage<HttpResponse> issueToken(HttpRequest request) {
    if (!request.method().name().equals("GET")) {
      throw new RegistryError(
          ErrorCode.UNSUPPORTED, "the token endpoint answers GET with HTTP basic credentials");
    }
    RegistryError unauthorized =
        new RegistryError(
            ErrorCode.UNAUTHORIZED,
            401,
            "HTTP basic credentials (a factory API token or device credentials) are required",
            null,
            Map.of("WWW-Authenticate", "Basic realm=\"" + settings.service() + "\""));
    Optional<String> authorization = request.getHeader("Authorization").map(HttpHeader::value);
    if (authorization.isEmpty()) {
      return CompletableFuture.failedFuture(unauthorized);
    }
    List<String> scopes = new ArrayList<>();
    for (String param : request.getUri().query().getAll("scope")) {
      for (String scope : param.split(" ")) {
        if (!scope.isBlank()) {
          scopes.add(scope);
        }
      }
    }
    return basicPrincipal(authorization.get())
        .thenApply(
            principal -> {
              TokenService.IssuedToken issued =
                  tokens.issue(principal.orElseThrow(() -> unauthorized), scopes);
              return Responses.json(
                  200,
                  new TokenResponse(
                      issued.token(),
                      issued.token(),
                      issued.claims().exp() - issued.claims().iat(),
                      Instant.ofEpochSecond(issued.claims().iat()).toString()),
                  Map.of());
            });
  }

  private RegistryError challenge(
      HttpRequest request, Endpoint.Requirement requirement, Optional<String> error) {
    StringBuilder header =
        new StringBuilder("Bearer realm=\"")
            .append(baseUrl(request))
            .append("/v2/token\"")
            .append(",service=\"")
            .append(settings.service())
            .append('"');
    requirement.scope().ifPresent(scope -> header.append(",scope=\"").append(scope).append('"'));
    error.ifPresent(e -> header.append(",error=\"").append(e).append('"'));
    return new RegistryError(
        ErrorCode.UNAUTHORIZED,
        401,
        "authentication required",
        requirement.scope().map(scope -> (Object) Map.of("scope", scope)).orElse(null),
        Map.of("WWW-Authenticate", header.toString()));
  }

  /**
   * Behind a proxy the forwarded headers name what the client used; else the Host it connected to.
   */
  private String baseUrl(HttpRequest request) {
    if (settings.externalUrl().isPresent()) {
      return settings.externalUrl().get();
    }
    String scheme =
        request
            .getHeader("X-Forwarded-Proto")
            .map(HttpHeader::value)
            .orElse(request.getUri().scheme());
    String host =
        request
            .getHeader("X-Forwarded-Host")
            .map(HttpHeader::value)
            .or(() -> request.getHeader("Host").map(HttpHeader::value))
            .orElse(request.getUri().host().address());
    return scheme + "://" + host;
  }

  private HttpResponse errorResponse(HttpRequest request, Throwable failure) {
    Throwable cause = failure;
    while ((cause instanceof CompletionException
            || cause instanceof UncheckedIOException && cause.getCause() instanceof RegistryError)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    if (cause instanceof RegistryError error) {
      return Responses.error(error);
    }
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (t instanceof org.apache.pekko.http.scaladsl.model.EntityStreamException) {
        // The client hung up or sent a broken body; what arrived stays in its upload session.
        log.debug(
            "registry request {} {}: body incomplete",
            request.method().name(),
            request.getUri().path());
        return Responses.error(
            new RegistryError(
                ErrorCode.BLOB_UPLOAD_INVALID, "request body incomplete or malformed"));
      }
    }
    log.error(
        "registry request {} {} failed", request.method().name(), request.getUri().path(), cause);
    Map<String, Object> body = new LinkedHashMap<>();
    body.put(
        "errors",
        List.of(Map.of("code", "UNKNOWN", "message", "internal error, see the server log")));
    return Responses.json(500, body, Map.of());
  }
}
