package io.flotilla.agent.registry;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.agent.store.BlobSource;
import io.flotilla.agent.store.HttpBlobSource;
import io.flotilla.protocol.Json;
import io.flotilla.protocol.device.HubCredentials;
import io.flotilla.protocol.oci.Digest;
import io.flotilla.protocol.oci.MediaTypes;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
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
 * Pulls manifests and blobs by digest from an OCI registry. Authorisation follows the standard token flow: a 401
 * names a token endpoint and scope, the client asks it for a token with the device's {@code /hub-creds/}
 * credentials (basic auth), and sends {@code Authorization: Bearer} from then on. Tokens are kept per repository.
 */
public final class RegistryClient {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    /** Manifests are small; anything larger than this is not one of ours. */
    private static final int MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

    private final HttpClient http;
    private final Function<String, String> schemeForHost;
    private final Supplier<HubCredentials> credentials;
    private final Map<String, String> tokens = new ConcurrentHashMap<>();

    /** {@code schemeForHost} gives "https" or "http" (for registries configured as insecure). */
    public RegistryClient(HttpClient http, Function<String, String> schemeForHost, Supplier<HubCredentials> credentials) {
        this.http = http;
        this.schemeForHost = schemeForHost;
        this.credentials = credentials;
    }

    public record Manifest(String mediaType, byte[] bytes) {
    }

    /** Fetches a manifest or index by digest and checks its bytes against the digest. */
    public Manifest manifest(String host, String repository, Digest digest) throws IOException {
        URI uri = uri(host, repository, "manifests", digest);
        HttpResponse<byte[]> response = sendAuthorized(host, repository,
                HttpRequest.newBuilder(uri).GET().timeout(TIMEOUT).header("Accept", MediaTypes.ACCEPT_ANY_MANIFEST),
                HttpResponse.BodyHandlers.ofByteArray());
        if (response.statusCode() != 200) {
            throw new IOException("GET " + uri + " answered " + response.statusCode());
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

    /** A resumable source for a blob; the token is fetched up front so the download itself is not challenged. */
    public BlobSource blob(String host, String repository, Digest digest) throws IOException {
        URI uri = uri(host, repository, "blobs", digest);
        HttpResponse<InputStream> probe = sendAuthorized(host, repository,
                HttpRequest.newBuilder(uri).method("HEAD", HttpRequest.BodyPublishers.noBody()).timeout(TIMEOUT),
                HttpResponse.BodyHandlers.ofInputStream());
        probe.body().close();
        return new HttpBlobSource(http, uri, builder -> authorize(builder, repository), TIMEOUT);
    }

    private HttpRequest.Builder authorize(HttpRequest.Builder builder, String repository) {
        String token = tokens.get(repository);
        return token == null ? builder : builder.header("Authorization", "Bearer " + token);
    }

    private <T> HttpResponse<T> sendAuthorized(String host, String repository, HttpRequest.Builder request,
                                               HttpResponse.BodyHandler<T> handler) throws IOException {
        HttpResponse<T> response = send(authorize(request.copy(), repository).build(), handler);
        if (response.statusCode() != 401) {
            return response;
        }
        BearerChallenge challenge = BearerChallenge.parse(response.headers().firstValue("WWW-Authenticate").orElse(null))
                .orElseThrow(() -> new IOException("registry " + host + " refused access to " + repository + " without a Bearer challenge"));
        tokens.put(repository, token(challenge, repository));
        return send(authorize(request.copy(), repository).build(), handler);
    }

    private String token(BearerChallenge challenge, String repository) throws IOException {
        String scope = challenge.scope() != null ? challenge.scope() : "repository:" + repository + ":pull";
        StringBuilder query = new StringBuilder(challenge.realm()).append(challenge.realm().contains("?") ? '&' : '?')
                .append("scope=").append(URLEncoder.encode(scope, StandardCharsets.UTF_8));
        if (challenge.service() != null) {
            query.append("&service=").append(URLEncoder.encode(challenge.service(), StandardCharsets.UTF_8));
        }
        HubCredentials creds = credentials.get();
        String basic = Base64.getEncoder().encodeToString((creds.username() + ":" + creds.secret()).getBytes(StandardCharsets.UTF_8));
        HttpResponse<byte[]> response = send(HttpRequest.newBuilder(URI.create(query.toString())).GET().timeout(TIMEOUT)
                .header("Authorization", "Basic " + basic).build(), HttpResponse.BodyHandlers.ofByteArray());
        if (response.statusCode() != 200) {
            throw new IOException("token endpoint " + challenge.realm() + " answered " + response.statusCode() + " for " + scope);
        }
        JsonNode body = Json.mapper().readTree(response.body());
        String token = body.path("token").asText(body.path("access_token").asText(""));
        if (token.isEmpty()) {
            throw new IOException("token endpoint " + challenge.realm() + " answered without a token");
        }
        return token;
    }

    private URI uri(String host, String repository, String kind, Digest digest) {
        return URI.create(schemeForHost.apply(host) + "://" + host + "/v2/" + repository + "/" + kind + "/" + digest);
    }

    private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler) throws IOException {
        try {
            return http.send(request, handler);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted talking to " + request.uri().getHost(), e);
        }
    }
}
