package io.flotilla.gateway.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.fleetsim.Simulator;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.ApiClient.Answer;
import io.flotilla.gateway.testing.TestServers;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fleet simulator against a real in-process server: registration, mTLS check-ins, updates and
 * push.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FleetSimulatorTest {

  private static final String APP = "hub.example:8080/sim/shellhttpd@sha256:" + "a".repeat(64);
  private static final int DEVICES = 6;

  @TempDir static Path dataDir;
  @TempDir static Path workDir;
  private FlotillaServer server;
  private ApiClient api;
  private String admin;
  private String registrationToken;
  private final ByteArrayOutputStream output = new ByteArrayOutputStream();

  @BeforeAll
  void start() throws Exception {
    server = TestServers.start(dataDir, null);
    api = new ApiClient(server.httpPort());
    admin = Files.readString(dataDir.resolve("admin-token")).strip();
    assertEquals(
        201,
        api.post("/api/v1/factories", admin, "{\"name\":\"sim\",\"platforms\":[\"amd64-linux\"]}")
            .status());
    Answer token =
        api.post(
            "/api/v1/factories/sim/tokens",
            admin,
            "{\"description\":\"simulator\",\"scopes\":[\"devices:create\"]}");
    assertEquals(201, token.status(), token.body());
    registrationToken = token.json().get("token").asText();
    publishTarget();
  }

  @AfterAll
  void stop() {
    server.close();
  }

  private void publishTarget() throws Exception {
    Answer added =
        api.post(
            "/api/v1/factories/sim/targets",
            admin,
            "{\"tags\":[\"main\"],\"apps\":{\"shellhttpd\":\"" + APP + "\"}}");
    assertEquals(201, added.status(), added.body());
  }

  private Simulator.Settings settings(
      Duration duration,
      double websocketFraction,
      Simulator.Connections connections,
      PrintStream out) {
    return settings(
        "sim", registrationToken, workDir, duration, websocketFraction, connections, false, out);
  }

  private Simulator.Settings settings(
      String factory,
      String token,
      Path fleetDir,
      Duration duration,
      double websocketFraction,
      Simulator.Connections connections,
      boolean tlsResumption,
      PrintStream out) {
    return new Simulator.Settings(
        URI.create("https://127.0.0.1:" + server.devicePort()),
        URI.create("http://127.0.0.1:" + server.httpPort()),
        token,
        factory,
        DEVICES,
        Duration.ofSeconds(1),
        Duration.ZERO,
        "main",
        "amd64-linux",
        false,
        "http",
        websocketFraction,
        Duration.ZERO,
        duration,
        connections,
        Simulator.Scenario.CHECKIN,
        false,
        tlsResumption,
        fleetDir,
        2,
        Duration.ofSeconds(20),
        Duration.ofSeconds(1),
        4,
        out,
        Simulator.Faults.NONE);
  }

  @Test
  void devicesRegisterCheckInUpdateAndFollowAPushedTarget() throws Exception {
    PrintStream out = new PrintStream(output, true, StandardCharsets.UTF_8);
    CompletableFuture<Simulator.Report> run =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return new Simulator(
                        settings(
                            Duration.ofSeconds(8), 0.5, Simulator.Connections.NEW_PER_CHECKIN, out))
                    .run();
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            });
    awaitDevices(devices -> devices.size() == DEVICES && allOn(devices, "amd64-linux-1"));
    publishTarget();
    Simulator.Report report = run.get(60, TimeUnit.SECONDS);
    String printed = output.toString(StandardCharsets.UTF_8);

    assertTrue(printed.contains("no container is pulled or run"), printed);
    assertEquals(0, report.errorCount(), printed + report.errors());
    assertEquals(DEVICES, report.registeredThisRun());
    assertEquals(2L * DEVICES, report.updates(), printed);
    assertEquals(DEVICES / 2, report.peakWebSockets(), printed);
    Simulator.PushReport push =
        report.pushes().stream()
            .filter(p -> p.devicesPushed() > 0)
            .findFirst()
            .orElseThrow(() -> new AssertionError(printed));
    assertEquals(DEVICES / 2, push.devicesPushed(), printed);
    assertEquals(push.devicesPushed(), push.devicesFetched(), printed);

    JsonNode devices = awaitDevices(list -> list.size() == DEVICES && allOn(list, "amd64-linux-2"));
    for (JsonNode device : devices) {
      assertEquals("succeeded", device.get("updateState").asText(), device.toString());
      assertEquals("shellhttpd", device.get("apps").get(0).asText(), device.toString());
    }

    Simulator.Report again =
        new Simulator(settings(Duration.ofSeconds(2), 0, Simulator.Connections.KEEPALIVE, out))
            .run();
    assertEquals(0, again.registeredThisRun(), "a second run reuses the registered devices");
    assertEquals(0, again.errorCount(), again.errors().toString());
    assertTrue(again.checkIns() >= DEVICES, again.toString());
  }

  @Test
  void withResumptionOnlyEachDevicesFirstConnectionIsAFullHandshake(@TempDir Path fleetDir)
      throws Exception {
    // A factory of its own, so the other test's device counts stay exact.
    assertEquals(
        201,
        api.post(
                "/api/v1/factories", admin, "{\"name\":\"resume\",\"platforms\":[\"amd64-linux\"]}")
            .status());
    Answer token =
        api.post(
            "/api/v1/factories/resume/tokens",
            admin,
            "{\"description\":\"simulator\",\"scopes\":[\"devices:create\"]}");
    assertEquals(201, token.status(), token.body());
    PrintStream out = new PrintStream(output, true, StandardCharsets.UTF_8);

    Simulator.Report report =
        new Simulator(
                settings(
                    "resume",
                    token.json().get("token").asText(),
                    fleetDir,
                    Duration.ofSeconds(4),
                    0,
                    Simulator.Connections.NEW_PER_CHECKIN,
                    true,
                    out))
            .run();

    assertEquals(0, report.errorCount(), report.errors().toString());
    assertEquals(DEVICES, report.fullHandshakes(), report.toString());
    assertEquals(report.checkIns() - DEVICES, report.resumedHandshakes(), report.toString());
    assertTrue(report.resumedHandshakes() >= DEVICES, report.toString());
  }

  private static boolean allOn(JsonNode devices, String target) {
    for (JsonNode device : devices) {
      if (!target.equals(device.path("targetName").asText())) {
        return false;
      }
    }
    return true;
  }

  private JsonNode awaitDevices(Predicate<JsonNode> done) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    JsonNode devices = null;
    while (System.nanoTime() < deadline) {
      Answer list = api.get("/api/v1/factories/sim/devices?limit=100", admin);
      if (list.status() == 200) {
        devices = list.json().get("devices");
        if (done.test(devices)) {
          return devices;
        }
      }
      Thread.sleep(200);
    }
    throw new AssertionError(
        "devices never reached the expected state: "
            + devices
            + "\nsimulator: "
            + output.toString(StandardCharsets.UTF_8));
  }
}
