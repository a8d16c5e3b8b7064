package io.flotilla.fleetsim;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.agent.gateway.AgentTls;
import io.flotilla.agent.registry.RegistryPuller;
import io.flotilla.protocol.Json;
import io.flotilla.protocol.composeapp.AppUri;
import io.flotilla.protocol.device.DeviceHeaders;
import io.flotilla.protocol.device.DevicePaths;
import io.flotilla.protocol.device.HubCredentials;
import io.flotilla.protocol.device.TargetsMetadata;
import io.flotilla.protocol.device.TufTarget;
import io.flotilla.protocol.oci.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import org.HdrHistogram.Histogram;

/**
 * Simulates a fleet of one factory against a real server: registration with real CSRs, check-ins
 * over real mutual TLS with the fioup headers, the update event sequence and apps-states when a
 * newer target appears, optional WebSocket push. The runtime is simulated: no container is pulled
 * or started, the device only reports that it did. A handful of I/O threads drive every device; a
 * device costs its key material plus a few dozen bytes.
 */
public final class Simulator {

  public enum Connections {
    KEEPALIVE,
    NEW_PER_CHECKIN
  }

  /**
   * {@code checkin}: poll targets.json and update; {@code events}: each cycle posts a full update
   * event sequence.
   */
  public enum Scenario {
    CHECKIN,
    EVENTS
  }

  public record Settings(
      URI gateway,
      URI api,
      String token,
      String factory,
      int devices,
      Duration poll,
      Duration ramp,
      String tag,
      String hardwareId,
      boolean fetchBlobs,
      String registryScheme,
      double websocketFraction,
      Duration warmUp,
      Duration duration,
      Connections connections,
      Scenario scenario,
      boolean startCurrent,
      boolean tlsResumption,
      Path workDir,
      int ioThreads,
      Duration timeout,
      Duration progressInterval,
      int registerConcurrency,
      PrintStream out,
      Faults faults) {}

  /**
   * Releases that go bad on a share of the devices, for rollout benchmarks: {@code failTarget}'s
   * install fails there (the device stays on what it runs and does not try that target again),
   * {@code unhealthyTarget} installs but its apps report unhealthy. Which devices is fixed by the
   * device index and the target name, so a rerun picks the same ones.
   */
  public record Faults(
      String failTarget, double failShare, String unhealthyTarget, double unhealthyShare) {

    public static final Faults NONE = new Faults(null, 0, null, 0);

    boolean fails(int index, String target) {
      return target != null && target.equals(failTarget) && draw(index, target) < failShare;
    }

    boolean unhealthy(int index, String target) {
      return target != null
          && target.equals(unhealthyTarget)
          && draw(index, target) < unhealthyShare;
    }

    private static double draw(int index, String target) {
      return new java.util.SplittableRandom(index * 1_000_003L + target.hashCode()).nextDouble();
    }
  }

  public record Latency(
      long count,
      double meanMs,
      double p50Ms,
      double p90Ms,
      double p99Ms,
      double p999Ms,
      double maxMs) {
    static Latency of(Histogram micros) {
      return new Latency(
          micros.getTotalCount(),
          micros.getMean() / 1000.0,
          ms(micros, 50),
          ms(micros, 90),
          ms(micros, 99),
          ms(micros, 99.9),
          micros.getMaxValue() / 1000.0);
    }

    private static double ms(Histogram micros, double percentile) {
      return micros.getValueAtPercentile(percentile) / 1000.0;
    }
  }

  public record PushReport(
      long version,
      int devicesPushed,
      int devicesFetched,
      long firstPushEpochMs,
      long lastFetchEpochMs) {}

