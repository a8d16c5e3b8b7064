package io.flotilla.builder.registry;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.protocol.Json;
import io.flotilla.protocol.oci.BearerChallenge;
import io.flotilla.protocol.oci.Digest;
import io.flotilla.protocol.oci.MediaTypes;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The builder's OCI distribution client: reads bases and external images, pushes what a build
 * produces. Calls for our own registry go to its {@link ImagePublisher} when it has one (the node's
 * registry storage, in process); otherwise over HTTP, sending our registry the build's token as
 * basic credentials (which the registry accepts on every call). Other registries are reached over
 * HTTP, following the standard bearer challenge. Blocking: call it from the builder's dispatcher.
 */
public final class RegistryClient {

  private static final Duration TIMEOUT = Duration.ofSeconds(120);
  private static final int MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

  public record Manifest(String mediaType, byte[] bytes, Digest digest) {}

  private final HttpClient http;
  private final RegistryEndpoints endpoints;
  private final Map<String, String> bearerTokens = new ConcurrentHashMap<>();
  private final ImagePublisher own;

  /** Every registry over HTTP, ours included. */
  public RegistryClient(HttpClient http, RegistryEndpoints endpoints) {
    this(http, endpoints, null);
  }

  /**
   * Our own registry ({@code endpoints.ownHost()}) through {@code own}, every other one over HTTP.
   */
  public RegistryClient(HttpClient http, RegistryEndpoints endpoints, ImagePublisher own) {
    this.http = http;
    this.endpoints = endpoints;
    this.own = own;
  }

  private boolean published(String host) {
    return own != null && endpoints.isOwn(host);
  }

  public RegistryEndpoints endpoints() {
    return endpoints;
  }

  /** A manifest or index by tag or digest; empty when the registry does not know it. */
  public Optional<Manifest> manifest(String host, String repository, String reference)
      throws IOException {
    if (published(host)) {
      return own.manifest(repository, reference);
    }
    URI uri = uri(host, repository, "/manifests/" + reference);
    HttpResponse<byte[]> response =
        send(
            host,
            repository,
            "pull",
            HttpRequest.newBuilder(uri).GET().header("Accept", MediaTypes.ACCEPT_ANY_MANIFEST),
            HttpResponse.BodyHandlers.ofByteArray());
    if (response.statusCode() == 404) {
      return Optional.empty();
    }
    expect(response, 200, "GET " + uri);
    byte[] bytes = response.body();
    if (bytes.length > MAX_MANIFEST_BYTES) {
      throw new RegistryException(
          "manifest " + host + "/" + repository + ":" + reference + " is too large", false);
    }
    Digest digest = Digest.of(bytes);
    if (Digest.isValid(reference) && !Digest.parse(reference).equals(digest)) {
      throw new RegistryException(
          "registry " + host + " sent a manifest that does not match " + reference, false);
    }
    String mediaType =
        response
            .headers()
            .firstValue("Content-Type")
            .map(v -> v.split(";")[0].strip())
            .orElse(null);
    return Optional.of(new Manifest(mediaType, bytes, digest));
  }

  public byte[] blob(String host, String repository, Digest digest) throws IOException {
    if (published(host)) {
      return own.blob(repository, digest);
    }
    URI uri = uri(host, repository, "/blobs/" + digest);
    HttpResponse<byte[]> response =
        send(
            host,
            repository,
            "pull",
            HttpRequest.newBuilder(uri).GET(),
            HttpResponse.BodyHandlers.ofByteArray());
    expect(response, 200, "GET " + uri);
    if (!Digest.of(response.body()).equals(digest)) {
      throw new RegistryException("blob from " + uri + " does not match its digest", true);
    }
    return response.body();
  }

  /** Downloads a blob into a file, verifying its digest; for layers, which may be large. */
  public void blobToFile(String host, String repository, Digest digest, Path file)
      throws IOException {
    if (published(host)) {
      own.blobToFile(repository, digest, file);
      return;
    }
    URI uri = uri(host, repository, "/blobs/" + digest);
    HttpResponse<Path> response =
        send(
            host,
            repository,
            "pull",
            HttpRequest.newBuilder(uri).GET(),
            HttpResponse.BodyHandlers.ofFile(file));
    expect(response, 200, "GET " + uri);
    if (!Digest.of(file).equals(digest)) {
      throw new RegistryException("blob from " + uri + " does not match its digest", true);
    }
  }

  public boolean hasBlob(String host, String repository, Digest digest) throws IOException {
    if (published(host)) {
      return own.hasBlob(repository, digest);
    }
    URI uri = uri(host, repository, "/blobs/" + digest);
    HttpResponse<Void> response =
        send(
            host,
            repository,
            "pull",
            HttpRequest.newBuilder(uri).method("HEAD", HttpRequest.BodyPublishers.noBody()),
            HttpResponse.BodyHandlers.discarding());
    if (response.statusCode() == 404) {
      return false;
    }
    expect(response, 200, "HEAD " + uri);
    return true;
  }

  public void pushBlob(String host, String repository, Digest digest, byte[] content)
      throws IOException {
    if (published(host)) {
      own.pushBlob(repository, digest, content);
      return;
    }
    pushBlob(host, repository, digest, HttpRequest.BodyPublishers.ofByteArray(content));
  }

  public void pushBlob(String host, String repository, Digest digest, Path file)
      throws IOException {
    if (published(host)) {
      own.pushBlob(repository, digest, file);
      return;
    }
    pushBlob(host, repository, digest, HttpRequest.BodyPublishers.ofFile(file));
  }

