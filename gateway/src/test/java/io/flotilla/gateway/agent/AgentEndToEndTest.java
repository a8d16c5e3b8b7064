package io.flotilla.gateway.agent;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.agent.runtime.AppHealth;
import io.flotilla.gateway.testing.ApiClient.Answer;
import io.flotilla.protocol.composeapp.ComposeFile;
import io.flotilla.protocol.device.AppsStates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The device story with everything real: the server (registry, containers.git, builder, device
 * gateway), the agent in its own JVM, podman's Docker API and docker-compose. A device registers,
 * the daemon runs a first target (a web service and a probe that fetches it over the compose
 * network), switches to a second on the WebSocket notice, fails three times on a broken target and
 * rolls back; an agent SIGKILLed at random points of updates always ends on a whole target. Each
 * test has its own device on its own tag; the server and the builds are shared ({@link
 * EndToEndFleet}).
 */
@Timeout(value = 600, unit = TimeUnit.SECONDS)
class AgentEndToEndTest {

  private static final String FACTORY = EndToEndFleet.FACTORY;
  private static final String HW = EndToEndFleet.HW;
  private static final String APP = EndToEndFleet.APP;
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Long enough that only the WebSocket notice can explain a switch within seconds. */
  private static final int POLLING_SECONDS = 600;

  /** For a short CLI command: a new agent JVM took over 30 s to start at a load average of 50. */
  private static final Duration CLI = Duration.ofSeconds(90);

  @RegisterExtension static final EndToEndFleet fleet = new EndToEndFleet();

  String name;
  Path deviceDir;
  AgentProcess agent;
  Path sotaDir;
  String uuid;
  Process daemon;
  Path daemonLog;

  @BeforeEach
  void newDevice() throws Exception {
    name = fleet.newDeviceName();
    deviceDir = Files.createDirectories(fleet.dir.resolve(name));
    sotaDir = deviceDir.resolve("sota");
    Path confD = Files.createDirectories(deviceDir.resolve("conf.d"));
    // nothing about the registry: the daemon reads it through the apps proxy that registration
    // wrote into
    // sota.toml; a slow poll proves that the WebSocket wakes the daemon
    Files.writeString(
        confD.resolve("z-90-e2e.toml"), "[uptane]\npolling_seconds = " + POLLING_SECONDS + "\n");
    agent = new AgentProcess(sotaDir.resolve("sota.toml") + "," + confD, fleet.podman.dockerHost());
    daemonLog = deviceDir.resolve("daemon.log");
  }

  /**
   * The next test's device runs the same compose project on the same podman: this one's containers
   * go.
   */
  @AfterEach
  void removeDevice() throws Exception {
    AgentProcess.stop(daemon);
    Path installed = sotaDir.resolve("compose-apps").resolve(APP).resolve("docker-compose.yml");
    if (Files.exists(installed)) {
      ProcessBuilder down =
          new ProcessBuilder(
                  "docker-compose",
                  "-p",
                  APP,
                  "-f",
                  installed.toString(),
                  "down",
                  "--remove-orphans",
                  "-t",
                  "1")
              .redirectErrorStream(true)
              .redirectOutput(deviceDir.resolve("down.log").toFile());
      down.environment().put("DOCKER_HOST", fleet.podman.dockerHost());
      down.start().waitFor(60, TimeUnit.SECONDS);
    }
  }

  @Test
  void theDaemonRunsTargetOne() throws Exception {
    register();
    assertEquals(21, agent.run(CLI, "check").exit(), "no target yet: exit 21");

    long first = fleet.publish(fleet.v1, name);
    daemon = agent.start(daemonLog, "daemon");
    awaitDeviceOn(first, Duration.ofSeconds(120));
    assertRunningHealthy();
  }

  @Test
  void theProbeReachesTheWebServiceByItsNameOverTheComposeNetwork() throws Exception {
    daemonOnItsFirstTarget();
    eventually(
        Duration.ofSeconds(30),
        () -> {
          assertTrue(
              logs("probe").contains("fetched: hello v"),
              "the probe fetched the web page over the compose network: " + logs("probe"));
          return null;
        });
  }

