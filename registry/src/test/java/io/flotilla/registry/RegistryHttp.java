package io.flotilla.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.protocol.oci.Digest;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/** Plain HTTP calls to the registry under test, authenticated with HTTP basic or a bearer token. */
final class RegistryHttp {
  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(10))
          .build();
  private final String baseUrl;
  private final String authorization;

  private RegistryHttp(String baseUrl, String authorization) {
    this.baseUrl = baseUrl;
    this.authorization = authorization;
  }

  static RegistryHttp basic(RegistryServer server, RegistryServer.Credentials credentials) {
    String encoded =
        Base64.getEncoder()
            .encodeToString(
                (credentials.user() + ":" + credentials.password())
                    .getBytes(StandardCharsets.UTF_8));
    return new RegistryHttp(server.baseUrl(), "Basic " + encoded);
  }

  static RegistryHttp bearer(RegistryServer server, String token) {
    return new RegistryHttp(server.baseUrl(), "Bearer " + token);
  }

  static RegistryHttp anonymous(RegistryServer server) {
    return new RegistryHttp(server.baseUrl(), null);
  }

  HttpResponse<byte[]> send(String method, String path, byte[] body, Map<String, String> headers)
      throws Exception {
    return sendPublished(
        method,
        path,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofByteArray(body),
        headers);
  }

  HttpResponse<byte[]> sendPublished(
      String method, String path, HttpRequest.BodyPublisher body, Map<String, String> headers)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(baseUrl + path))
            .timeout(Duration.ofSeconds(120))
            .method(method, body);
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    headers.forEach(request::header);
    return http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  HttpResponse<byte[]> send(String method, String path) throws Exception {
    return send(method, path, null, Map.of());
  }

  HttpResponse<byte[]> get(String path, Map<String, String> headers) throws Exception {
    return send("GET", path, null, headers);
  }

  /** Monolithic push in one POST; returns the digest. */
  String pushBlob(String repository, byte[] content) throws Exception {
    String digest = Digest.of(content).toString();
    HttpResponse<byte[]> response =
        send(
            "POST",
            "/v2/" + repository + "/blobs/uploads/?digest=" + digest,
            content,
            Map.of("Content-Type", "application/octet-stream"));
    assertEquals(201, response.statusCode(), () -> new String(response.body()));
    return digest;
  }

  HttpResponse<byte[]> putManifest(
      String repository, String reference, String mediaType, byte[] manifest) throws Exception {
    return send(
        "PUT",
        "/v2/" + repository + "/manifests/" + reference,
        manifest,
        Map.of("Content-Type", mediaType));
  }

  /** The same PUT without Content-Length: a body of unknown length goes out chunked. */
  HttpResponse<byte[]> putManifestChunked(
      String repository, String reference, String mediaType, byte[] manifest) throws Exception {
    return sendPublished(
        "PUT",
        "/v2/" + repository + "/manifests/" + reference,
        HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(manifest)),
        Map.of("Content-Type", mediaType));
  }

  static String header(HttpResponse<?> response, String name) {
    return response.headers().firstValue(name).orElse(null);
  }

  static String errorCode(HttpResponse<byte[]> response) throws Exception {
    JsonNode body = RegistryJson.MAPPER.readTree(response.body());
    return body.path("errors").path(0).path("code").asText();
  }

  static JsonNode json(HttpResponse<byte[]> response) throws Exception {
    return RegistryJson.MAPPER.readTree(response.body());
  }

  /** A minimal OCI image manifest over the given config and layers, as bytes. */
  static byte[] imageManifest(
      String configDigest, int configSize, Map<String, Integer> layers, Map<String, Object> extra)
      throws Exception {
    Map<String, Object> manifest = new LinkedHashMap<>();
    manifest.put("schemaVersion", 2);
    manifest.put("mediaType", "application/vnd.oci.image.manifest.v1+json");
    manifest.put(
        "config",
        Map.of(
            "mediaType",
            "application/vnd.oci.image.config.v1+json",
            "digest",
            configDigest,
            "size",
            configSize));
    manifest.put(
        "layers",
        layers.entrySet().stream()
            .map(
                e ->
                    Map.of(
                        "mediaType",
                        "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest",
                        e.getKey(),
                        "size",
                        e.getValue()))
            .toList());
    manifest.putAll(extra);
    return RegistryJson.MAPPER.writeValueAsBytes(manifest);
  }
}
