package io.flotilla.agent.update;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.flotilla.agent.AgentException;
import io.flotilla.agent.ExitCode;
import io.flotilla.agent.gateway.GatewayClient;
import io.flotilla.agent.registry.RegistryPuller;
import io.flotilla.agent.runtime.Compose;
import io.flotilla.agent.runtime.DockerEngine;
import io.flotilla.agent.runtime.DockerRuntime;
import io.flotilla.agent.runtime.ImageArchive;
import io.flotilla.agent.store.ContentStore;
import io.flotilla.agent.testing.PodmanService;
import io.flotilla.agent.testing.TestGateway;
import io.flotilla.agent.testing.TestImages;
import io.flotilla.agent.testing.TestRegistry;
import io.flotilla.protocol.device.AppsStates;
import io.flotilla.protocol.device.DeviceEvent;
import io.flotilla.protocol.device.HubCredentials;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The update engine against a real container engine (podman's Docker API) and docker-compose: a
 * first target, an update to a second that reuses the image layer, a broken target that fails to
 * start and the re-sync back, and the removal of images older than the previous target. Each test
 * is a device of its own (its own gateway, store and state) that starts from nothing on the shared
 * podman and registry. Runs in CI (CI=true, where podman is installed) and wherever podman is
 * present.
 */
@Timeout(600)
class UpdateEngineWithPodmanTest {

  private static final String HW = "amd64-linux";
  private static final String HTTPD = "[\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/\"]";
  private static Path shared;
  private static PodmanService podman;
  private static TestRegistry registry;
  private static DockerEngine engine;
  private static String busybox;

  @TempDir Path dir;
  private TestGateway gateway;
  private DockerRuntime runtime;
  private final ByteArrayOutputStream output = new ByteArrayOutputStream();

  @BeforeAll
  static void start() throws Exception {
    boolean ci = "true".equals(System.getenv("CI"));
    assumeTrue(ci || PodmanService.installed(), "podman is not installed (CI installs it)");
    shared = Files.createTempDirectory("agent-podman-");
    podman = PodmanService.start(shared.resolve("podman"));
    registry = new TestRegistry();
    engine = DockerEngine.fromDockerHost(podman.dockerHost());
    busybox =
        TestImages.pushBusybox(
            registry, "acme/busybox", UpdateEngine.goArchitecture(System.getProperty("os.arch")));
  }

  @AfterAll
  static void stop() throws Exception {
    if (podman != null) {
      podman.close();
    }
    if (registry != null) {
      registry.close();
    }
    if (shared != null) {
      try (Stream<Path> walk = Files.walk(shared)) {
        walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  @BeforeEach
  void newDevice() throws Exception {
    gateway = new TestGateway();
    runtime =
        new DockerRuntime(
            engine,
            new Compose(Compose.detectCommand(), podman.dockerHost(), 300),
            dir.resolve("state/compose-overrides"),
            dir.resolve("state/tmp"));
  }

  /** The next test's device starts from an engine without this one's containers and images. */
  @AfterEach
  void removeDevice() throws Exception {
    Path appDir = dir.resolve("apps").resolve("shell");
    if (Files.exists(appDir)) {
      try {
        runtime.stop("shell", appDir);
      } catch (IOException e) {
        System.err.println("cleanup: " + e.getMessage());
      }
    }
    for (String image : runtime.loadedImages()) {
      runtime.removeImage(image);
    }
    gateway.close();
  }

  private UpdateEngine updateEngine() throws Exception {
    GatewayClient client = new GatewayClient(gateway.uri(), SSLContext.getDefault());
    client.setTag("main");
    RegistryPuller registryClient =
        new RegistryPuller(
            HttpClient.newHttpClient(),
            host -> "http",
            () -> new HubCredentials(TestRegistry.USER, TestRegistry.SECRET));
    TargetSelector selector =
        new TargetSelector(HW, Optional.of("main"), Optional.empty(), System.err::println);
    return new UpdateEngine(
        client,
        registryClient,
        new ContentStore(dir.resolve("store")),
        updates(),
        runtime,
        new EventQueue(dir.resolve("state/events"), updates()),
        selector,
        dir.resolve("apps"),
        99,
        UpdateEngine.goArchitecture(System.getProperty("os.arch")),
        new Console(new PrintStream(output, true), false, true),
        Clock.systemUTC());
  }

  private UpdateStore updates() {
    return new UpdateStore(dir.resolve("state/updates"), Clock.systemUTC());
  }

  private static String app(String services) {
    return TestImages.pushApp(registry, "acme", "shell", "services:\n" + services, Map.of());
  }

  private static String service(String name, String command) {
    return "  " + name + ":\n    image: " + busybox + "\n    command: " + command + "\n";
  }

  /** Publishes {@code version} with the one app {@code uri} and updates to it. */
  private UpdateRecord installed(long version, String uri) throws Exception {
    gateway.publish(HW, version, "main", Map.of("shell", uri));
    UpdateRecord update =
        updateEngine().run(UpdateAction.UPDATE, OptionalLong.empty(), false, UpdateState.COMPLETED);
    assertEquals(UpdateState.COMPLETED, update.state(), output.toString());
    assertEquals(HW + "-" + version, update.targetName());
    return update;
  }

  @Test
  void installsAndStartsTheFirstTarget() throws Exception {
    long tokensBefore = registry.tokenRequests.get();
    UpdateRecord update = installed(1, app(service("web", HTTPD)));
    assertEquals("amd64-linux-1", update.targetName());

    AppsStates states = updateEngine().appsStates(update);
    assertEquals(AppsStates.HEALTHY, states.apps().get("shell").state(), states.toString());
    assertEquals("running", states.apps().get("shell").services().get(0).state());

    List<String> types =
        gateway.events.stream()
            .filter(e -> e.event().correlationId().equals(update.id()))
            .map(e -> e.eventType().id())
            .toList();
    assertEquals(
        List.of(
            "UpdateInitStarted",
            "UpdateInitCompleted",
            "EcuDownloadStarted",
            "EcuDownloadCompleted",
            "EcuInstallationStarted",
            "EcuInstallationApplied",
            "EcuInstallationCompleted"),
        types);
    assertTrue(
        registry.tokenRequests.get() > tokensBefore,
        "blobs were pulled with a token from the token flow");
    assertEquals(
        ExitCode.TARGET_ALREADY_RUNNING,
        assertThrows(
                AgentException.class,
                () ->
                    updateEngine()
                        .run(
                            UpdateAction.UPDATE,
                            OptionalLong.empty(),
                            false,
                            UpdateState.COMPLETED))
            .exitCode());
  }

  @Test
  void updatesToTheSecondTargetReusingTheImageLayer() throws Exception {
    installed(1, app(service("web", HTTPD)));
    String uri =
        app(
            service("web", HTTPD)
                + service(
                    "client",
                    "[\"sh\", \"-c\", \"while true; do wget -q -O /dev/null http://web:8080/ && echo ok; sleep 1; done\"]"));
    gateway.publish(HW, 2, "main", Map.of("shell", uri));
    long servedBefore = registry.blobBytesServed.get();
    UpdateRecord update =
        updateEngine().run(UpdateAction.UPDATE, OptionalLong.empty(), false, UpdateState.COMPLETED);
    assertEquals(UpdateState.COMPLETED, update.state(), output.toString());
    assertEquals("amd64-linux-2", update.targetName());
    assertEquals("amd64-linux-1", update.fromTarget());
    long served = registry.blobBytesServed.get() - servedBefore;
    assertTrue(
        served < 10_000,
        "only the new bundle and index were downloaded, not the image layer again: " + served);
    AppsStates states = updateEngine().appsStates(update);
    assertEquals(2, states.apps().get("shell").services().size());
    assertEquals(AppsStates.HEALTHY, states.apps().get("shell").state(), states.toString());
  }

  @Test
  void aServiceThatExitsFailsTheStartAndResyncRestoresTheCurrentTarget() throws Exception {
    installed(2, app(service("web", HTTPD)));
    String broken = app(service("web", "[\"sh\", \"-c\", \"exit 3\"]"));
    gateway.publish(HW, 3, "main", Map.of("shell", broken));
    AgentException failure =
        assertThrows(
            AgentException.class,
            () ->
                updateEngine()
                    .run(UpdateAction.UPDATE, OptionalLong.empty(), false, UpdateState.COMPLETED));
    assertEquals(ExitCode.START_FAILED, failure.exitCode(), failure.getMessage());
    UpdateRecord failed = updates().latest().orElseThrow();
    assertEquals(UpdateState.FAILED, failed.state());
    assertEquals(1, updates().failedAttempts("amd64-linux-3"));
    DeviceEvent last = gateway.events.get(gateway.events.size() - 1);
    assertEquals("EcuInstallationCompleted", last.eventType().id());
    assertEquals(Boolean.FALSE, last.event().success());
    assertTrue(last.event().details().contains("Exited (3)"), last.event().details());
    assertEquals("      failed: " + failure.getMessage(), lastOutputLine());

    UpdateRecord resync =
        updateEngine().run(UpdateAction.UPDATE, OptionalLong.empty(), true, UpdateState.COMPLETED);
    assertEquals("amd64-linux-2", resync.targetName());
    assertEquals(UpdateState.COMPLETED, resync.state());
    assertEquals(AppsStates.HEALTHY, updateEngine().appsStates(resync).apps().get("shell").state());
    ContentStore store = new ContentStore(dir.resolve("store"));
    assertFalse(
        store.has(io.flotilla.protocol.composeapp.AppUri.parse(broken).digest()),
        "completing pruned the failed target's blobs");
    assertTrue(
        store.has(
            io.flotilla.protocol.composeapp.AppUri.parse(resync.apps().get("shell")).digest()));
  }

  private AgentException failingUpdate(long version, String uri) throws Exception {
    gateway.publish(HW, version, "main", Map.of("shell", uri));
    return assertThrows(
        AgentException.class,
        () ->
            updateEngine()
                .run(UpdateAction.UPDATE, OptionalLong.empty(), false, UpdateState.COMPLETED));
  }

  /** The reason the server got, from the last failed event's {@code {"error": ...}} details. */
  private String reportedError() throws IOException {
    DeviceEvent last = gateway.events.get(gateway.events.size() - 1);
    assertEquals(Boolean.FALSE, last.event().success(), last.toString());
    return io.flotilla.protocol.Json.mapper()
        .readTree(last.event().details())
        .get("error")
        .asText();
  }

  private String lastOutputLine() {
    String[] lines = output.toString().split("\n");
    return lines[lines.length - 1];
  }

  @Test
  void anUnreachableRegistryIsNamedWithTheCauseNotNull() throws Exception {
    int closed;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      closed = socket.getLocalPort();
    }
    String host = "127.0.0.1:" + closed;
    AgentException failure = failingUpdate(5, host + "/acme/shell@sha256:" + "c".repeat(64));
    assertEquals(ExitCode.INIT_FAILED, failure.exitCode(), failure.getMessage());
    String reason = reportedError();
    assertTrue(reason.contains(host + "/v2/acme/shell/manifests/sha256:"), reason);
    assertTrue(reason.contains("cannot connect"), reason);
    assertFalse(reason.contains("null"), reason);
    assertTrue(failure.getMessage().endsWith(reason), failure.getMessage());
    assertEquals("      failed: " + failure.getMessage(), lastOutputLine());
  }

  @Test
  void aMissingImageIsNamedWithTheRegistrysAnswer() throws Exception {
    String missing = registry.host() + "/acme/missing@sha256:" + "d".repeat(64);
    String uri =
        TestImages.pushApp(
            registry, "acme", "shell", "services:\n  web:\n    image: " + missing + "\n", Map.of());
    AgentException failure = failingUpdate(6, uri);
    assertEquals(ExitCode.INIT_FAILED, failure.exitCode(), failure.getMessage());
    String reason = reportedError();
    assertTrue(reason.startsWith("app " + uri + ": service web, image " + missing + ": "), reason);
    assertTrue(reason.endsWith("answered 404 BLOB_UNKNOWN"), reason);
    assertEquals("      failed: " + failure.getMessage(), lastOutputLine());
  }

  /**
   * Each target's image comes from its own repository, so each is a tag of its own in the engine.
   */
  @Test
  void aCompletedUpdateRemovesImagesOlderThanThePreviousTarget() throws Exception {
    installed(2, app(service("web", HTTPD)));
    String arch = UpdateEngine.goArchitecture(System.getProperty("os.arch"));
    String four = TestImages.pushBusybox(registry, "acme/four", arch);
    String five = TestImages.pushBusybox(registry, "acme/five", arch);
    String httpd = "    command: " + HTTPD + "\n";
    gateway.publish(
        HW, 4, "main", Map.of("shell", app("  web:\n    image: " + four + "\n" + httpd)));
    assertEquals(
        UpdateState.COMPLETED,
        updateEngine()
            .run(UpdateAction.UPDATE, OptionalLong.empty(), false, UpdateState.COMPLETED)
            .state(),
        output.toString());
    String targetTwoImage = localTag(busybox);
    assertTrue(
        engine.imageExists(targetTwoImage), "the previous target's image stays for a rollback");
    assertTrue(engine.imageExists(localTag(four)));

    gateway.publish(
        HW, 5, "main", Map.of("shell", app("  web:\n    image: " + five + "\n" + httpd)));
    UpdateRecord update =
        updateEngine().run(UpdateAction.UPDATE, OptionalLong.empty(), false, UpdateState.COMPLETED);
    assertEquals(UpdateState.COMPLETED, update.state(), output.toString());
    assertFalse(engine.imageExists(targetTwoImage), "older than the previous target: removed");
    assertTrue(engine.imageExists(localTag(four)), "the previous target's image stays");
    assertTrue(engine.imageExists(localTag(five)), "the running target's image stays");
    assertEquals(Set.of(localTag(four), localTag(five)), runtime.loadedImages());
    assertEquals(AppsStates.HEALTHY, updateEngine().appsStates(update).apps().get("shell").state());
  }

  private static String localTag(String imageReference) {
    PinnedImage ref = PinnedImage.parse(imageReference);
    return ImageArchive.localTag(ref.hostAndRepository(), ref.digest());
  }
}
