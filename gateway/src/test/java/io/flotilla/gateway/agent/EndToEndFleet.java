package io.flotilla.gateway.agent;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.agent.runtime.DockerEngine;
import io.flotilla.agent.testing.PodmanService;
import io.flotilla.builder.image.BusyboxBaseImage;
import io.flotilla.builder.registry.RegistryClient;
import io.flotilla.builder.registry.RegistryEndpoints;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.build.GitCli;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.ApiClient.Answer;
import io.flotilla.gateway.testing.TestServers;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * What every end-to-end device test shares because it is slow to make: the server (registry,
 * containers.git, builder, device gateway), podman's Docker API, and one build of each app version
 * a test may need. Tests never see each other: each registers its own device on its own tag and
 * publishes these builds' apps as new targets of that tag.
 */
final class EndToEndFleet implements BeforeAllCallback, AfterAllCallback {

  static final String FACTORY = "acme";
  static final String HW = "amd64-linux";
  static final String APP = "shop";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The apps and commit of one build, to be published again as a target of any tag. */
  record AppSet(Map<String, String> apps, String containersSha) {}

  private final AtomicInteger devices = new AtomicInteger();
  Path dir;
  PodmanService podman;
  DockerEngine engine;
  FlotillaServer server;
  ApiClient api;
  String admin;
  String host;
  AppSet v1;
  AppSet v2;

  /** A service that exits at once. */
  AppSet broken;

  AppSet v4;

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    assumeTrue(
        "true".equals(System.getenv("CI")) || PodmanService.installed(),
        "podman is not installed (CI installs it)");
    dir = Files.createTempDirectory("agent-e2e-");
    podman = PodmanService.start(dir.resolve("podman"));
    engine = DockerEngine.fromDockerHost(podman.dockerHost());
    server = TestServers.start(dir.resolve("data"), null);
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
    Path clone = dir.resolve("clone");
    v1 = build(clone, "v1", false, 1);
    v2 = build(clone, "v2", false, 2);
    broken = build(clone, "v3", true, 3);
    v4 = build(clone, "v4", false, 4);
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
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

  /** A device name and tag no other test uses. */
  String newDeviceName() {
    return "dev-" + devices.incrementAndGet();
  }

  /** Publishes {@code set} as a new target of {@code tag} and answers its version. */
  long publish(AppSet set, String tag) throws Exception {
    ObjectNode body = JSON.createObjectNode();
    body.putArray("hardwareIds").add(HW);
    body.putArray("tags").add(tag);
    ObjectNode apps = body.putObject("apps");
    set.apps().forEach(apps::put);
    body.put("containersSha", set.containersSha());
    Answer added = api.post("/api/v1/factories/" + FACTORY + "/targets", admin, body.toString());
    assertEquals(201, added.status(), added.body());
    return added.json().path("targets").get(0).path("version").asLong();
  }

  String token(String scopes) throws Exception {
    Answer answer =
        api.post("/api/v1/factories/" + FACTORY + "/tokens", admin, "{\"scopes\":" + scopes + "}");
    assertEquals(201, answer.status(), answer.body());
    return answer.json().get("token").asText();
  }

  /**
   * Pushes one version of the app (a web service and a probe that fetches it over the compose
   * network) and waits for its build.
   */
  private AppSet build(Path clone, String version, boolean broken, int build) throws Exception {
    Files.createDirectories(clone.resolve("web"));
    Files.createDirectories(clone.resolve("probe"));
    Files.createDirectories(clone.resolve(APP));
    Files.writeString(
        clone.resolve("web/Dockerfile"),
        "FROM "
            + FACTORY
            + "/busybox:1\nWORKDIR /www\nCOPY index.html .\nCMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n");
    Files.writeString(clone.resolve("web/index.html"), "hello " + version + "\n");
    Files.writeString(
        clone.resolve("probe/Dockerfile"),
        "FROM "
            + FACTORY
            + "/busybox:1\nCOPY probe.sh /probe.sh\nCMD [\"/bin/sh\", \"/probe.sh\"]\n");
    // fetches the page once (the compose network's DNS must resolve "web"), prints it, then exits
    // if web stops answering
    Files.writeString(
        clone.resolve("probe/probe.sh"),
        """
        i=0
        until page=$(busybox wget -q -O - http://web:8080/); do
          i=$((i+1)); [ "$i" -lt 20 ] || exit 1; busybox sleep 1
        done
        echo "fetched: $page"
        while busybox wget -q -O - http://web:8080/ > /dev/null; do busybox sleep 2; done
        echo "web stopped answering"; exit 1
        """);
    String compose =
        "services:\n  web:\n    image: web\n  probe:\n    image: probe\n    depends_on: [web]\n";
    if (broken) {
      compose += "  crash:\n    image: probe\n    command: [\"/bin/busybox\", \"false\"]\n";
    }
    Files.writeString(clone.resolve(APP).resolve("docker-compose.yml"), compose);
    GitCli.ok(clone, "add", "-A");
    GitCli.ok(clone, "commit", "-q", "-m", "app " + version);
    GitCli.ok(clone, "push", "origin", "HEAD:main");
    JsonNode done =
        eventually(
            Duration.ofSeconds(90),
            () -> {
              JsonNode json =
                  api.get("/api/v1/factories/" + FACTORY + "/builds/" + build, admin).json();
              assertTrue(
                  Set.of("succeeded", "failed", "canceled").contains(json.path("status").asText()),
                  json.toString());
              return json;
            });
    assertEquals("succeeded", done.path("status").asText(), done.toString());
    JsonNode target =
        eventually(
            Duration.ofSeconds(20),
            () -> {
              for (JsonNode candidate :
                  api.get("/api/v1/factories/" + FACTORY + "/targets?tag=main", admin)
                      .json()
                      .path("targets")) {
                if (candidate.path("name").asText().equals(HW + "-" + build)) {
                  return candidate;
                }
              }
              throw new AssertionError(HW + "-" + build + " is not listed yet");
            });
    return new AppSet(
        JSON.convertValue(target.path("apps"), new TypeReference<Map<String, String>>() {}),
        target.path("containersSha").textValue());
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