  public record Report(
      String runtime,
      int devices,
      int registeredThisRun,
      double registrationSeconds,
      String scenario,
      String connections,
      double pollSeconds,
      double rampSeconds,
      double warmUpSeconds,
      double durationSeconds,
      double intendedRatePerSecond,
      double achievedRatePerSecond,
      long checkIns,
      long updates,
      long events,
      long overruns,
      long fullHandshakes,
      long resumedHandshakes,
      Latency latency,
      Map<String, Long> errors,
      Map<String, String> errorExamples,
      int peakWebSockets,
      List<PushReport> pushes,
      int connectionLimit,
      long connectionsWaited) {
    public long errorCount() {
      return errors.values().stream().mapToLong(Long::longValue).sum();
    }
  }

  static final String RUNTIME_NOTE =
      "simulated runtime: updates are reported (events, apps-states) but no container is pulled or run";

  /**
   * What a targets.json means to a device, decided once per distinct body (all devices of a tag
   * share it).
   */
  private record TargetsView(
      long signedVersion,
      String targetName,
      long version,
      String appsHeader,
      Map<String, String> apps) {}

  private static final class SimDevice {
    final int index;
    volatile TargetsView running;
    TlsConnection connection;
    TlsConnection webSocket;
    volatile boolean webSocketOpen;
    volatile long awaitingPush;
    volatile boolean checkAgain;
    volatile String refused;

    SimDevice(int index) {
      this.index = index;
    }
  }

  private final Settings settings;
  private final Stats stats = new Stats();
  private final ConcurrentHashMap<String, TargetsView> views = new ConcurrentHashMap<>();
  private FleetIdentities identities;
  private SSLContext tls;
  private IoLoop[] loops;
  private ConnectionBudget budget;
  private SimDevice[] devices;
  private AtomicIntegerArray busy;
  private InetSocketAddress address;
  private String hostHeader;
  private int webSocketDevices;
  private long startNanos;
  private long rampEndNanos;
  private volatile boolean running;
  private ScheduledExecutorService scheduler;
  private ExecutorService blobPool;

  public Simulator(Settings settings) {
    this.settings = settings;
  }

  public Report run() throws IOException, InterruptedException {
    PrintStream out = settings.out();
    out.println(RUNTIME_NOTE);
    Files.createDirectories(settings.workDir());
    Path identitiesFile = settings.workDir().resolve("devices.bin");
    Path rootCertificate = settings.workDir().resolve("root.crt");
    identities = FleetIdentities.load(identitiesFile, settings.factory());
    int known = identities.size();
    long registrationStart = System.nanoTime();
    scheduler = Executors.newSingleThreadScheduledExecutor(daemon("simulate-timer"));
    if (known < settings.devices()) {
      out.printf(
          "registering %d devices (%d known from %s)%n",
          settings.devices() - known, known, identitiesFile);
      register(rootCertificate);
      identities.save(identitiesFile, known);
    }
    double registrationSeconds = (System.nanoTime() - registrationStart) / 1e9;
    if (known < settings.devices()) {
      out.printf(
          "registered %d devices in %.1f s (%.0f/s)%n",
          settings.devices() - known,
          registrationSeconds,
          (settings.devices() - known) / registrationSeconds);
    }
    tls = identities.sslContext(rootCertificate);
    prepare();
    try {
      drive();
    } finally {
      shutdown();
    }
    return report(
        settings.devices() - Math.min(known, settings.devices()),
        known < settings.devices() ? registrationSeconds : 0);
  }

  private void register(Path rootCertificate) throws IOException, InterruptedException {
    ExecutorService keys =
        Executors.newFixedThreadPool(
            Math.max(1, Runtime.getRuntime().availableProcessors()), daemon("simulate-keys"));
    HttpClient http =
        HttpClient.newBuilder().connectTimeout(settings.timeout()).executor(keys).build();
    Registrar registrar =
        new Registrar(
            http, settings.api(), settings.token(), settings.tag(), settings.hardwareId(), keys);
    var progress =
        scheduler.scheduleAtFixedRate(
            () ->
                settings.out().printf("registered %d/%d%n", identities.size(), settings.devices()),
            settings.progressInterval().toMillis(),
            settings.progressInterval().toMillis(),
            TimeUnit.MILLISECONDS);
    try {
      registrar
          .registerUpTo(
              identities, settings.devices(), settings.registerConcurrency(), rootCertificate)
          .join();
    } catch (java.util.concurrent.CompletionException e) {
      throw new IOException(
          "registration failed after "
              + identities.size()
              + " devices: "
              + Failure.from(e).getMessage(),
          e);
    } finally {
      progress.cancel(false);
      keys.shutdownNow();
    }
  }

