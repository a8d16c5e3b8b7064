package io.flotilla.agent.registry;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.agent.Failures;
import io.flotilla.agent.store.BlobSource;
import io.flotilla.agent.store.HttpBlobSource;
import io.flotilla.protocol.Json;
import io.flotilla.protocol.device.HubCredentials;
import io.flotilla.protocol.oci.BearerChallenge;
import io.flotilla.protocol.oci.Digest;
import io.flotilla.protocol.oci.MediaTypes;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Pulls manifests and blobs by digest from an OCI registry. Authorisation follows the standard
 * token flow: a 401 names a token endpoint and scope, the client asks it for a token with the
 * device's {@code /hub-creds/} credentials (basic auth), and sends {@code Authorization: Bearer}
 * from then on. Tokens are kept per repository.
 *
 * <p>{@link #throughAppsProxy} sends every request to the device gateway's apps proxy instead, as
 * composeapp does when sota.toml names one ({@code pacman.compose_apps_proxy}): the registry path
 * joined after the proxy URL, whatever registry host the app's URI names, over HTTPS that trusts
 * the registration's CA. The URL authorizes, so no token is asked for; it is short-lived, so a new
 * one is asked of the gateway every {@link #PROXY_URL_REUSE}, and at once when the proxy refuses
 * the one in use (403).
 */
public final class RegistryPuller {

  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  /** Manifests are small; anything larger than this is not one of ours. */
  private static final int MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

  /**
   * Well inside the gateway's default apps proxy URL lifetime ({@code
   * flotilla.device.apps-proxy-ttl}, 1 h).
   */
  static final Duration PROXY_URL_REUSE = Duration.ofMinutes(10);

  /** Asks the device gateway for an apps proxy URL ({@code GatewayClient.appsProxy}). */
  @FunctionalInterface
  public interface ProxyUrls {
    URI fresh() throws IOException;
  }

  private record ProxyUrl(URI base, long fetchedAtNanos) {}

  private final HttpClient http;
  private final Function<String, String> schemeForHost;
  private final Supplier<HubCredentials> credentials;
  private final ProxyUrls proxyUrls;
  private volatile ProxyUrl proxyUrl;
  private final Map<String, String> tokens = new ConcurrentHashMap<>();

  /** {@code schemeForHost} gives "https" or "http" (for registries configured as insecure). */
  public RegistryPuller(
      HttpClient http,
      Function<String, String> schemeForHost,
      Supplier<HubCredentials> credentials) {
    this(http, schemeForHost, credentials, null);
  }

  private RegistryPuller(
      HttpClient http,
      Function<String, String> schemeForHost,
      Supplier<HubCredentials> credentials,
      ProxyUrls proxyUrls) {
    this.http = http;
    this.schemeForHost = schemeForHost;
    this.credentials = credentials;
    this.proxyUrls = proxyUrls;
  }

  /** Every request through the apps proxy; {@code http} must trust the gateway's CA. */
  public static RegistryPuller throughAppsProxy(HttpClient http, ProxyUrls proxyUrls) {
    return new RegistryPuller(
        http,
        host -> "https",
        () -> {
          throw new IllegalStateException("the apps proxy needs no registry credentials");
        },
        proxyUrls);
  }

  public record Manifest(String mediaType, byte[] bytes) {}

  /** Fetches a manifest or index by digest and checks its bytes against the digest. */
  public Manifest manifest(String host, String repository, Digest digest) throws IOException {
    HttpResponse<byte[]> response =
        sendAuthorized(
            host,
            repository,
            "manifests",
            digest,
            uri ->
                HttpRequest.newBuilder(uri)
                    .GET()
                    .timeout(TIMEOUT)
                    .header("Accept", MediaTypes.ACCEPT_ANY_MANIFEST),
            HttpResponse.BodyHandlers.ofByteArray());
    if (response.statusCode() != 200) {
      throw new IOException(
          "GET " + response.uri() + " answered " + response.statusCode() + errors(response.body()));
    }
    byte[] bytes = response.body();
    if (bytes.length > MAX_MANIFEST_BYTES) {
      throw new IOException("manifest " + digest + " is " + bytes.length + " bytes, too large");
    }
    if (!Digest.of(bytes).equals(digest)) {
      throw new IOException("registry sent a manifest that does not match " + digest);
    }
    String mediaType = response.headers().firstValue("Content-Type").orElse(null);
    return new Manifest(mediaType, bytes);
  }

  /**
   * A resumable source for a blob; the token is fetched up front so the download itself is not
   * challenged.
   */
  public BlobSource blob(String host, String repository, Digest digest) throws IOException {
    HttpResponse<InputStream> probe =
        sendAuthorized(
            host,
            repository,
            "blobs",
            digest,
            uri ->
                HttpRequest.newBuilder(uri)
                    .method("HEAD", HttpRequest.BodyPublishers.noBody())
                    .timeout(TIMEOUT),
            HttpResponse.BodyHandlers.ofInputStream());
    probe.body().close();
    return new HttpBlobSource(
        http, probe.request().uri(), builder -> authorize(builder, repository), TIMEOUT);
  }

  private HttpRequest.Builder authorize(HttpRequest.Builder builder, String repository) {
    String token = tokens.get(repository);
    return token == null ? builder : builder.header("Authorization", "Bearer " + token);
  }

  private <T> HttpResponse<T> sendAuthorized(
      String host,
      String repository,
      String kind,
      Digest digest,
      Function<URI, HttpRequest.Builder> request,
      HttpResponse.BodyHandler<T> handler)
      throws IOException {
    if (proxyUrls != null) {
      HttpResponse<T> response =
          send(request.apply(uri(host, repository, kind, digest, false)).build(), handler);
      if (response.statusCode() != 403) {
        return response;
      }
      discard(response);
      return send(request.apply(uri(host, repository, kind, digest, true)).build(), handler);
    }
    return sendAuthorized(
        host, repository, request.apply(uri(host, repository, kind, digest, false)), handler);
  }

  private static void discard(HttpResponse<?> response) throws IOException {
    if (response.body() instanceof InputStream stream) {
      stream.close();
    }
  }

  private <T> HttpResponse<T> sendAuthorized(
      String host,
      String repository,
      HttpRequest.Builder request,
      HttpResponse.BodyHandler<T> handler)
      throws IOException {
    HttpResponse<T> response = send(authorize(request.copy(), repository).build(), handler);
    if (response.statusCode() != 401) {
      return response;
    }
    BearerChallenge challenge =
        BearerChallenge.parse(response.headers().firstValue("WWW-Authenticate").orElse(null))
            .orElseThrow(
                () ->
                    new IOException(
                        "registry "
                            + host
                            + " refused access to "
                            + repository
                            + " without a Bearer challenge"));
    tokens.put(repository, token(challenge, repository));
    return send(authorize(request.copy(), repository).build(), handler);
  }

  private String token(BearerChallenge challenge, String repository) throws IOException {
    String scope = challenge.scopeOr("repository:" + repository + ":pull");
    HubCredentials creds = credentials.get();
    String basic =
        Base64.getEncoder()
            .encodeToString(
                (creds.username() + ":" + creds.secret()).getBytes(StandardCharsets.UTF_8));
    HttpResponse<byte[]> response =
        send(
            HttpRequest.newBuilder(challenge.tokenUri(scope))
                .GET()
                .timeout(TIMEOUT)
                .header("Authorization", "Basic " + basic)
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
    if (response.statusCode() != 200) {
      throw new IOException(
          "token endpoint "
              + challenge.realm()
              + " answered "
              + response.statusCode()
              + " for "
              + scope);
    }
    JsonNode body = Json.mapper().readTree(response.body());
    String token = body.path("token").asText(body.path("access_token").asText(""));
    if (token.isEmpty()) {
      throw new IOException("token endpoint " + challenge.realm() + " answered without a token");
    }
    return token;
  }

  /**
   * {@code refresh}: ask for a new apps proxy URL even if the one in use is young (the proxy
   * refused it).
   */
  private URI uri(String host, String repository, String kind, Digest digest, boolean refresh)
      throws IOException {
    String path = "/v2/" + repository + "/" + kind + "/" + digest;
    if (proxyUrls == null) {
      return URI.create(schemeForHost.apply(host) + "://" + host + path);
    }
    ProxyUrl current = proxyUrl;
    if (refresh
        || current == null
        || System.nanoTime() - current.fetchedAtNanos() > PROXY_URL_REUSE.toNanos()) {
      current = new ProxyUrl(proxyUrls.fresh(), System.nanoTime());
      proxyUrl = current;
    }
    String base = current.base().toString();
    return URI.create((base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + path);
  }

  /**
   * What an error answer's body says (the distribution spec's {@code {"errors": [{"code",
   * "message"}]}}), cut short: the operator sees it in the update's failure.
   */
  static String errors(byte[] body) {
    if (body == null || body.length == 0) {
      return "";
    }
    StringBuilder text = new StringBuilder();
    try {
      for (JsonNode error : Json.mapper().readTree(body).path("errors")) {
        text.append(text.length() == 0 ? " " : "; ").append(error.path("code").asText("?"));
        String message = error.path("message").asText("");
        if (!message.isEmpty()) {
          text.append(" (").append(message).append(')');
        }
      }
    } catch (IOException e) {
      text.setLength(0);
    }
    if (text.length() == 0) {
      text.append(": ")
          .append(new String(body, 0, Math.min(body.length, 200), StandardCharsets.UTF_8));
    }
    String plain = text.toString().replaceAll("\\p{Cntrl}", " ");
    return plain.length() > 300 ? plain.substring(0, 300) + "..." : plain;
  }

  private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler)
      throws IOException {
    try {
      return http.send(request, handler);
    } catch (IOException e) {
      throw new IOException(
          request.method() + " " + request.uri() + ": " + Failures.describe(e), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted talking to " + request.uri().getHost(), e);
    }
  }
}
