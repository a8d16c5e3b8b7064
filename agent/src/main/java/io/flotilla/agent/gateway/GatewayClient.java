package io.flotilla.agent.gateway;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.agent.Failures;
import io.flotilla.protocol.ApiError;
import io.flotilla.protocol.Json;
import io.flotilla.protocol.device.AppsStates;
import io.flotilla.protocol.device.ConfigFile;
import io.flotilla.protocol.device.DeviceEvent;
import io.flotilla.protocol.device.DeviceHeaders;
import io.flotilla.protocol.device.DevicePaths;
import io.flotilla.protocol.device.DeviceRecord;
import io.flotilla.protocol.device.HubCredentials;
import io.flotilla.protocol.device.NetworkInfo;
import io.flotilla.protocol.device.TargetsMetadata;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import javax.net.ssl.SSLContext;

/**
 * The device side of the gateway API (§3–§5, §8) over mutual TLS. Every request carries the
 * device's tag and, once known, the target and apps it runs, since the gateway updates the device
 * record from these headers.
 *
 * <p>One {@link HttpClient}, so one {@link SSLContext}, serves the client's whole life, and the
 * JDK's HttpClient opens each connection's SSLEngine with the gateway's host and port: a new
 * connection (the gateway closes idle ones after a minute, so every poll and every pushed check
 * opens one) resumes the TLS 1.3 session from the gateway's last ticket, without the certificate
 * signatures of a full handshake on either side. The daemon keeps its client; a one-shot command
 * starts with a full handshake.
 */
public final class GatewayClient {

  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private final URI server;
  private final HttpClient http;
  private final ObjectMapper json = Json.mapper();
  private volatile String tag;
  private volatile String runningTarget;
  private volatile List<String> runningApps;

  public GatewayClient(URI server, SSLContext tls) {
    this.server = server;
    this.http =
        HttpClient.newBuilder()
            .sslContext(tls)
            .connectTimeout(TIMEOUT)
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
  }

  public void setTag(String tag) {
    this.tag = tag;
  }

  public void setRunning(String targetName, List<String> apps) {
    this.runningTarget = targetName;
    this.runningApps = apps;
  }

  /**
   * {@code GET /repo/targets.json}: the gateway needs the tag header to filter, else it answers
   * 404.
   */
  public TargetsMetadata targets() throws IOException {
    return json.readValue(
        expect(send(request(DevicePaths.TARGETS).GET()), 200).body(), TargetsMetadata.class);
  }

  public void events(List<DeviceEvent> events) throws IOException {
    expect(send(jsonBody(DevicePaths.EVENTS).POST(body(events))), 200, 201, 204);
  }

  public void appsStates(AppsStates states) throws IOException {
    expect(send(jsonBody(DevicePaths.APPS_STATES).POST(body(states))), 200, 201, 204);
  }

  public DeviceRecord device() throws IOException {
    return json.readValue(
        expect(send(request(DevicePaths.DEVICE).GET()), 200).body(), DeviceRecord.class);
  }

  public HubCredentials hubCredentials() throws IOException {
    return json.readValue(
        expect(send(request(DevicePaths.HUB_CREDS).GET()), 200).body(), HubCredentials.class);
  }