  private void prepare() {
    URI gateway = settings.gateway();
    int port = gateway.getPort() > 0 ? gateway.getPort() : 443;
    address = new InetSocketAddress(gateway.getHost(), port);
    hostHeader = gateway.getHost() + ":" + port;
    budget = ConnectionBudget.forThisProcess();
    loops = new IoLoop[Math.max(1, settings.ioThreads())];
    SSLEngine probe = tls.createSSLEngine();
    for (int i = 0; i < loops.length; i++) {
      loops[i] =
          new IoLoop(
              "simulate-io-" + i,
              probe.getSession().getPacketBufferSize(),
              probe.getSession().getApplicationBufferSize());
    }
    devices = new SimDevice[settings.devices()];
    for (int i = 0; i < devices.length; i++) {
      devices[i] = new SimDevice(i);
    }
    busy = new AtomicIntegerArray(devices.length);
    webSocketDevices = (int) Math.round(devices.length * settings.websocketFraction());
    if (settings.fetchBlobs()) {
      blobPool = Executors.newFixedThreadPool(4, daemon("simulate-blobs"));
    }
  }

  private void drive() {
    running = true;
    startNanos = System.nanoTime();
    long rampNanos = settings.ramp().toNanos();
    rampEndNanos = startNanos + rampNanos;
    long warmUpEndNanos = startNanos + settings.warmUp().toNanos();
    long endNanos = warmUpEndNanos + settings.duration().toNanos();
    boolean measuring = settings.warmUp().isZero();
    if (measuring) {
      measuring();
    }
    var progress =
        scheduler.scheduleAtFixedRate(
            this::progress,
            settings.progressInterval().toMillis(),
            settings.progressInterval().toMillis(),
            TimeUnit.MILLISECONDS);
    int n = devices.length;
    boolean closedLoop = settings.poll().isZero();
    long pollNanos = settings.poll().toNanos();
    // device i checks in first at i * spread / n, then every poll: the ramp when given, else the
    // whole poll interval
    double spacing =
        (double) (rampNanos > 0 && (closedLoop || rampNanos < pollNanos) ? rampNanos : pollNanos)
            / n;
    long period = 0;
    int next = 0;
    while (true) {
      long now = System.nanoTime();
      if (now - endNanos >= 0) {
        break;
      }
      if (!measuring && now - warmUpEndNanos >= 0) {
        stats.reset();
        measuring = true;
        measuring();
      }
      while (next >= 0 && now - (startNanos + period * pollNanos + (long) (next * spacing)) >= 0) {
        dispatch(devices[next], false);
        next++;
        if (next == n) {
          if (closedLoop) {
            next = -1;
            break;
          }
          next = 0;
          period++;
        }
      }
      if (next < 0) {
        LockSupport.parkNanos(Math.max(1, Math.min(endNanos - now, 100_000_000L)));
        continue;
      }
      LockSupport.parkNanos(1_000_000L);
    }
    running = false;
    long drainUntil = System.nanoTime() + settings.timeout().toNanos();
    while (System.nanoTime() - drainUntil < 0 && inFlight() > 0) {
      LockSupport.parkNanos(10_000_000L);
    }
    progress.cancel(false);
  }

  /**
   * Benchmark scripts wait for this line to sample the server's CPU time over the measured part
   * only.
   */
  private void measuring() {
    settings.out().printf("measuring for %ds%n", settings.duration().toSeconds());
  }

