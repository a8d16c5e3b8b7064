package io.flotilla.gateway.device;

import static org.apache.pekko.http.javadsl.server.Directives.concat;

import com.typesafe.config.Config;
import io.flotilla.core.FlotillaCore;
import io.flotilla.core.pki.DeviceCertificateVerifier;
import io.flotilla.core.pki.DevicePki;
import io.flotilla.core.pki.PkiSettings;
import io.flotilla.core.tuf.TargetsKeys;
import io.flotilla.core.tuf.TufRoots;
import io.flotilla.gateway.http.Authentication;
import io.flotilla.gateway.http.DatabaseGuard;
import io.flotilla.gateway.http.HttpListener;
import io.flotilla.gateway.metrics.NodeMetrics;
import io.flotilla.gateway.tls.DeviceIdentityDirectives;
import io.flotilla.gateway.tls.DeviceTls;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.Host;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.stream.javadsl.Tcp;

/**
 * The device gateway of one node: the PKI and TUF keys under {@code <data-dir>/pki}, the mTLS
 * device port, the registration route and the operator's device routes on the API port.
 */
public final class DeviceGateway {

  /**
   * WebSocket pings keep idle push connections open through the server's and proxies' idle
   * timeouts.
   */
  private static final Duration WEBSOCKET_KEEP_ALIVE = Duration.ofSeconds(30);

  private final FlotillaCore core;
  private final Config config;
  private final DevicePki pki;
  private final DeviceCertificateVerifier verifier;
  private final DeviceHubCredentials hubCredentials;
  private final DevicePush push;
  private final AppsProxy appsProxy;
  private final DeviceRoutes deviceRoutes;
  private final Duration authorizationTtl;
  private final Duration authorizationInterval;
  private final Duration authorizationTokenTtl;
  private final TufRoots roots;
  private final NodeMetrics metrics;
  private volatile Tcp.ServerBinding binding;

  private DeviceGateway(FlotillaCore core, Config config, Path pkiDir, NodeMetrics metrics) {
    this.core = core;
    this.metrics = metrics;
    this.config = config;
    this.pki = DevicePki.open(pkiDir, PkiSettings.fromConfig(config));
    this.verifier = pki.verifier(core.deviceRevocations());
    this.hubCredentials =
        DeviceHubCredentials.open(
            pkiDir, config.getDuration("flotilla.device.hub-creds-ttl"), core.deviceRevocations());
    this.authorizationTtl = config.getDuration("flotilla.device.authorization-ttl");
    this.authorizationInterval = config.getDuration("flotilla.device.authorization-interval");
    this.authorizationTokenTtl = config.getDuration("flotilla.device.authorization-token-ttl");
    this.push = DevicePush.start(core);
    this.appsProxy =
        new AppsProxy(hubCredentials, config.getDuration("flotilla.device.apps-proxy-ttl"));
    TargetsKeys onlineKeys = new TargetsKeys(pkiDir);
    this.roots = new TufRoots(pkiDir, onlineKeys, Clock.systemUTC());
    TufRepository repository =
        new TufRepository(
            onlineKeys, roots, core.targetsCache(), Clock.systemUTC(), core.blocking());
    this.deviceRoutes =
        new DeviceRoutes(
            core,
            new DeviceIdentityDirectives(verifier, metrics.tlsHandshakes()),
            repository,
            hubCredentials,
            push,
            appsProxy,
            this::publicUrl,
            config.getBytes("flotilla.device.max-body"),
            metrics.deviceEvents());
  }

  public static DeviceGateway create(
      FlotillaCore core, Config config, Path dataDir, NodeMetrics metrics) {
    return new DeviceGateway(core, config, dataDir.resolve("pki"), metrics);
  }

  /**
   * Binds the device port ({@code flotilla.device.interface} / {@code port}) with mutual TLS;
   * {@code registry} serves the apps proxy's reads.
   */
  public CompletionStage<Tcp.ServerBinding> bind(AppsProxy.RegistryReads registry) {
    ServerSettings settings = DeviceTls.serverSettings(core.system());
    settings =
        settings.withWebsocketSettings(
            settings.getWebsocketSettings().withPeriodicKeepAliveMaxIdle(WEBSOCKET_KEEP_ALIVE));
    Route routes = concat(appsProxy.route(registry), deviceRoutes.route());
    return HttpListener.bind(
            core.system(),
            config.getString("flotilla.device.interface"),
            config.getInt("flotilla.device.port"),
            settings,
            Optional.of(
                DeviceTls.engines(
                    pki.server().credentials(),
                    verifier,
                    metrics.tlsHandshakes(),
                    DeviceTls.Provider.parse(config.getString("flotilla.device.tls-provider")))),
            config.getDuration("flotilla.device.header-timeout"),
            metrics.deviceRequests(
                () -> new DatabaseGuard(core.databaseHealth()).route(() -> routes)))
        .thenApply(
            bound -> {
              binding = bound;
              return bound;
            });
  }

  /**
   * {@code POST /ota/devices/} and the device authorization grant's {@code /oauth/...}, for the
   * root of the API port.
   */
  public Route registrationRoute(Authentication auth) {
    return concat(
        new RegistrationRoutes(core, auth, pki, roots, this::publicUrl).route(),
        deviceAuthorization(auth).oauthRoute());
  }

  /** The device and TUF root routes below {@code /api/v1/factories/{factory}/}. */
  public Route operatorRoute(Authentication auth, String factory) {
    return concat(
        new FleetHistoryRoutes(core, auth).route(factory),
        new DeviceAdminRoutes(core, auth).route(factory),
        deviceAuthorization(auth).operatorRoute(factory),
        new TufRootRoutes(core, auth, roots).route(factory));
  }

  private DeviceAuthorizationRoutes deviceAuthorization(Authentication auth) {
    return new DeviceAuthorizationRoutes(
        core, auth, authorizationTtl, authorizationInterval, authorizationTokenTtl);
  }

  /**
   * For the registry's authenticator: the factory a device's {@code /hub-creds/} credentials may
   * pull from.
   */
  public DeviceHubCredentials hubCredentials() {
    return hubCredentials;
  }

  public DevicePki pki() {
    return pki;
  }

  public int port() {
    return HttpListener.port(binding);
  }

  int pushConnections() {
    return push.connections();
  }

  /**
   * {@code flotilla.device.public-url}, or {@code https://<this machine's host name>:<bound device
   * port>}.
   */
  public String publicUrl() {
    return urlWithHost(machineHostName());
  }

  /**
   * The gateway's URL for a device that sent {@code request}: {@code flotilla.device.public-url},
   * or the host the request was addressed to (its Host header, the name the device already reaches
   * this server by) with the bound device port. A proxy that rewrites Host must come with
   * public-url set.
   */
  String publicUrl(HttpRequest request) {
    Host host = request.getUri().host();
    String address = host.address();
    if (address == null || address.isEmpty()) {
      return publicUrl();
    }
    return urlWithHost(host.isIPv6() ? "[" + address + "]" : address);
  }

  private String urlWithHost(String host) {
    String configured = config.getString("flotilla.device.public-url");
    if (!configured.isBlank()) {
      return configured.endsWith("/")
          ? configured.substring(0, configured.length() - 1)
          : configured;
    }
    return "https://"
        + host
        + ":"
        + (binding != null ? port() : config.getInt("flotilla.device.port"));
  }

  private static String machineHostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "localhost";
    }
  }
}