  @Test
  void aNewTargetIsInstalledWithinSecondsOfTheWebSocketNotice() throws Exception {
    daemonOnItsFirstTarget();
    long second = fleet.publish(fleet.v2, name);
    long published = System.nanoTime();
    awaitDeviceOn(second, Duration.ofSeconds(60));
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - published);
    assertTrue(seconds < POLLING_SECONDS / 4, "switched after " + seconds + " s");
    assertRunningHealthy();
  }

  @Test
  void aBrokenTargetIsTriedThreeTimesThenTheDeviceRollsBack() throws Exception {
    long good = daemonOnItsFirstTarget();
    long bad = fleet.publish(fleet.broken, name);
    // each attempt starts the apps and waits for them to stay up: about a minute at a load of 30
    JsonNode updates =
        eventually(
            Duration.ofSeconds(300),
            () -> {
              JsonNode list =
                  fleet.api.get(devicePath() + "/updates", fleet.admin).json().get("updates");
              List<JsonNode> toBad =
                  stream(list)
                      .filter(u -> u.path("targetName").asText().equals(HW + "-" + bad))
                      .toList();
              assertEquals(3, toBad.size(), "three attempts at the broken target: " + list);
              toBad.forEach(u -> assertEquals("failed", u.path("state").asText(), u.toString()));
              JsonNode newest =
                  stream(list)
                      .max(Comparator.comparing(u -> u.path("startedAt").asText()))
                      .orElseThrow();
              assertEquals(
                  HW + "-" + good,
                  newest.path("targetName").asText(),
                  "the rollback re-syncs the good target: " + list);
              assertEquals("succeeded", newest.path("state").asText(), newest.toString());
              return list;
            });
    awaitDeviceOn(good, Duration.ofSeconds(30));
    assertRunningHealthy();
    assertTrue(
        Files.readString(daemonLog).contains("rolling back to " + HW + "-" + good),
        tail(daemonLog));
    assertTrue(
        Files.readString(daemonLog).contains("      failed: update "),
        "the daemon's stdout ends a failed attempt with its reason: " + tail(daemonLog));

    // the rollback succeeded, and the operator still sees what failed and why: the broken
    // target's last attempt, or an attempt of the rollback itself when the probe caught the web
    // service mid-restart (the rollback is tried again like any update)
    JsonNode device =
        eventually(
            Duration.ofSeconds(30),
            () -> {
              JsonNode view = fleet.api.get(devicePath(), fleet.admin).json();
              assertEquals("succeeded", view.path("updateState").asText(), view.toString());
              assertTrue(
                  Set.of(HW + "-" + bad, HW + "-" + good)
                      .contains(view.path("lastFailure").path("targetName").asText()),
                  view.toString());
              return view;
            });
    JsonNode lastFailure = device.get("lastFailure");
    assertEquals("EcuInstallationCompleted", lastFailure.path("step").asText(), device.toString());
    assertTrue(
        lastFailure.path("reason").asText().contains("services stopped after start")
            && (lastFailure.path("reason").asText().contains("crash")
                || lastFailure.path("targetName").asText().equals(HW + "-" + good)),
        device.toString());

    // every target the device ran or tried is an update with its events
    for (String target : List.of(HW + "-" + good, HW + "-" + bad)) {
      JsonNode update =
          stream(updates)
              .filter(u -> u.path("targetName").asText().equals(target))
              .findFirst()
              .orElseThrow();
      JsonNode detail =
          fleet
              .api
              .get(devicePath() + "/updates/" + update.path("correlationId").asText(), fleet.admin)
              .json();
      List<String> types =
          stream(detail.path("events")).map(e -> e.path("eventType").path("id").asText()).toList();
      assertTrue(
          types.contains("UpdateInitStarted") && types.contains("EcuInstallationCompleted"),
          target + ": " + detail);
    }
  }

  /**
   * SIGKILL at a random moment of an update between two good targets, then one restart: the device
   * must end on a whole target, the one it left or the one it went to, never in between.
   */
  @Test
  void anAgentKilledAtRandomPointsAlwaysEndsOnAWholeTarget() throws Exception {
    long one = updatedToItsFirstTarget();
    long two = fleet.publish(fleet.v2, name);
    Random random = new Random(Long.getLong("crash.seed", System.nanoTime()));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(80);
    int runs = 0;
    long goal = two;
    while (runs < 6 && System.nanoTime() < deadline) {
      String before = currentTarget();
      Process update = agent.start(daemonLog, "update", Long.toString(goal));
      Thread.sleep(300 + random.nextInt(9000));
      boolean killed = update.isAlive();
      AgentProcess.kill(update, Duration.ofSeconds(10));

      JsonNode status = status();
      if (!status.path("update_in_progress").isNull()) {
        AgentProcess.Result resumed = agent.run(Duration.ofSeconds(120), "update");
        assertEquals(0, resumed.exit(), "resuming after SIGKILL: " + resumed.output());
        status = status();
      }
      String after = status.path("current_target").asText();
      assertTrue(
          after.equals(before) || after.equals(HW + "-" + goal),
          "run " + runs + ": " + before + " -> " + after);
      assertTrue(status.path("update_in_progress").isNull(), status.toString());
      assertRunningHealthy();
      if (after.equals(HW + "-" + goal)) {
        goal = goal == two ? one : two;
      }
      runs += killed ? 1 : 0;
    }
    assertTrue(runs >= 2, "only " + runs + " runs were killed mid-way");
  }

  /**
   * An update fetched but not installed is overtaken by a newer target: the daemon cancels it and
   * installs the newer.
   */
  @Test
  void theDaemonCancelsAnUnfinishedUpdateWhenANewerTargetArrives() throws Exception {
    updatedToItsFirstTarget();
    long older = fleet.publish(fleet.v2, name);
    agent.ok(Duration.ofSeconds(120), "fetch", Long.toString(older));
    JsonNode fetched = status().path("update_in_progress");
    assertEquals("fetched", fetched.path("state").asText(), fetched.toString());
    String correlationId = fetched.path("id").asText();

    long newer = fleet.publish(fleet.v4, name);
    daemon = agent.start(daemonLog, "daemon");
    awaitDeviceOn(newer, Duration.ofSeconds(120));
    assertRunningHealthy();
    assertTrue(
        Files.readString(daemonLog)
            .contains(
                "Newer target " + HW + "-" + newer + ": canceling update to " + HW + "-" + older),
        tail(daemonLog));

    JsonNode canceled =
        fleet.api.get(devicePath() + "/updates/" + correlationId, fleet.admin).json();
    assertEquals(
        "failed",
        canceled.path("state").asText(),
        "the server sees the canceled update end: " + canceled);
    JsonNode last = canceled.path("events").get(canceled.path("events").size() - 1);
    assertEquals(
        "EcuInstallationCompleted",
        last.path("eventType").path("id").asText(),
        canceled.toString());
    assertTrue(
        last.path("event").path("details").asText().contains("newer target " + HW + "-" + newer),
        last.toString());
  }

  /** Registers this test's device on a tag of its own (its name). */
  private void register() throws Exception {
    String deviceToken = fleet.token("[\"devices:create\"]");
    agent.ok(
        Duration.ofSeconds(120),
        "register",
        "--server",
        "http://" + fleet.host,
        "--token",
        deviceToken,
        "--factory",
        FACTORY,
        "--name",
        name,
        "--hw-id",
        HW,
        "--tag",
        name,
        "--sota-dir",
        sotaDir.toString());
    uuid =
        JSON.readTree(agent.ok(CLI, "whoami", "--format", "json").output()).path("uuid").asText();
    assertFalse(uuid.isBlank());
  }

  /** A registered device whose daemon runs a first target; answers that target's version. */
  private long daemonOnItsFirstTarget() throws Exception {
    register();
    long first = fleet.publish(fleet.v1, name);
    daemon = agent.start(daemonLog, "daemon");
    awaitDeviceOn(first, Duration.ofSeconds(120));
    assertRunningHealthy();
    return first;
  }

  /**
   * A registered device that installed a first target with one {@code update}, no daemon; answers
   * its version.
   */
  private long updatedToItsFirstTarget() throws Exception {
    register();
    long first = fleet.publish(fleet.v1, name);
    agent.ok(Duration.ofSeconds(120), "update", Long.toString(first));
    assertEquals(HW + "-" + first, currentTarget());
    assertRunningHealthy();
    return first;
  }

  private void awaitDeviceOn(long version, Duration within) throws Exception {
    eventually(
        within,
        () -> {
          Answer device = fleet.api.get(devicePath(), fleet.admin);
          assertEquals(200, device.status(), device.body());
          assertEquals(
              HW + "-" + version,
              device.json().path("targetName").asText(),
              device.body() + "\n" + tail(daemonLog));
          return null;
        });
  }

  /** Every service of the installed compose file has a running container of exactly that config. */
  private void assertRunningHealthy() throws Exception {
    Path compose = sotaDir.resolve("compose-apps").resolve(APP).resolve("docker-compose.yml");
    Map<String, String> hashes = ComposeFile.parse(Files.readAllBytes(compose)).configHashes();
    AppsStates.AppState state =
        eventually(
            Duration.ofSeconds(30),
            () -> {
              AppsStates.AppState app = AppHealth.of(fleet.engine, APP, "", hashes);
              assertEquals(AppsStates.HEALTHY, app.state(), app.toString());
              return app;
            });
    assertEquals(
        hashes.keySet(),
        Set.copyOf(state.services().stream().map(AppsStates.ServiceState::name).toList()));
  }

  private String currentTarget() throws Exception {
    return status().path("current_target").asText();
  }

  private JsonNode status() throws Exception {
    return JSON.readTree(agent.ok(CLI, "status", "--format", "json").output());
  }

  private static String logs(String service) throws Exception {
    return fleet.podman.logs(APP + "_" + service + "_1");
  }

  private String devicePath() {
    return "/api/v1/factories/" + FACTORY + "/devices/" + uuid;
  }

  private static Stream<JsonNode> stream(JsonNode array) {
    List<JsonNode> items = new ArrayList<>();
    array.forEach(items::add);
    return items.stream();
  }

  private static String tail(Path log) throws Exception {
    if (!Files.exists(log)) {
      return "";
    }
    String text = Files.readString(log);
    return text.length() > 4000 ? text.substring(text.length() - 4000) : text;
  }
}