  private int inFlight() {
    int count = 0;
    for (int i = 0; i < busy.length(); i++) {
      count += busy.get(i);
    }
    return count;
  }

  private void dispatch(SimDevice device, boolean pushed) {
    if (!busy.compareAndSet(device.index, 0, 1)) {
      if (!pushed) {
        stats.overruns.increment();
      }
      return;
    }
    long start = System.nanoTime();
    CompletableFuture<Void> cycle;
    try {
      cycle =
          settings.scenario() == Scenario.EVENTS
              ? eventsCycle(device, start)
              : checkInCycle(device, start);
    } catch (RuntimeException e) {
      cycle = CompletableFuture.failedFuture(e);
    }
    cycle.whenComplete(
        (ok, error) -> {
          if (error != null) {
            stats.error(Failure.from(error));
          }
          if (error != null || settings.connections() == Connections.NEW_PER_CHECKIN) {
            closeConnection(device);
          }
          busy.set(device.index, 0);
          if (!running) {
            return;
          }
          if (error == null && device.index < webSocketDevices && device.webSocket == null) {
            openWebSocket(device);
          }
          if (device.checkAgain) {
            device.checkAgain = false;
            dispatch(device, true);
          } else if (settings.poll().isZero()) {
            dispatch(device, false);
          }
        });
  }

  private TlsConnection connection(SimDevice device) {
    if (device.connection != null && device.connection.isOpen()) {
      return device.connection;
    }
    device.connection = open(device);
    return device.connection;
  }

  private TlsConnection open(SimDevice device) {
    return open(device, () -> {});
  }

  /**
   * With resumption on, each device gets its own session-cache key, so a device resumes only its
   * own sessions and the server never sees one device's identity on another's connection.
   */
  private TlsConnection open(SimDevice device, Runnable onClose) {
    String resumptionHost = settings.tlsResumption() ? "d" + device.index + ".simulated" : null;
    SSLEngine engine = identities.engine(tls, device.index, resumptionHost, address.getPort());
    return TlsConnection.open(
        loops[device.index % loops.length],
        budget,
        address,
        engine,
        () ->
            (identities.presentedCertificate(engine)
                    ? stats.fullHandshakes
                    : stats.resumedHandshakes)
                .increment(),
        () -> {
          identities.release(engine);
          onClose.run();
        });
  }

  private void closeConnection(SimDevice device) {
    TlsConnection connection = device.connection;
    device.connection = null;
    if (connection != null) {
      connection.close();
    }
  }

  private CompletableFuture<Void> checkInCycle(SimDevice device, long start) {
    TlsConnection connection = connection(device);
    return connection
        .exchange(request("GET", DevicePaths.TARGETS, device, null), timeout())
        .thenCompose(
            response -> {
              stats.latency(start);
              if (response.status() != 200) {
                throw Failure.http(response.status(), "GET " + DevicePaths.TARGETS);
              }
              stats.checkIns.increment();
              if (System.nanoTime() - rampEndNanos >= 0) {
                stats.checkInsAfterRamp.increment();
              }
              TargetsView view = view(response);
              long awaiting = device.awaitingPush;
              if (awaiting > 0 && view.signedVersion() >= awaiting) {
                device.awaitingPush = 0;
                stats.pushFetched(awaiting);
              }
              TargetsView running = device.running;
              // As fioup: the newest target offered is installed when it is not the one running,
              // older or not, so a target a rollout takes back is replaced by the previous one.
              if (view.targetName() == null
                  || view.targetName().equals(device.refused)
                  || (running != null && view.targetName().equals(running.targetName()))) {
                return CompletableFuture.completedFuture(null);
              }
              if (running == null && settings.startCurrent()) {
                device.running = view;
                return CompletableFuture.completedFuture(null);
              }
              return update(device, connection, view);
            });
  }

