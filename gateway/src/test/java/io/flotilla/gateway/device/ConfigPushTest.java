package io.flotilla.gateway.device;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.testing.TestServers;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * An operator's config change reaches a device holding a WebSocket at once (§8 {@code
 * config-changed}): its own files, its tag (which travels as a config file), its group's files and
 * the factory's. A device of the same factory is told of its own changes only.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConfigPushTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration PATIENCE = Duration.ofSeconds(20);
  private static final String FILES =
      "{\"reason\":\"test\",\"files\":[{\"name\":\"app.toml\",\"value\":\"x = %d\",\"unencrypted\":true}]}";

  @TempDir static Path dataDir;
  private FlotillaServer server;
  private String token;
  private final HttpClient api =
      HttpClient.newBuilder().connectTimeout(DeviceClient.TIMEOUT).build();

  @BeforeAll
  void start() throws Exception {
    server = TestServers.start(dataDir, null);
    String admin = server.adminToken().value();
    assertEquals(
        201,
        call(
                "POST",
                "/api/v1/factories",
                "{\"name\":\"acme\",\"platforms\":[\"amd64-linux\"]}",
                admin)
            .statusCode());
    HttpResponse<String> created =
        call(
            "POST",
            "/api/v1/factories/acme/tokens",
            "{\"description\":\"ops\",\"scopes\":[\"devices:create\",\"devices:write\"]}",
            admin);
    assertEquals(201, created.statusCode(), created.body());
    token = JSON.readTree(created.body()).get("token").asText();
  }

  @AfterAll
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void operatorConfigChangesArePushedToTheConnectedDevice() throws Exception {
    DeviceClient device = register("lab");
    DeviceClient other = register("field");
    BlockingQueue<String> pushed = listen(device);
    BlockingQueue<String> pushedToOther = listen(other);
    eventually(
        PATIENCE,
        () -> {
          assertEquals(2, server.devices().pushConnections());
          return null;
        });

    int round = 0;
    for (String path :
        new String[] {
          "/devices/" + device.uuid + "/config", "/device-groups/lab/config", "/config"
        }) {
      HttpResponse<String> answer =
          call("PUT", "/api/v1/factories/acme" + path, FILES.formatted(++round), token);
      assertEquals(200, answer.statusCode(), answer.body());
      assertConfigChanged(pushed.poll(10, TimeUnit.SECONDS), path);
    }
    HttpResponse<String> retag =
        call("PATCH", "/api/v1/factories/acme/devices/" + device.uuid, "{\"tag\":\"beta\"}", token);
    assertEquals(200, retag.statusCode(), retag.body());
    assertConfigChanged(pushed.poll(10, TimeUnit.SECONDS), "a new tag");

    // The other device is in another group: of the three layers only the factory's concerns it.
    assertConfigChanged(pushedToOther.poll(10, TimeUnit.SECONDS), "the factory config");
    assertNull(
        pushedToOther.poll(1, TimeUnit.SECONDS),
        "another device's own and group changes are not pushed to it");
  }

  private static void assertConfigChanged(String message, String after) throws Exception {
    assertNotNull(message, "no push within 10 s after changing " + after);
    JsonNode push = JSON.readTree(message);
    assertEquals("config-changed", push.path("type").asText(), message);
  }

  private DeviceClient register(String group) throws Exception {
    DeviceClient device = new DeviceClient();
    String body =
        JSON.createObjectNode()
            .put("name", "dev-" + device.uuid.substring(0, 6))
            .put("uuid", device.uuid)
            .put("hardware-id", "amd64-linux")
            .put("csr", device.csr("acme"))
            .put("group", group)
            .toString();
    HttpResponse<String> answer = call("POST", "/ota/devices/", body, token);
    assertEquals(201, answer.statusCode(), answer.body());
    JsonNode files = JSON.readTree(answer.body());
    device.registered(files.get("root.crt").asText(), files.get("client.pem").asText());
    return device;
  }

  private BlockingQueue<String> listen(DeviceClient device) throws Exception {
    BlockingQueue<String> messages = new LinkedBlockingQueue<>();
    HttpClient.newBuilder()
        .sslContext(device.sslContext())
        .connectTimeout(DeviceClient.TIMEOUT)
        .build()
        .newWebSocketBuilder()
        .header("x-ats-tags", "main")
        .buildAsync(
            URI.create("wss://127.0.0.1:" + server.devicePort() + "/ws"),
            new WebSocket.Listener() {
              @Override
              public CompletionStage<?> onText(
                  WebSocket webSocket, CharSequence data, boolean last) {
                messages.add(data.toString());
                webSocket.request(1);
                return null;
              }
            })
        .get(15, TimeUnit.SECONDS);
    return messages;
  }

  private HttpResponse<String> call(String method, String path, String body, String bearer)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.httpPort() + path))
            .timeout(DeviceClient.TIMEOUT)
            .header("Authorization", "Bearer " + bearer)
            .header("Content-Type", "application/json")
            .method(method, HttpRequest.BodyPublishers.ofString(body));
    return api.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