  /**
   * The apps proxy URL (fioup's {@code getComposeAppProxy}): {@code POST} to {@code
   * pacman.compose_apps_proxy} over mutual TLS, {@code 201} with the URL as the whole body.
   */
  public URI appsProxy(URI provider) throws IOException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(provider).timeout(TIMEOUT).POST(HttpRequest.BodyPublishers.noBody());
    headers().forEach(request::header);
    String body =
        new String(expect(send(request), 201).body(), java.nio.charset.StandardCharsets.UTF_8);
    try {
      URI url = new URI(body);
      if (!"https".equals(url.getScheme()) && !"http".equals(url.getScheme())
          || url.getHost() == null) {
        throw new GatewayException(
            "the apps proxy at " + provider + " answered an unusable URL: " + body, null);
      }
      return url;
    } catch (java.net.URISyntaxException e) {
      throw new GatewayException(
          "the apps proxy at " + provider + " answered an invalid URL: " + e.getMessage(), e);
    }
  }

  /**
   * What {@code GET /config} answered: 200 with files and their Last-Modified, 204 (no config) or
   * 304 (unchanged).
   */
  public record ConfigAnswer(
      int status, Map<String, ConfigFile> files, Optional<String> lastModified) {}

  /**
   * {@code GET /config} (§5), conditional on {@code ifModifiedSince}, the Last-Modified of the last
   * 200 if any.
   */
  public ConfigAnswer config(Optional<String> ifModifiedSince) throws IOException {
    HttpRequest.Builder request = request(DevicePaths.CONFIG).GET();
    ifModifiedSince.ifPresent(since -> request.header("If-Modified-Since", since));
    HttpResponse<byte[]> response = expect(send(request), 200, 204, 304);
    if (response.statusCode() != 200) {
      return new ConfigAnswer(response.statusCode(), Map.of(), Optional.empty());
    }
    Map<String, ConfigFile> files =
        json.readValue(response.body(), new TypeReference<Map<String, ConfigFile>>() {});
    return new ConfigAnswer(200, files, response.headers().firstValue("Last-Modified"));
  }

  public void putNetworkInfo(NetworkInfo info) throws IOException {
    expect(send(jsonBody(DevicePaths.NETWORK_INFO).PUT(body(info))), 200, 204);
  }

  public void putSystemInfo(Object hardware) throws IOException {
    expect(send(jsonBody(DevicePaths.SYSTEM_INFO).PUT(body(hardware))), 200, 204);
  }

  public void putConfigInfo(String mergedToml) throws IOException {
    expect(
        send(
            request(DevicePaths.CONFIG_INFO)
                .header("Content-Type", "text/plain")
                .PUT(HttpRequest.BodyPublishers.ofString(mergedToml))),
        200,
        204);
  }

  /** Opens the §8 WebSocket; the listener receives {@code targets-changed} messages as text. */
  public CompletableFuture<WebSocket> listen(WebSocket.Listener listener) {
    URI ws = URI.create(server.toString().replaceFirst("^http", "ws") + DevicePaths.WEBSOCKET);
    WebSocket.Builder builder = http.newWebSocketBuilder().connectTimeout(TIMEOUT);
    headers().forEach(builder::header);
    return builder.buildAsync(ws, listener);
  }

  private HttpRequest.Builder request(String path) {
    HttpRequest.Builder builder =
        HttpRequest.newBuilder(URI.create(server + path))
            .timeout(TIMEOUT)
            .header("Accept", "application/json");
    headers().forEach(builder::header);
    return builder;
  }

  private Map<String, String> headers() {
    Map<String, String> headers = new java.util.LinkedHashMap<>();
    if (tag != null) {
      headers.put(DeviceHeaders.TAGS, tag);
    }
    if (runningTarget != null) {
      headers.put(DeviceHeaders.TARGET, runningTarget);
    }
    if (runningApps != null) {
      headers.put(DeviceHeaders.DOCKER_APPS, String.join(",", runningApps));
    }
    return headers;
  }

  private HttpRequest.Builder jsonBody(String path) {
    return request(path).header("Content-Type", "application/json");
  }

  private HttpRequest.BodyPublisher body(Object value) {
    return HttpRequest.BodyPublishers.ofByteArray(Json.toBytes(value));
  }

  private HttpResponse<byte[]> send(HttpRequest.Builder request) throws GatewayException {
    HttpRequest built = request.build();
    try {
      return http.send(built, HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw new GatewayException(
          "cannot reach the gateway at " + server + ": " + Failures.describe(e), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new GatewayException("interrupted talking to " + server, e);
    }
  }

  private HttpResponse<byte[]> expect(HttpResponse<byte[]> response, int... statuses)
      throws GatewayException {
    for (int status : statuses) {
      if (response.statusCode() == status) {
        return response;
      }
    }
    throw new GatewayException(
        response.statusCode(),
        response.request().method()
            + " "
            + response.uri().getPath()
            + " answered "
            + response.statusCode()
            + errorDetail(response.body()));
  }

  static String errorDetail(byte[] body) {
    try {
      ApiError error = Json.mapper().readValue(body, ApiError.class);
      if (error.error() != null) {
        return ": " + error.error() + (error.detail() == null ? "" : " (" + error.detail() + ")");
      }
    } catch (IOException ignored) {
      // not the JSON error body: show the start of whatever came back
    }
    String text = new String(body, java.nio.charset.StandardCharsets.UTF_8).strip();
    return text.isEmpty()
        ? ""
        : ": " + (text.length() > 200 ? text.substring(0, 200) + "..." : text);
  }
}
