package io.flotilla.gateway.agent;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.builder.image.BusyboxBaseImage;
import io.flotilla.agent.runtime.AppHealth;
import io.flotilla.agent.runtime.DockerEngine;
import io.flotilla.agent.testing.PodmanService;
import io.flotilla.builder.registry.RegistryClient;
import io.flotilla.builder.registry.RegistryEndpoints;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.build.GitCli;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.ApiClient.Answer;
import io.flotilla.gateway.testing.TestServers;
import io.flotilla.protocol.composeapp.ComposeFile;
import io.flotilla.protocol.device.AppsStates;
import java.net.URI;
import java.net.http.HttpClient;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The device story with everything real: the server (registry, containers.git, builder, device gateway), the agent
 * in its own JVM, podman's Docker API and docker-compose. A device registers, the daemon runs target 1 (a web
 * service and a probe that fetches it over the compose network), switches to target 2 on the WebSocket notice,
 * fails three times on a broken target 3 and rolls back to 2; then the agent is SIGKILLed at random points of
 * updates and must always end on a whole target.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class AgentEndToEndTest {

  private static final String FACTORY = "acme";
  private static final String HW = "amd64-linux";
  private static final String APP = "shop";
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Long enough that only the WebSocket notice can explain a switch within seconds. */
  private static final int POLLING_SECONDS = 600;

  static Path dir;
  static PodmanService podman;
  static DockerEngine engine;
  static FlotillaServer server;
  static ApiClient api;
  static String admin;
  static String pushToken;
  static String host;
  static Path clone;
  static AgentProcess agent;
  static Path sotaDir;
  static String uuid;
  static Process daemon;
  static Path daemonLog;

  @BeforeAll
  static void start() throws Exception {
    assumeTrue("true".equals(System.getenv("CI")) || PodmanService.installed(), "podman is not installed (CI installs it)");
    dir = Files.createTempDirectory("agent-e2e-");
    podman = PodmanService.start(dir.resolve("podman"));
    engine = DockerEngine.fromDockerHost(podman.dockerHost());
    server = TestServers.start(dir.resolve("data"), null);
    api = new ApiClient(server.httpPort());
    host = "127.0.0.1:" + server.httpPort();
    admin = server.adminToken().value();
    assertEquals(201, api.post("/api/v1/factories", admin, "{\"name\":\"" + FACTORY + "\",\"platforms\":[\"" + HW + "\"]}").status());
    pushToken = token("[\"containers:read\",\"containers:push\",\"targets:read\"]");
    RegistryClient registry = new RegistryClient(HttpClient.newHttpClient(),
        new RegistryEndpoints(host, URI.create("http://" + host), "dev", pushToken, Set.of(host)));
    BusyboxBaseImage.push(registry, host, FACTORY + "/busybox", "1");

    GitCli.ok(dir, "clone", "http://dev:" + pushToken + "@" + host + "/git/" + FACTORY + "/containers.git", "clone");
    clone = dir.resolve("clone");
    writeApp("v1", false);

    sotaDir = dir.resolve("device/sota");
    Path confD = Files.createDirectories(dir.resolve("device/conf.d"));
    // nothing about the registry: the daemon reads it through the apps proxy that registration wrote into
    // sota.toml; a slow poll proves that the WebSocket wakes the daemon
    Files.writeString(confD.resolve("z-90-e2e.toml"), "[uptane]\npolling_seconds = " + POLLING_SECONDS + "\n");
    agent = new AgentProcess(sotaDir.resolve("sota.toml") + "," + confD, podman.dockerHost());
    daemonLog = dir.resolve("daemon.log");
  }

  @AfterAll
  static void stop() throws Exception {
    AgentProcess.stop(daemon);
    Path installed = sotaDir == null ? null : sotaDir.resolve("compose-apps").resolve(APP).resolve("docker-compose.yml");
    if (installed != null && Files.exists(installed)) {
      ProcessBuilder down = new ProcessBuilder("docker-compose", "-p", APP, "-f", installed.toString(), "down", "--remove-orphans", "-t", "1")
          .redirectErrorStream(true).redirectOutput(dir.resolve("down.log").toFile());
      down.environment().put("DOCKER_HOST", podman.dockerHost());
      down.start().waitFor(60, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.close();
    }
    if (podman != null) {
      podman.close();
    }
    if (dir != null) {
      deleteTree(dir);
    }
  }

  @Test
  @Order(1)
  void theDaemonRunsTargetOne() throws Exception {
    String deviceToken = token("[\"devices:create\"]");
    agent.ok(Duration.ofSeconds(60), "register", "--server", "http://" + host, "--token", deviceToken, "--factory", FACTORY,
        "--name", "dev-1", "--hw-id", HW, "--tag", "main", "--sota-dir", sotaDir.toString());
    uuid = JSON.readTree(agent.ok(Duration.ofSeconds(30), "whoami", "--format", "json").output()).path("uuid").asText();
    assertFalse(uuid.isBlank());
    assertEquals(21, agent.run(Duration.ofSeconds(30), "check").exit(), "no target yet: exit 21");

    publish("target 1", 1);
    daemon = agent.start(daemonLog, "daemon");
    awaitDeviceOn(1, Duration.ofSeconds(120));
    assertRunningHealthy();
  }

  @Test
  @Order(2)
  void theProbeReachesTheWebServiceByItsNameOverTheComposeNetwork() throws Exception {
    eventually(Duration.ofSeconds(30), () -> {
      assertTrue(logs("probe").contains("fetched: hello v"), "the probe fetched the web page over the compose network: " + logs("probe"));
      return null;
    });
  }

  @Test
  @Order(3)
  void aNewTargetIsInstalledWithinSecondsOfTheWebSocketNotice() throws Exception {
    writeApp("v2", false);
    publish("target 2", 2);
    long published = System.nanoTime();
    awaitDeviceOn(2, Duration.ofSeconds(60));
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - published);
    assertTrue(seconds < POLLING_SECONDS / 4, "switched after " + seconds + " s");
    assertRunningHealthy();
  }

  @Test
  @Order(4)
  void aBrokenTargetIsTriedThreeTimesThenTheDeviceRollsBackToTwo() throws Exception {
    writeApp("v3", true);
    publish("target 3: a service that exits at once", 3);
    JsonNode updates = eventually(Duration.ofSeconds(150), () -> {
      JsonNode list = api.get(devicePath() + "/updates", admin).json().get("updates");
      List<JsonNode> toThree = stream(list).filter(u -> u.path("targetName").asText().equals(HW + "-3")).toList();
      assertEquals(3, toThree.size(), "three attempts at target 3: " + list);
      toThree.forEach(u -> assertEquals("failed", u.path("state").asText(), u.toString()));
      JsonNode newest = stream(list).max(Comparator.comparing(u -> u.path("startedAt").asText())).orElseThrow();
      assertEquals(HW + "-2", newest.path("targetName").asText(), "the rollback re-syncs target 2: " + list);
      assertEquals("succeeded", newest.path("state").asText(), newest.toString());
      return list;
    });
    awaitDeviceOn(2, Duration.ofSeconds(30));
    assertRunningHealthy();
    assertTrue(Files.readString(daemonLog).contains("rolling back to " + HW + "-2"), tail(daemonLog));

    // every target the device ran or tried is an update with its events
    for (String target : List.of(HW + "-1", HW + "-2", HW + "-3")) {
      JsonNode update = stream(updates).filter(u -> u.path("targetName").asText().equals(target)).findFirst().orElseThrow();
      JsonNode detail = api.get(devicePath() + "/updates/" + update.path("correlationId").asText(), admin).json();
      List<String> types = stream(detail.path("events")).map(e -> e.path("eventType").path("id").asText()).toList();
      assertTrue(types.contains("UpdateInitStarted") && types.contains("EcuInstallationCompleted"), target + ": " + detail);
    }
    AgentProcess.stop(daemon);
    daemon = null;
  }

  /**
   * SIGKILL at a random moment of an update between two good targets, then one restart: the device must end on a
   * whole target, the one it left or the one it went to, never in between.
   */
  @Test
  @Order(5)
  void anAgentKilledAtRandomPointsAlwaysEndsOnAWholeTarget() throws Exception {
    AgentProcess.stop(daemon);
    daemon = null;
    writeApp("v4", false);
    publish("target 4", 4);
    Random random = new Random(Long.getLong("crash.seed", System.nanoTime()));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(80);
    int runs = 0;
    long goal = 4;
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
      assertTrue(after.equals(before) || after.equals(HW + "-" + goal), "run " + runs + ": " + before + " -> " + after);
      assertTrue(status.path("update_in_progress").isNull(), status.toString());
      assertRunningHealthy();
      if (after.equals(HW + "-" + goal)) {
        goal = goal == 4 ? 2 : 4;
      }
      runs += killed ? 1 : 0;
    }
    assertTrue(runs >= 2, "only " + runs + " runs were killed mid-way");
  }

  /** An update fetched but not installed is overtaken by a newer target: the daemon cancels it and installs the newer. */
  @Test
  @Order(6)
  void theDaemonCancelsAnUnfinishedUpdateWhenANewerTargetArrives() throws Exception {
    long older = currentTarget().equals(HW + "-4") ? 2 : 4;
    agent.ok(Duration.ofSeconds(120), "fetch", Long.toString(older));
    JsonNode fetched = status().path("update_in_progress");
    assertEquals("fetched", fetched.path("state").asText(), fetched.toString());
    String correlationId = fetched.path("id").asText();

    writeApp("v5", false);
    publish("target 5", 5);
    daemon = agent.start(daemonLog, "daemon");
    awaitDeviceOn(5, Duration.ofSeconds(120));
    assertRunningHealthy();
    assertTrue(Files.readString(daemonLog).contains("Newer target " + HW + "-5: canceling update to " + HW + "-" + older), tail(daemonLog));

    JsonNode canceled = api.get(devicePath() + "/updates/" + correlationId, admin).json();
    assertEquals("failed", canceled.path("state").asText(), "the server sees the canceled update end: " + canceled);
    JsonNode last = canceled.path("events").get(canceled.path("events").size() - 1);
    assertEquals("EcuInstallationCompleted", last.path("eventType").path("id").asText(), canceled.toString());
    assertTrue(last.path("event").path("details").asText().contains("newer target " + HW + "-5"), last.toString());
  }

  private static void writeApp(String version, boolean broken) throws Exception {
    Files.createDirectories(clone.resolve("web"));
    Files.createDirectories(clone.resolve("probe"));
    Files.createDirectories(clone.resolve(APP));
    Files.writeString(clone.resolve("web/Dockerfile"),
        "FROM " + FACTORY + "/busybox:1\nWORKDIR /www\nCOPY index.html .\nCMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n");
    Files.writeString(clone.resolve("web/index.html"), "hello " + version + "\n");
    Files.writeString(clone.resolve("probe/Dockerfile"), "FROM " + FACTORY + "/busybox:1\nCOPY probe.sh /probe.sh\nCMD [\"/bin/sh\", \"/probe.sh\"]\n");
    // fetches the page once (the compose network's DNS must resolve "web"), prints it, then exits if web stops answering
    Files.writeString(clone.resolve("probe/probe.sh"), """
        i=0
        until page=$(busybox wget -q -O - http://web:8080/); do
          i=$((i+1)); [ "$i" -lt 20 ] || exit 1; busybox sleep 1
        done
        echo "fetched: $page"
        while busybox wget -q -O - http://web:8080/ > /dev/null; do busybox sleep 2; done
        echo "web stopped answering"; exit 1
        """);
    String compose = "services:\n  web:\n    image: web\n  probe:\n    image: probe\n    depends_on: [web]\n";
    if (broken) {
      compose += "  crash:\n    image: probe\n    command: [\"/bin/busybox\", \"false\"]\n";
    }
    Files.writeString(clone.resolve(APP).resolve("docker-compose.yml"), compose);
  }

  private static void publish(String message, int build) throws Exception {
    GitCli.ok(clone, "add", "-A");
    GitCli.ok(clone, "commit", "-q", "-m", message);
    GitCli.ok(clone, "push", "origin", "HEAD:main");
    JsonNode done = eventually(Duration.ofSeconds(90), () -> {
      JsonNode json = api.get("/api/v1/factories/" + FACTORY + "/builds/" + build, admin).json();
      assertTrue(Set.of("succeeded", "failed", "canceled").contains(json.path("status").asText()), json.toString());
      return json;
    });
    assertEquals("succeeded", done.path("status").asText(), done.toString());
    eventually(Duration.ofSeconds(20), () -> {
      String list = api.get("/api/v1/factories/" + FACTORY + "/targets?tag=main", admin).body();
      assertTrue(list.contains(HW + "-" + build), list);
      return null;
    });
  }

  private static void awaitDeviceOn(int version, Duration within) throws Exception {
    eventually(within, () -> {
      Answer device = api.get(devicePath(), admin);
      assertEquals(200, device.status(), device.body());
      assertEquals(HW + "-" + version, device.json().path("targetName").asText(), device.body() + "\n" + tail(daemonLog));
      return null;
    });
  }

  /** Every service of the installed compose file has a running container of exactly that config. */
  private static void assertRunningHealthy() throws Exception {
    Path compose = sotaDir.resolve("compose-apps").resolve(APP).resolve("docker-compose.yml");
    Map<String, String> hashes = ComposeFile.parse(Files.readAllBytes(compose)).configHashes();
    AppsStates.AppState state = eventually(Duration.ofSeconds(30), () -> {
      AppsStates.AppState app = AppHealth.of(engine, APP, "", hashes);
      assertEquals(AppsStates.HEALTHY, app.state(), app.toString());
      return app;
    });
    assertEquals(hashes.keySet(), Set.copyOf(state.services().stream().map(AppsStates.ServiceState::name).toList()));
  }

  private static String currentTarget() throws Exception {
    return status().path("current_target").asText();
  }

  private static JsonNode status() throws Exception {
    return JSON.readTree(agent.ok(Duration.ofSeconds(30), "status", "--format", "json").output());
  }

  private static String logs(String service) throws Exception {
    return podman.logs(APP + "_" + service + "_1");
  }

  private static String devicePath() {
    return "/api/v1/factories/" + FACTORY + "/devices/" + uuid;
  }

  private static String token(String scopes) throws Exception {
    Answer answer = api.post("/api/v1/factories/" + FACTORY + "/tokens", admin, "{\"scopes\":" + scopes + "}");
    assertEquals(201, answer.status(), answer.body());
    return answer.json().get("token").asText();
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

  /** Best effort: a container that podman could not stop may keep a mount busy in its storage. */
  private static void deleteTree(Path root) throws Exception {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        try {
          Files.deleteIfExists(path);
        } catch (java.io.IOException e) {
          System.err.println("left behind: " + path + " (" + e.getMessage() + ")");
        }
      }
    }
  }
}