  /**
   * The sequence of §4: init, download, installation, each pair or triple in one request as fioup
   * sends them.
   */
  private CompletableFuture<Void> update(
      SimDevice device, TlsConnection connection, TargetsView target) {
    String correlationId = "sim-" + UUID.randomUUID();
    CompletableFuture<Void> fetched =
        post(
            connection,
            device,
            DevicePaths.EVENTS,
            events(correlationId, target, "UpdateInitStarted", null, "UpdateInitCompleted", true));
    if (settings.fetchBlobs()) {
      fetched = fetched.thenCompose(ignored -> fetchBlobs(device, connection, target));
    }
    CompletableFuture<Void> downloaded =
        fetched.thenCompose(
            ignored ->
                post(
                    connection,
                    device,
                    DevicePaths.EVENTS,
                    events(
                        correlationId,
                        target,
                        "EcuDownloadStarted",
                        null,
                        "EcuDownloadCompleted",
                        true)));
    if (settings.faults().fails(device.index, target.targetName())) {
      return downloaded
          .thenCompose(
              ignored ->
                  post(
                      connection,
                      device,
                      DevicePaths.EVENTS,
                      events(
                          correlationId,
                          target,
                          "EcuInstallationStarted",
                          null,
                          "EcuInstallationCompleted",
                          false)))
          .thenRun(
              () -> {
                device.refused = target.targetName();
                stats.events.add(6);
              });
    }
    boolean unhealthy = settings.faults().unhealthy(device.index, target.targetName());
    return downloaded
        .thenCompose(
            ignored ->
                post(
                    connection,
                    device,
                    DevicePaths.EVENTS,
                    events(
                        correlationId,
                        target,
                        "EcuInstallationStarted",
                        null,
                        "EcuInstallationApplied",
                        null,
                        "EcuInstallationCompleted",
                        true)))
        .thenCompose(
            ignored ->
                post(connection, device, DevicePaths.APPS_STATES, appsStates(target, unhealthy)))
        .thenRun(
            () -> {
              device.running = target;
              stats.updates.increment();
              stats.events.add(7);
            });
  }

  private CompletableFuture<Void> eventsCycle(SimDevice device, long start) {
    TlsConnection connection = connection(device);
    TargetsView target = new TargetsView(0, "simulated-1", 1, "", Map.of());
    byte[] body =
        events(
            "sim-" + UUID.randomUUID(),
            target,
            "UpdateInitStarted",
            null,
            "UpdateInitCompleted",
            true,
            "EcuDownloadStarted",
            null,
            "EcuDownloadCompleted",
            true,
            "EcuInstallationStarted",
            null,
            "EcuInstallationApplied",
            null,
            "EcuInstallationCompleted",
            true);
    return connection
        .exchange(request("POST", DevicePaths.EVENTS, device, body), timeout())
        .thenAccept(
            response -> {
              stats.latency(start);
              if (response.status() != 200) {
                throw Failure.http(response.status(), "POST " + DevicePaths.EVENTS);
              }
              stats.checkIns.increment();
              if (System.nanoTime() - rampEndNanos >= 0) {
                stats.checkInsAfterRamp.increment();
              }
              stats.events.add(7);
            });
  }