  /**
   * Skips blobs the repository has; otherwise a two-step upload (POST session, PUT with the
   * digest), which every registry takes.
   */
  private void pushBlob(
      String host, String repository, Digest digest, HttpRequest.BodyPublisher body)
      throws IOException {
    if (hasBlob(host, repository, digest)) {
      return;
    }
    URI start = uri(host, repository, "/blobs/uploads/");
    HttpResponse<Void> session =
        send(
            host,
            repository,
            "pull,push",
            HttpRequest.newBuilder(start).POST(HttpRequest.BodyPublishers.noBody()),
            HttpResponse.BodyHandlers.discarding());
    expect(session, 202, "POST " + start);
    String location =
        session
            .headers()
            .firstValue("Location")
            .orElseThrow(
                () -> new RegistryException("upload session without Location from " + host, false));
    URI put = endpoints.base(host).resolve(location);
    String query =
        (put.getRawQuery() == null ? "" : put.getRawQuery() + "&")
            + "digest="
            + URLEncoder.encode(digest.toString(), StandardCharsets.UTF_8);
    URI target =
        URI.create(
            put.getScheme() + "://" + put.getRawAuthority() + put.getRawPath() + "?" + query);
    HttpResponse<String> done =
        send(
            host,
            repository,
            "pull,push",
            HttpRequest.newBuilder(target)
                .header("Content-Type", MediaTypes.OCTET_STREAM)
                .PUT(body),
            HttpResponse.BodyHandlers.ofString());
    expect(done, 201, "PUT " + put.getRawPath());
  }

  /** Pushes a manifest under a tag or its digest and returns its digest. */
  public Digest pushManifest(
      String host, String repository, String reference, String mediaType, byte[] bytes)
      throws IOException {
    if (published(host)) {
      return own.pushManifest(repository, reference, mediaType, bytes);
    }
    URI uri = uri(host, repository, "/manifests/" + reference);
    HttpResponse<String> response =
        send(
            host,
            repository,
            "pull,push",
            HttpRequest.newBuilder(uri)
                .header("Content-Type", mediaType)
                .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes)),
            HttpResponse.BodyHandlers.ofString());
    expect(response, 201, "PUT " + uri);
    return Digest.of(bytes);
  }

  private URI uri(String host, String repository, String rest) {
    return URI.create(endpoints.base(host) + "/v2/" + repository + rest);
  }

  private <T> HttpResponse<T> send(
      String host,
      String repository,
      String actions,
      HttpRequest.Builder request,
      HttpResponse.BodyHandler<T> handler)
      throws IOException {
    String key = host + "/" + repository + ":" + actions;
    HttpResponse<T> response = exchange(authorize(request.copy(), host, key), handler);
    if (response.statusCode() != 401) {
      return response;
    }
    Optional<BearerChallenge> challenge =
        BearerChallenge.parse(response.headers().firstValue("WWW-Authenticate").orElse(null));
    if (challenge.isEmpty()) {
      return response;
    }
    bearerTokens.put(key, token(host, challenge.get(), "repository:" + repository + ":" + actions));
    return exchange(authorize(request.copy(), host, key), handler);
  }

  private HttpRequest.Builder authorize(HttpRequest.Builder builder, String host, String key) {
    builder.timeout(TIMEOUT);
    String bearer = bearerTokens.get(key);
    if (bearer != null) {
      return builder.header("Authorization", "Bearer " + bearer);
    }
    return endpoints
        .basicPassword(host)
        .map(password -> builder.header("Authorization", basic(password)))
        .orElse(builder);
  }

  private String basic(String password) {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString(
                (endpoints.username() + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  private String token(String host, BearerChallenge challenge, String fallbackScope)
      throws IOException {
    String scope = challenge.scopeOr(fallbackScope);
    HttpRequest.Builder request =
        HttpRequest.newBuilder(challenge.tokenUri(scope)).GET().timeout(TIMEOUT);
    endpoints
        .basicPassword(host)
        .ifPresent(password -> request.header("Authorization", basic(password)));
    HttpResponse<byte[]> response = exchange(request, HttpResponse.BodyHandlers.ofByteArray());
    expect(response, 200, "token endpoint " + challenge.realm() + " for " + scope);
    JsonNode body = Json.mapper().readTree(response.body());
    String token = body.path("token").asText(body.path("access_token").asText(""));
    if (token.isEmpty()) {
      throw new RegistryException(
          "token endpoint " + challenge.realm() + " answered without a token", false);
    }
    return token;
  }

  private <T> HttpResponse<T> exchange(
      HttpRequest.Builder request, HttpResponse.BodyHandler<T> handler) throws IOException {
    HttpRequest built = request.build();
    try {
      return http.send(built, handler);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RegistryException("interrupted talking to " + built.uri().getAuthority(), false, e);
    } catch (IOException e) {
      throw new RegistryException(
          "registry " + built.uri().getAuthority() + " unreachable: " + e.getMessage(), true, e);
    }
  }

  private static void expect(HttpResponse<?> response, int status, String what)
      throws RegistryException {
    if (response.statusCode() != status) {
      Object body = response.body();
      String detail =
          body instanceof String s
              ? s
              : body instanceof byte[] b
                  ? new String(b, 0, Math.min(b.length, 500), StandardCharsets.UTF_8)
                  : "";
      throw new RegistryException(
          what
              + " answered "
              + response.statusCode()
              + (detail.isBlank() ? "" : ": " + detail.strip()),
          RegistryException.retryableStatus(response.statusCode()));
    }
  }
}
