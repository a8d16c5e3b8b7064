package io.flotilla.gateway.agent;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.agent.testing.PodmanService;
import io.flotilla.builder.image.BusyboxBaseImage;
import io.flotilla.builder.registry.RegistryClient;
import io.flotilla.builder.registry.RegistryEndpoints;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.build.GitCli;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.ApiClient.Answer;
import io.flotilla.gateway.testing.TestServers;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The agent (its own JVM) is SIGKILLed at random points of real updates between two targets on
 * podman, and in every other trial the device gateway becomes unreachable once the update has
 * fetched its content, so the update ends (or is killed and resumed) while the server cannot hear
 * of it. After the agent's next command with the server back ({@code update} or {@code check},
 * whichever comes), the server must see what the device runs: its target and apps, and every update
 * the device recorded in the state it ended in. {@code -Dagent.crash.trials=N} (default 3, what CI
 * runs), {@code -Dcrash.seed=S}; {@code -Dagent.crash.report=FILE} receives a line per trial and
 * the result line ({@code bench/agent-crash.sh}).
 */
class AgentCrashTest {

  private static final String FACTORY = "acme";
  private static final String HW = "amd64-linux";
  private static final String APP = "web";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration COMMAND = Duration.ofSeconds(180);

  static Path dir;
  static PodmanService podman;
  static FlotillaServer server;
  static TcpProxy proxy;
  static ApiClient api;
  static String admin;
  static String host;
  static Path clone;
  static Path sotaDir;
  static AgentProcess agent;
  static String uuid;
  static Path log;

  @BeforeAll
  static void start() throws Exception {
    assumeTrue(
        "true".equals(System.getenv("CI")) || PodmanService.installed(),
        "podman is not installed (CI installs it)");
    dir = Files.createTempDirectory("agent-crash-");
    podman = PodmanService.start(dir.resolve("podman"));
    server = TestServers.start(dir.resolve("data"), null);
    proxy = new TcpProxy(server.devicePort());
    api = new ApiClient(server.httpPort());
    host = "127.0.0.1:" + server.httpPort();
    admin = server.adminToken().value();
    assertEquals(
        201,
        api.post(
                "/api/v1/factories",
                admin,
                "{\"name\":\"" + FACTORY + "\",\"platforms\":[\"" + HW + "\"]}")
            .status());
    String pushToken = token("[\"containers:read\",\"containers:push\",\"targets:read\"]");
    RegistryClient registry =
        new RegistryClient(
            HttpClient.newHttpClient(),
            new RegistryEndpoints(
                host, URI.create("http://" + host), "dev", pushToken, Set.of(host)));
    BusyboxBaseImage.push(registry, host, FACTORY + "/busybox", "1");
    GitCli.ok(
        dir,
        "clone",
        "http://dev:" + pushToken + "@" + host + "/git/" + FACTORY + "/containers.git",
        "clone");
    clone = dir.resolve("clone");
    publish(1);
    publish(2);

    sotaDir = dir.resolve("device/sota");
    log = dir.resolve("agent.log");
    Path confD = Files.createDirectories(dir.resolve("device/conf.d"));
    Files.writeString(
        confD.resolve("z-90-crash.toml"), "[pacman]\ninsecure_registries = \"" + host + "\"\n");
    agent = new AgentProcess(sotaDir.resolve("sota.toml") + "," + confD, podman.dockerHost());
    agent.ok(
        Duration.ofSeconds(60),
        "register",
        "--server",
        "http://" + host,
        "--token",
        token("[\"devices:create\"]"),
        "--factory",
        FACTORY,
        "--name",
        "crash-1",
        "--hw-id",
        HW,
        "--tag",
        "main",
        "--sota-dir",
        sotaDir.toString());
    // the device reaches its gateway only through the proxy, which can make it unreachable
    Files.writeString(
        confD.resolve("z-91-proxy.toml"),
        "[tls]\nserver = \"https://127.0.0.1:" + proxy.port() + "\"\n");
    uuid =
        JSON.readTree(agent.ok(Duration.ofSeconds(30), "whoami", "--format", "json").output())
            .path("uuid")
            .asText();
    agent.ok(COMMAND, "update", "1");
  }