  /**
   * Reads every blob of the target's apps from the registry and checks its digest, then forgets the
   * bytes.
   */
  private CompletableFuture<Void> fetchBlobs(
      SimDevice device, TlsConnection connection, TargetsView target) {
    return connection
        .exchange(request("GET", DevicePaths.HUB_CREDS, device, null), timeout())
        .thenComposeAsync(
            response -> {
              if (response.status() != 200) {
                throw Failure.http(response.status(), "GET " + DevicePaths.HUB_CREDS);
              }
              try {
                HubCredentials credentials =
                    Json.mapper().readValue(response.body(), HubCredentials.class);
                RegistryPuller client =
                    new RegistryPuller(
                        HttpClient.newBuilder()
                            .sslContext(
                                AgentTls.serverOnlyWithSystemRoots(
                                    settings.workDir().resolve("root.crt")))
                            .build(),
                        host -> settings.registryScheme(),
                        () -> credentials);
                for (String uri : target.apps().values()) {
                  AppUri app = AppUri.parse(uri);
                  RegistryPuller.Manifest manifest =
                      client.manifest(app.registryHost(), app.repository(), app.digest());
                  JsonNode tree = Json.mapper().readTree(manifest.bytes());
                  List<String> digests = new ArrayList<>();
                  digests.add(tree.path("config").path("digest").asText());
                  tree.path("layers").forEach(layer -> digests.add(layer.path("digest").asText()));
                  for (String digest : digests) {
                    Digest expected = Digest.parse(digest);
                    try (InputStream in =
                        client
                            .blob(app.registryHost(), app.repository(), expected)
                            .open(0)
                            .stream()) {
                      if (!Digest.of(in).equals(expected)) {
                        throw new Failure(
                            Failure.Kind.PROTOCOL,
                            "blob " + expected + " does not match its digest");
                      }
                    }
                  }
                }
                return CompletableFuture.<Void>completedFuture(null);
              } catch (Failure e) {
                return CompletableFuture.<Void>failedFuture(e);
              } catch (IOException | RuntimeException e) {
                return CompletableFuture.<Void>failedFuture(
                    new Failure(Failure.Kind.PROTOCOL, "fetch: " + e.getMessage()));
              }
            },
            blobPool);
  }

  private CompletableFuture<Void> post(
      TlsConnection connection, SimDevice device, String path, byte[] body) {
    return connection
        .exchange(request("POST", path, device, body), timeout())
        .thenAccept(
            response -> {
              if (response.status() != 200) {
                throw Failure.http(response.status(), "POST " + path);
              }
            });
  }

  private void openWebSocket(SimDevice device) {
    TlsConnection[] opened = new TlsConnection[1];
    TlsConnection socket = open(device, () -> webSocketClosed(device, opened[0]));
    opened[0] = socket;
    device.webSocket = socket;
    String key =
        Base64.getEncoder()
            .encodeToString(
                UUID.randomUUID().toString().substring(0, 16).getBytes(StandardCharsets.US_ASCII));
    StringBuilder upgrade =
        head("GET", DevicePaths.WEBSOCKET, device)
            .append(
                "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ")
            .append(key)
            .append("\r\n\r\n");
    socket
        .upgrade(
            upgrade.toString().getBytes(StandardCharsets.ISO_8859_1),
            timeout(),
            text -> pushed(device, text))
        .whenComplete(
            (response, error) -> {
              if (error == null && response.status() == 101) {
                device.webSocketOpen = true;
                stats.webSocketOpened();
                return;
              }
              stats.error(
                  error != null
                      ? Failure.from(error)
                      : Failure.http(response.status(), "GET " + DevicePaths.WEBSOCKET));
              socket.close();
            });
  }

  private void webSocketClosed(SimDevice device, TlsConnection socket) {
    if (device.webSocket != socket) {
      return;
    }
    if (device.webSocketOpen) {
      device.webSocketOpen = false;
      stats.webSockets.decrementAndGet();
    }
    device.webSocket = null;
    if (running) {
      // the next check-in reopens it; a server that drops sockets is counted once per drop
      stats.error(new Failure(Failure.Kind.CLOSED, "websocket"));
    }
  }

  private void pushed(SimDevice device, String text) {
    long version;
    try {
      JsonNode message = Json.mapper().readTree(text);
      if (!"targets-changed".equals(message.path("type").asText())) {
        return;
      }
      version = message.path("version").asLong();
    } catch (IOException e) {
      stats.error(new Failure(Failure.Kind.PROTOCOL, "push: " + e.getMessage()));
      return;
    }
    stats.pushReceived(version);
    device.awaitingPush = version;
    device.checkAgain = true;
    if (busy.get(device.index) == 0) {
      device.checkAgain = false;
      dispatch(device, true);
    }
  }

