package io.flotilla.agent.cli;

import io.flotilla.agent.AgentException;
import io.flotilla.agent.ExitCode;
import io.flotilla.agent.Failures;
import io.flotilla.agent.config.AgentConfig;
import io.flotilla.agent.config.ConfigLoader;
import io.flotilla.agent.config.RemoteConfig;
import io.flotilla.agent.gateway.AgentTls;
import io.flotilla.agent.gateway.GatewayClient;
import io.flotilla.agent.registry.RegistryPuller;
import io.flotilla.agent.runtime.Compose;
import io.flotilla.agent.runtime.DockerEngine;
import io.flotilla.agent.runtime.DockerRuntime;
import io.flotilla.agent.store.ContentStore;
import io.flotilla.agent.sysinfo.SystemInfo;
import io.flotilla.agent.update.Console;
import io.flotilla.agent.update.EventQueue;
import io.flotilla.agent.update.InstanceLock;
import io.flotilla.agent.update.TargetSelector;
import io.flotilla.agent.update.UpdateEngine;
import io.flotilla.agent.update.UpdateStore;
import io.flotilla.protocol.device.HubCredentials;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Builds what a command needs from the merged config; nothing is opened until a command asks for
 * it.
 */
final class AgentContext {

  private final List<Path> configPaths;
  private final AgentConfig config;
  private final boolean verbose;
  private GatewayClient gateway;

  AgentContext(String cfgDirs, boolean verbose) {
    this.configPaths = ConfigLoader.paths(cfgDirs, System.getenv());
    this.config = ConfigLoader.load(configPaths);
    this.verbose = verbose;
  }

  AgentConfig config() {
    return config;
  }

  InstanceLock lock() {
    return InstanceLock.acquire(config.agentStateDir().resolve("lock"));
  }

  RemoteConfig remoteConfig() {
    return new RemoteConfig(
        config.agentStateDir().resolve("config"),
        RemoteConfig.tomlDirOf(configPaths),
        config.agentStateDir().resolve("remote-config.json"),
        System.out::println);
  }

  SystemInfo systemInfo() {
    return new SystemInfo(config.agentStateDir().resolve("system-info-sent.json"));
  }

  UpdateStore updates() {
    return new UpdateStore(config.agentStateDir().resolve("updates"), Clock.systemUTC());
  }

  GatewayClient gateway() {
    if (gateway == null) {
      try {
        gateway =
            new GatewayClient(
                config.server(),
                AgentTls.mutualTls(
                    config.caCertPath(), config.clientCertPath(), config.privateKeyPath()));
      } catch (IOException e) {
        throw new AgentException(
            ExitCode.GENERIC, "device identity not usable (registered yet?): " + e.getMessage(), e);
      }
      config.tag().ifPresent(gateway::setTag);
      updates()
          .lastCompleted()
          .ifPresent(u -> gateway.setRunning(u.targetName(), u.apps().keySet().stream().toList()));
    }
    return gateway;
  }

  EventQueue events() {
    return new EventQueue(config.agentStateDir().resolve("events"), updates());
  }

  /**
   * Sends the queued events; the caller holds the instance lock, since sending rewrites the update
   * records.
   */
  void flushQueued() throws IOException {
    events().flush(gateway()::events);
  }

  /**
   * For commands that talk to the server without taking the lock: sends the queue first, unless
   * another agent runs (that one sends it).
   */
  void flushQueuedIfIdle() {
    Optional<InstanceLock> lock = InstanceLock.tryAcquire(config.agentStateDir().resolve("lock"));
    if (lock.isEmpty()) {
      return;
    }
    try (InstanceLock ignored = lock.get()) {
      flushQueued();
    } catch (IOException | AgentException e) {
      System.err.println("queued events not sent: " + Failures.describe(e));
    }
  }

  UpdateEngine engine(PrintStream out, boolean quiet) {
    GatewayClient gw = gateway();
    Set<String> insecure =
        config
            .get("pacman.insecure_registries")
            .map(
                list ->
                    Arrays.stream(list.split(",")).map(String::trim).collect(Collectors.toSet()))
            .orElse(Set.of());
    HttpClient http;
    try {
      http =
          HttpClient.newBuilder()
              .connectTimeout(Duration.ofSeconds(30))
              .followRedirects(HttpClient.Redirect.NORMAL)
              .sslContext(AgentTls.serverOnlyWithSystemRoots(config.caCertPath()))
              .build();
    } catch (IOException e) {
      throw new AgentException(ExitCode.GENERIC, e.getMessage(), e);
    }
    // As composeapp: with an apps proxy in sota.toml every registry read goes through it, and no
    // registry needs
    // to be reachable, trusted or marked insecure; without one, straight to the registry with
    // /hub-creds/.
    RegistryPuller registry =
        config
            .get("pacman.compose_apps_proxy")
            .filter(url -> !url.isBlank())
            .map(url -> RegistryPuller.throughAppsProxy(http, () -> gw.appsProxy(URI.create(url))))
            .orElseGet(
                () ->
                    new RegistryPuller(
                        http,
                        host -> insecure.contains(host) ? "http" : "https",
                        () -> hubCredentials(gw)));
    DockerEngine engine = DockerEngine.fromDockerHost(System.getenv("DOCKER_HOST"));
    Compose compose = new Compose(Compose.detectCommand(), engine.dockerHost(), 600);
    DockerRuntime runtime =
        new DockerRuntime(
            engine,
            compose,
            config.agentStateDir().resolve("compose-overrides"),
            config.agentStateDir().resolve("tmp"));
    Console console = new Console(out, quiet, verbose);
    TargetSelector selector =
        new TargetSelector(
            config.hardwareId(),
            config.tag(),
            config.composeApps(),
            warning -> console.info("warning: " + warning));
    return new UpdateEngine(
        gw,
        registry,
        new ContentStore(config.blobStoreRoot()),
        updates(),
        runtime,
        events(),
        selector,
        config.appsRoot(),
        config.storageWatermark(),
        UpdateEngine.goArchitecture(System.getProperty("os.arch")),
        console,
        Clock.systemUTC());
  }

  private static HubCredentials hubCredentials(GatewayClient gateway) {
    try {
      return gateway.hubCredentials();
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot get registry credentials from /hub-creds/: " + Failures.describe(e), e);
    }
  }
}