  @AfterAll
  static void stop() throws Exception {
    Path installed =
        sotaDir == null
            ? null
            : sotaDir.resolve("compose-apps").resolve(APP).resolve("docker-compose.yml");
    if (installed != null && Files.exists(installed)) {
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
              .redirectOutput(dir.resolve("down.log").toFile());
      down.environment().put("DOCKER_HOST", podman.dockerHost());
      down.start().waitFor(60, TimeUnit.SECONDS);
    }
    if (proxy != null) {
      proxy.close();
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
  void deviceAndServerAgreeAfterEveryKillAndOutage() throws Exception {
    int trials = Integer.getInteger("agent.crash.trials", 3);
    long seed = Long.getLong("crash.seed", System.nanoTime());
    Random random = new Random(seed);
    long started = System.nanoTime();
    int consistent = 0;
    int outages = 0;
    int killed = 0;
    // an update may also fail on its own (a start slower than the agent's 60 s on a loaded
    // machine): the device then
    // runs its previous target, which the server must show all the same
    int otherExits = 0;
    List<String> failures = new ArrayList<>();
    Path report =
        Path.of(System.getProperty("agent.crash.report", dir.resolve("report.txt").toString()));
    Files.writeString(report, "");
    for (int trial = 0; trial < trials; trial++) {
      boolean outage = trial % 2 == 1;
      long trialStarted = System.nanoTime();
      Process update = null;
      // decisions read the records (each `status` is a JVM start); the agreement check asks
      // `status` itself
      try {
        long goal = currentTarget().equals(HW + "-1") ? 2 : 1;
        update = agent.start(log, "update", Long.toString(goal));
        if (outage) {
          outages++;
          awaitFetchedOrEnded(update);
          proxy.down();
          try {
            if (random.nextBoolean()) {
              Thread.sleep(random.nextInt(8000));
              killed += kill(update) ? 1 : 0;
            }
            if (!update.waitFor(COMMAND.toSeconds(), TimeUnit.SECONDS)) {
              AgentProcess.kill(update, Duration.ofSeconds(10));
              fail("the update did not end while the server was away\n" + tail(log));
            }
            if (unfinished()) {
              otherExits += agent.run(COMMAND, "update", Long.toString(goal)).exit() == 0 ? 0 : 1;
            }
          } finally {
            proxy.up();
          }
        } else {
          Thread.sleep(300 + random.nextInt(9000));
          killed += kill(update) ? 1 : 0;
        }
        // the agent's next command, with the server reachable
        if (unfinished() || random.nextBoolean()) {
          int exit = agent.run(COMMAND, "update", Long.toString(goal)).exit();
          otherExits += exit == 0 || exit == 25 ? 0 : 1;
        } else {
          agent.ok(COMMAND, "check");
        }
        eventually(
            Duration.ofSeconds(30),
            () -> {
              assertAgree();
              return null;
            });
        consistent++;
        progress(
            report,
            "trial " + trial + (outage ? " outage" : " kill") + ": consistent",
            trialStarted);
      } catch (AssertionError | Exception e) {
        failures.add("trial " + trial + (outage ? " (outage)" : "") + ": " + e.getMessage());
        progress(
            report,
            "trial "
                + trial
                + (outage ? " outage" : " kill")
                + ": NOT consistent: "
                + e.getMessage(),
            trialStarted);
        if (update != null) {
          AgentProcess.kill(update, Duration.ofSeconds(10));
        }
      }
    }
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);
    String result =
        "agent-crash: trials="
            + trials
            + " consistent="
            + consistent
            + " outages="
            + outages
            + " killed="
            + killed
            + " failed-updates="
            + otherExits
            + " seconds="
            + seconds
            + " seed="
            + seed;
    System.out.println(result);
    Files.writeString(report, result + "\n", StandardOpenOption.APPEND);
    assertEquals(List.of(), failures, result);
    assertTrue(killed > 0 || trials < 3, "no trial killed an agent mid-way: " + result);
  }

  /** One line per trial as it ends, so a run cut short still shows what it found. */
  private static void progress(Path report, String line, long since) throws IOException {
    Files.writeString(
        report,
        line + " (" + TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - since) + " s)\n",
        StandardOpenOption.APPEND);
  }

  private static String currentTarget() throws IOException {
    String current = "";
    for (JsonNode record : records()) {
      if (record.path("state").asText().equals("completed")) {
        current = record.path("targetName").asText();
      }
    }
    return current;
  }

  private static boolean unfinished() throws IOException {
    return records().stream()
        .anyMatch(
            r -> !Set.of("completed", "failed", "canceled").contains(r.path("state").asText()));
  }

  /**
   * The device's running target and apps, and every update it recorded, are what the server shows.
   */
  private static void assertAgree() throws Exception {
    JsonNode status = status();
    assertTrue(status.path("update_in_progress").isNull(), status.toString());
    JsonNode device = api.get(devicePath(), admin).json();
    assertEquals(
        status.path("current_target").asText(),
        device.path("targetName").asText(),
        device.toString());
    Set<String> apps = new TreeSet<>();
    status.path("current_apps").fieldNames().forEachRemaining(apps::add);
    Set<String> serverApps = new TreeSet<>();
    device.path("apps").forEach(a -> serverApps.add(a.asText()));
    assertEquals(apps, serverApps, device.toString());

    Map<String, String> serverStates = new HashMap<>();
    api.get(devicePath() + "/updates", admin)
        .json()
        .path("updates")
        .forEach(u -> serverStates.put(u.path("correlationId").asText(), u.path("state").asText()));
    List<JsonNode> records = records();
    for (JsonNode record : records) {
      String id = record.path("id").asText();
      assertEquals(0, record.path("unsent").size(), "events left unsent in " + record);
      assertEquals(
          serverState(record.path("state").asText()),
          serverStates.get(id),
          "update "
              + id
              + " ("
              + record.path("state").asText()
              + " on the device); the server has "
              + serverStates);
    }
    JsonNode latest = records.get(records.size() - 1);
    assertEquals(
        latest.path("id").asText(), device.path("updateCorrelationId").asText(), device.toString());
    assertEquals(
        serverState(latest.path("state").asText()),
        device.path("updateState").asText(),
        device.toString());
  }