  private TargetsView view(TlsConnection.Response response) {
    String checksum =
        response.checksum() != null ? response.checksum() : Digest.of(response.body()).hex();
    TargetsView cached = views.get(checksum);
    if (cached != null) {
      return cached;
    }
    TargetsView fresh = decide(response.body());
    if (views.size() > 256) {
      views.clear();
    }
    views.put(checksum, fresh);
    return fresh;
  }

  /**
   * The newest target for the device's hardware id (any, when none was given), as fioup picks it.
   */
  private TargetsView decide(byte[] body) {
    TargetsMetadata metadata;
    try {
      metadata = Json.mapper().readValue(body, TargetsMetadata.class);
    } catch (IOException e) {
      throw new java.util.concurrent.CompletionException(
          new Failure(Failure.Kind.PROTOCOL, "targets.json: " + e.getMessage()));
    }
    String name = null;
    long best = -1;
    TufTarget chosen = null;
    for (Map.Entry<String, TufTarget> entry : metadata.signed().targets().entrySet()) {
      var custom = entry.getValue().custom();
      if (custom == null
          || (settings.hardwareId() != null
              && !custom.hardwareIds().contains(settings.hardwareId()))) {
        continue;
      }
      long version = custom.versionNumber().orElse(-1);
      if (version > best) {
        best = version;
        name = entry.getKey();
        chosen = entry.getValue();
      }
    }
    Map<String, String> apps = new TreeMap<>();
    if (chosen != null) {
      chosen.custom().dockerComposeApps().forEach((app, ref) -> apps.put(app, ref.uri()));
    }
    return new TargetsView(
        metadata.signed().version(), name, best, String.join(",", apps.keySet()), apps);
  }

  private byte[] request(String method, String path, SimDevice device, byte[] body) {
    StringBuilder head = head(method, path, device);
    if (body == null) {
      return head.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
    }
    head.append("Content-Type: application/json\r\nContent-Length: ")
        .append(body.length)
        .append("\r\n\r\n");
    byte[] headBytes = head.toString().getBytes(StandardCharsets.ISO_8859_1);
    byte[] request = new byte[headBytes.length + body.length];
    System.arraycopy(headBytes, 0, request, 0, headBytes.length);
    System.arraycopy(body, 0, request, headBytes.length, body.length);
    return request;
  }

  private StringBuilder head(String method, String path, SimDevice device) {
    StringBuilder head =
        new StringBuilder(256)
            .append(method)
            .append(' ')
            .append(path)
            .append(" HTTP/1.1\r\nHost: ")
            .append(hostHeader)
            .append("\r\nUser-Agent: flotilla-simulator\r\nAccept: application/json\r\n");
    if (settings.tag() != null) {
      head.append(DeviceHeaders.TAGS).append(": ").append(settings.tag()).append("\r\n");
    }
    TargetsView running = device.running;
    if (running != null) {
      head.append(DeviceHeaders.TARGET).append(": ").append(running.targetName()).append("\r\n");
      head.append(DeviceHeaders.DOCKER_APPS)
          .append(": ")
          .append(running.appsHeader())
          .append("\r\n");
    }
    return head;
  }

  private static byte[] events(
      String correlationId, TargetsView target, Object... typesAndSuccess) {
    String now = Instant.now().toString();
    List<Map<String, Object>> events = new ArrayList<>();
    for (int i = 0; i < typesAndSuccess.length; i += 2) {
      Map<String, Object> event = new LinkedHashMap<>();
      event.put("correlationId", correlationId);
      event.put("success", typesAndSuccess[i + 1]);
      event.put("targetName", target.targetName());
      event.put("version", Long.toString(target.version()));
      event.put("details", "{\"simulated\":true}");
      Map<String, Object> wire = new LinkedHashMap<>();
      wire.put("id", UUID.randomUUID().toString());
      wire.put("deviceTime", now);
      wire.put("eventType", Map.of("id", typesAndSuccess[i], "version", 2));
      wire.put("event", event);
      events.add(wire);
    }
    return Json.toBytes(events);
  }

