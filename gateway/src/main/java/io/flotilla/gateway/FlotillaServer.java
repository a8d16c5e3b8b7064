package io.flotilla.gateway;

import com.typesafe.config.Config;
import io.flotilla.builder.BuilderService;
import io.flotilla.core.FlotillaCore;
import io.flotilla.core.auth.ApiToken;
import io.flotilla.core.files.SharedDir;
import io.flotilla.core.persistence.Database;
import io.flotilla.core.persistence.SchemaMigration;
import io.flotilla.core.pki.ServerCredentials;
import io.flotilla.gateway.cluster.SingleProcessDatabase;
import io.flotilla.gateway.device.DeviceGateway;
import io.flotilla.gateway.http.HttpListener;
import io.flotilla.gateway.metrics.NodeMetrics;
import io.flotilla.gateway.registry.RegistryAccess;
import io.flotilla.gateway.tls.ApiTls;
import io.flotilla.registry.LocalRegistry;
import io.flotilla.registry.RegistryRoutes;
import io.flotilla.registry.RegistrySettings;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.pattern.Patterns;
import org.apache.pekko.stream.javadsl.Tcp.ServerBinding;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Flotilla node: schema, actor system, cluster membership, the OTA core, the HTTP API and the
 * device port.
 */
public final class FlotillaServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(FlotillaServer.class);
  private static final Duration STARTUP_PATIENCE = Duration.ofSeconds(60);

  /** The modules whose tables this node uses; their migrations run in version order across them. */
  public static final List<String> SCHEMA = List.of(SchemaMigration.CORE, BuilderService.SCHEMA);

  private final ActorSystem<Void> system;
  private final Database database;
  private final FlotillaCore core;
  private final ServerBinding http;
  private final DeviceGateway devices;
  private final ServerBinding devicePort;
  private final Path dataDir;
  private final Path sharedDir;
  private final ApiToken adminToken;

  private FlotillaServer(
      ActorSystem<Void> system,
      Database database,
      FlotillaCore core,
      ServerBinding http,
      DeviceGateway devices,
      ServerBinding devicePort,
      Path dataDir,
      Path sharedDir,
      ApiToken adminToken) {
    this.system = system;
    this.database = database;
    this.core = core;
    this.http = http;
    this.devices = devices;
    this.devicePort = devicePort;
    this.dataDir = dataDir;
    this.sharedDir = sharedDir;
    this.adminToken = adminToken;
  }

  /**
   * Starts a node, or throws with a message that says what is wrong (database, schema, port, data
   * dir).
   */
  public static FlotillaServer start(Config config) throws IOException, InterruptedException {
    SingleProcessDatabase.refuseSeeds(config);
    Path dataDir = Path.of(config.getString("flotilla.data-dir"));
    Path sharedDir = SharedDir.of(config, dataDir);
    DataDir.create(dataDir);
    DataDir.create(sharedDir);
    Database database = Database.open(config);
    ActorSystem<Void> system = null;
    try {
      SchemaMigration.migrate(database, SCHEMA);
      system = ActorSystem.create(Behaviors.empty(), "flotilla", config);
      SingleProcessDatabase.guard(system);
      joinCluster(system);
      FlotillaCore core = FlotillaCore.start(system, database);
      RegistrySettings registrySettings =
          RegistrySettings.fromConfig(config, sharedDir.resolve("registry"));
      CompletableFuture<BuilderService.HttpEdge> edge = new CompletableFuture<>();
      BuilderService builder =
          BuilderService.start(
              core, dataDir, Optional.of(LocalRegistry.open(system, registrySettings)), edge);
      NodeMetrics metrics = new NodeMetrics();
      DeviceGateway devices = DeviceGateway.create(core, config, sharedDir, metrics);
      metrics.bind(core);
      AtomicBoolean started = new AtomicBoolean(false);
      boolean https = ApiTls.enabled(config);
      RegistryRoutes registry = registry(system, registrySettings, core, devices);
      // Before the ports open: every file made so far (the database's and the registry's included)
      // is there, and no
      // request races it.
      DataDir.restrict(dataDir);
      DataDir.restrict(sharedDir);
      ServerBinding http =
          await(
              HttpListener.bind(
                  system,
                  config.getString("flotilla.http.interface"),
                  config.getInt("flotilla.http.port"),
                  ServerSettings.create(system.classicSystem()),
                  apiTls(config, devices, https),
                  config.getDuration("flotilla.http.header-timeout"),
                  new ApiRoutes(core, started::get, registry.route(), builder, devices, metrics)
                      .route()),
              "binding the HTTP port " + config.getInt("flotilla.http.port"));
      edge.complete(
          new BuilderService.HttpEdge(
              http.localAddress().getPort(), https, registrySettings.externalUrl()));
      ServerBinding devicePort =
          await(
              devices.bind(registry::readOnly),
              "binding the device port " + config.getInt("flotilla.device.port"));
      ApiToken adminToken = AdminTokenFile.ensure(core, sharedDir, STARTUP_PATIENCE);
      started.set(true);
      drainOnShutdown(system, started, config.getDuration("flotilla.drain-time"));
      return new FlotillaServer(
          system, database, core, http, devices, devicePort, dataDir, sharedDir, adminToken);
    } catch (RuntimeException | IOException | InterruptedException e) {
      if (system != null) {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().join();
      }
      database.close();
      throw e;
    }
  }

  private static Optional<Supplier<SSLEngine>> apiTls(
      Config config, DeviceGateway devices, boolean https) {
    String host = config.getString("flotilla.http.interface");
    if (!https) {
      if (!ApiTls.isLoopback(host)) {
        log.warn(
            "the API port serves plain HTTP on {} (flotilla.http.tls = off): tokens cross the network in clear unless a TLS proxy is in front",
            host);
      }
      return Optional.empty();
    }
    Optional<ServerCredentials> configured = ApiTls.configured(config);
    log.info(
        "the API port serves HTTPS on {} with {}",
        host,
        configured.isPresent()
            ? "the certificate of flotilla.http.tls-certificate"
            : "a certificate of the server CA ("
                + ApiTls.fingerprint(devices.pki().server().rootCertificate())
                + "), served at /ca.crt");
    return Optional.of(
        ApiTls.engines(configured.orElseGet(() -> devices.pki().server().credentials())));
  }

  private static RegistryRoutes registry(
      ActorSystem<?> system, RegistrySettings settings, FlotillaCore core, DeviceGateway devices) {
    return new RegistryRoutes(
        system, settings, new RegistryAccess(core.access(), devices.hubCredentials()));
  }

  private static void drainOnShutdown(ActorSystem<?> system, AtomicBoolean ready, Duration time) {
    if (time.isZero()) {
      return;
    }
    CoordinatedShutdown.get(system)
        .addTask(
            CoordinatedShutdown.PhaseBeforeServiceUnbind(),
            "drain-load-balancer",
            () -> {
              ready.set(false);
              log.info("draining: not ready for {} before the ports close", time);
              return Patterns.after(
                  time,
                  system.classicSystem().scheduler(),
                  system.executionContext(),
                  () -> CompletableFuture.completedFuture(Done.getInstance()));
            });
  }

  /** A node without configured seed nodes is a cluster of one: it joins itself. */
  private static void joinCluster(ActorSystem<?> system) {
    if (system.settings().config().getStringList("pekko.cluster.seed-nodes").isEmpty()) {
      Cluster cluster = Cluster.get(system);
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
    }
  }

  private static <T> T await(java.util.concurrent.CompletionStage<T> stage, String what) {
    try {
      return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException(what + " failed: " + e.getCause().getMessage(), e.getCause());
    } catch (TimeoutException e) {
      throw new IllegalStateException(what + " did not finish in 30 s", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(what + " was interrupted", e);
    }
  }

  public int httpPort() {
    return http.localAddress().getPort();
  }

  public int devicePort() {
    return devicePort.localAddress().getPort();
  }

  public DeviceGateway devices() {
    return devices;
  }

  public Path dataDir() {
    return dataDir;
  }

  /** Where the files all nodes share live (the data dir unless {@code flotilla.shared-dir}). */
  public Path sharedDir() {
    return sharedDir;
  }

  public ApiToken adminToken() {
    return adminToken;
  }

  public FlotillaCore core() {
    return core;
  }

  public ActorSystem<Void> system() {
    return system;
  }

  @Override
  public void close() {
    http.unbind().toCompletableFuture().join();
    devicePort.unbind().toCompletableFuture().join();
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().join();
    database.close();
  }
}