  private static String serverState(String deviceState) {
    return switch (deviceState) {
      case "completed" -> "succeeded";
      case "failed", "canceled" -> "failed";
      default -> "in-progress";
    };
  }

  /** The update records the agent keeps, oldest first. */
  private static List<JsonNode> records() throws IOException {
    Path updates = sotaDir.resolve("flotilla-agent/updates");
    List<JsonNode> records = new ArrayList<>();
    try (Stream<Path> files = Files.list(updates)) {
      for (Path file :
          files
              .filter(f -> f.getFileName().toString().matches("[0-9A-Z]{26}\\.json"))
              .sorted()
              .toList()) {
        records.add(JSON.readTree(file.toFile()));
      }
    }
    return records;
  }

  /**
   * Waits until the update's content is on the device (nothing more to download), or the command
   * ended.
   */
  private static void awaitFetchedOrEnded(Process update) throws Exception {
    // the newest record is the previous, completed update until this one is created
    Set<String> fetched =
        Set.of("fetched", "installing", "installed", "starting", "started", "completing");
    long deadline = System.nanoTime() + COMMAND.toNanos();
    while (update.isAlive() && System.nanoTime() < deadline) {
      List<JsonNode> records = records();
      if (!records.isEmpty()
          && fetched.contains(records.get(records.size() - 1).path("state").asText())) {
        return;
      }
      Thread.sleep(50);
    }
  }

  private static boolean kill(Process process) throws InterruptedException {
    boolean alive = process.isAlive();
    AgentProcess.kill(process, Duration.ofSeconds(10));
    return alive;
  }

  private static JsonNode status() throws Exception {
    return JSON.readTree(agent.ok(Duration.ofSeconds(60), "status", "--format", "json").output());
  }

  private static void publish(int build) throws Exception {
    Files.createDirectories(clone.resolve("web"));
    Files.createDirectories(clone.resolve(APP));
    Files.writeString(
        clone.resolve("web/Dockerfile"),
        "FROM "
            + FACTORY
            + "/busybox:1\nWORKDIR /www\nCOPY index.html .\nCMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n");
    Files.writeString(clone.resolve("web/index.html"), "hello " + build + "\n");
    Files.writeString(
        clone.resolve(APP).resolve("docker-compose.yml"), "services:\n  web:\n    image: web\n");
    GitCli.ok(clone, "add", "-A");
    GitCli.ok(clone, "commit", "-q", "-m", "target " + build);
    GitCli.ok(clone, "push", "origin", "HEAD:main");
    JsonNode done =
        eventually(
            Duration.ofSeconds(120),
            () -> {
              JsonNode json =
                  api.get("/api/v1/factories/" + FACTORY + "/builds/" + build, admin).json();
              assertTrue(
                  Set.of("succeeded", "failed", "canceled").contains(json.path("status").asText()),
                  json.toString());
              return json;
            });
    assertEquals("succeeded", done.path("status").asText(), done.toString());
    eventually(
        Duration.ofSeconds(30),
        () -> {
          String list = api.get("/api/v1/factories/" + FACTORY + "/targets?tag=main", admin).body();
          assertTrue(list.contains(HW + "-" + build), list);
          return null;
        });
  }

  private static String devicePath() {
    return "/api/v1/factories/" + FACTORY + "/devices/" + uuid;
  }

  private static String token(String scopes) throws Exception {
    Answer answer =
        api.post("/api/v1/factories/" + FACTORY + "/tokens", admin, "{\"scopes\":" + scopes + "}");
    assertEquals(201, answer.status(), answer.body());
    return answer.json().get("token").asText();
  }

  private static String tail(Path file) throws IOException {
    if (!Files.exists(file)) {
      return "";
    }
    String text = Files.readString(file);
    return text.length() > 4000 ? text.substring(text.length() - 4000) : text;
  }

  private static void deleteTree(Path root) throws IOException {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        try {
          Files.deleteIfExists(path);
        } catch (IOException e) {
          System.err.println("left behind: " + path + " (" + e.getMessage() + ")");
        }
      }
    }
  }
}