  private static byte[] appsStates(TargetsView target, boolean unhealthy) {
    String state = unhealthy ? "unhealthy" : "healthy";
    Map<String, Object> apps = new LinkedHashMap<>();
    target
        .apps()
        .forEach(
            (app, uri) -> apps.put(app, Map.of("uri", uri, "state", state, "services", List.of())));
    Map<String, Object> states = new LinkedHashMap<>();
    states.put("ostree", "simulated");
    states.put("deviceTime", Instant.now().toString());
    states.put("apps", apps);
    return Json.toBytes(states);
  }

  private long timeout() {
    return settings.timeout().toNanos();
  }

  private void progress() {
    Histogram interval = stats.interval();
    double seconds = settings.progressInterval().toMillis() / 1000.0;
    settings
        .out()
        .printf(
            "t=%4ds registered=%d check-ins/s=%.0f p50=%.1fms p99=%.1fms errors=%d updates=%d websockets=%d%s%n",
            (System.nanoTime() - startNanos) / 1_000_000_000L,
            identities.size(),
            interval.getTotalCount() / seconds,
            interval.getValueAtPercentile(50) / 1000.0,
            interval.getValueAtPercentile(99) / 1000.0,
            stats.errorCount(),
            stats.updates.sum(),
            stats.webSockets.get(),
            stats.errorCount() == 0 ? "" : " " + stats.errors());
  }

  private void shutdown() {
    running = false;
    for (SimDevice device : devices) {
      if (device.connection != null) {
        device.connection.close();
      }
      if (device.webSocket != null) {
        device.webSocket.close();
      }
    }
    scheduler.shutdownNow();
    if (blobPool != null) {
      blobPool.shutdownNow();
    }
    for (IoLoop loop : loops) {
      loop.execute(() -> {});
    }
    LockSupport.parkNanos(200_000_000L);
    for (IoLoop loop : loops) {
      loop.close();
    }
  }

  private Report report(int registered, double registrationSeconds) {
    double elapsed = settings.duration().toMillis() / 1000.0;
    double rampAfterWarmUp =
        Math.max(0, settings.ramp().toMillis() - settings.warmUp().toMillis()) / 1000.0;
    double measured = Math.max(0.001, elapsed - rampAfterWarmUp);
    double intended =
        settings.poll().isZero() ? 0 : devices.length / (settings.poll().toMillis() / 1000.0);
    List<PushReport> pushes = new ArrayList<>();
    new TreeMap<>(stats.pushes)
        .forEach(
            (version, push) ->
                pushes.add(
                    new PushReport(
                        version,
                        push.pushed.get(),
                        push.fetched.get(),
                        push.firstPushEpochMs.get() == Long.MAX_VALUE
                            ? 0
                            : push.firstPushEpochMs.get(),
                        push.lastFetchEpochMs.get())));
    return new Report(
        RUNTIME_NOTE,
        devices.length,
        registered,
        registrationSeconds,
        settings.scenario().name().toLowerCase(),
        settings.connections().name().toLowerCase().replace('_', '-'),
        settings.poll().toMillis() / 1000.0,
        settings.ramp().toMillis() / 1000.0,
        settings.warmUp().toMillis() / 1000.0,
        elapsed,
        intended,
        stats.checkInsAfterRamp.sum() / measured,
        stats.checkIns.sum(),
        stats.updates.sum(),
        stats.events.sum(),
        stats.overruns.sum(),
        stats.fullHandshakes.sum(),
        stats.resumedHandshakes.sum(),
        Latency.of(stats.total()),
        stats.errors(),
        stats.errorExamples(),
        stats.peakWebSockets.get(),
        pushes,
        budget.limit(),
        budget.waited());
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return runnable -> {
      Thread thread = new Thread(runnable, name);
      thread.setDaemon(true);
      return thread;
    };
  }
}
