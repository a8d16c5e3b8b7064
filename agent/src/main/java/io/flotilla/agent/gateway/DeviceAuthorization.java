package io.flotilla.agent.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.agent.AgentException;
import io.flotilla.agent.ExitCode;
import io.flotilla.protocol.Json;
import io.flotilla.protocol.device.DevicePaths;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;

/**
 * Registration without a token: the OAuth 2.0 device authorization grant (RFC 8628) as fioup runs
 * it. Asks for a device code, shows the user code an operator approves, and polls until it is
 * approved, denied or expired.
 */
public final class DeviceAuthorization {

  private static final String GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code";

  /** RFC 8628 §3.5: after {@code slow_down} the interval grows by 5 s for good. */
  private static final Duration SLOW_DOWN_STEP = Duration.ofSeconds(5);

  /** Far below any real expiry; keeps a broken server from spinning the loop. */
  private static final Duration MIN_INTERVAL = Duration.ofSeconds(1);

  private final HttpClient http;
  private final String base;
  private final PrintStream out;

  /** {@code base}: the API base URL, the {@code --server} of {@code register}. */
  public DeviceAuthorization(HttpClient http, String base, PrintStream out) {
    this.http = http;
    this.base = base;
    this.out = out;
  }

  /** A factory token with {@code devices:create}, once an operator approved this device. */
  public String token(String factory, String uuid) throws IOException, InterruptedException {
    String scope = factory + ":devices:create";
    Reply grant =
        post(
            DevicePaths.OAUTH_DEVICE_AUTHORIZATION,
            "client_id=" + encode(uuid) + "&scope=" + encode(scope));
    if (grant.status() != 200) {
      throw refused("the server refused a device authorization", grant.body());
    }
    String deviceCode = grant.body().path("device_code").asText();
    Duration interval = Duration.ofSeconds(grant.body().path("interval").asLong(5));
    if (interval.compareTo(MIN_INTERVAL) < 0) {
      interval = MIN_INTERVAL;
    }
    Instant expires = Instant.now().plusSeconds(grant.body().path("expires_in").asLong(0));
    out.println(
        "Approve this device within "
            + grant.body().path("expires_in").asLong(0) / 60
            + " minutes: user code "
            + grant.body().path("user_code").asText()
            + ", device "
            + uuid
            + ".");
    out.println(
        "  An operator with devices:create runs: curl -X POST "
            + grant
                .body()
                .path("verification_uri_complete")
                .asText(grant.body().path("verification_uri").asText())
            + " -H 'Authorization: Bearer <token>' -H 'Content-Type: application/json'"
            + " -d '{\"approved\": true}'");
    out.flush();
    String poll =
        "grant_type="
            + encode(GRANT_TYPE)
            + "&device_code="
            + encode(deviceCode)
            + "&client_id="
            + encode(uuid)
            + "&scope="
            + encode(scope);
    while (true) {
      Thread.sleep(interval.toMillis());
      Reply reply = post(DevicePaths.OAUTH_TOKEN, poll);
      if (reply.status() == 200) {
        return reply.body().path("access_token").asText();
      }
      String error = reply.body().path("error").asText("");
      if (reply.status() != 400) {
        if (Instant.now().isAfter(expires)) {
          throw refused("the device authorization expired", reply.body());
        }
        continue;
      }
      switch (error) {
        case "authorization_pending" -> {}
        case "slow_down" -> interval = interval.plus(SLOW_DOWN_STEP);
        default -> throw refused("the device was not authorized", reply.body());
      }
    }
  }

  private record Reply(int status, JsonNode body) {}

  private Reply post(String path, String form) throws IOException, InterruptedException {
    HttpResponse<byte[]> response;
    try {
      response =
          http.send(
              HttpRequest.newBuilder(URI.create(base + path))
                  .timeout(Duration.ofSeconds(60))
                  .header("Content-Type", "application/x-www-form-urlencoded")
                  .POST(HttpRequest.BodyPublishers.ofString(form))
                  .build(),
              HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw new AgentException(ExitCode.GENERIC, "cannot reach " + base + path + ": " + e, e);
    }
    JsonNode body;
    try {
      body = Json.mapper().readTree(response.body());
    } catch (IOException e) {
      body = Json.mapper().createObjectNode();
    }
    return new Reply(response.statusCode(), body == null ? Json.mapper().createObjectNode() : body);
  }

  private static AgentException refused(String what, JsonNode body) {
    return new AgentException(
        ExitCode.GENERIC,
        what
            + ": "
            + body.path("error").asText("no error code")
            + " ("
            + body.path("detail").asText("")
            + ")");
  }

  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }
}
