package io.flotilla.registry;

import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.mapResponse;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.flotilla.registry.auth.RegistryAction;
import io.flotilla.registry.auth.RegistryAuthenticator;
import io.flotilla.registry.auth.RegistryPrincipal;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * A registry bound on a free loopback port over a temp dir, with a fixed table of test credentials.
 */
final class RegistryServer implements AutoCloseable {
  static final String FACTORY = "acme";
  static final String OTHER_FACTORY = "globex";

  record Credentials(String user, String password) {}

  static final Credentials PUSHER = new Credentials("ci-token", "push-secret");
  static final Credentials READER = new Credentials("read-token", "read-secret");
  static final Credentials DEVICE = new Credentials("device-7f3a", "device-secret");
  static final Credentials OTHER_PUSHER = new Credentials("globex-token", "globex-secret");

  private static final Map<Credentials, RegistryPrincipal> PRINCIPALS =
      Map.of(
          PUSHER, new RegistryPrincipal("token:ci", Map.of(FACTORY, Set.of(RegistryAction.PUSH))),
          READER, new RegistryPrincipal("token:read", Map.of(FACTORY, Set.of(RegistryAction.PULL))),
          DEVICE,
              new RegistryPrincipal("device:7f3a", Map.of(FACTORY, Set.of(RegistryAction.PULL))),
          OTHER_PUSHER,
              new RegistryPrincipal(
                  "token:globex", Map.of(OTHER_FACTORY, Set.of(RegistryAction.PUSH))));

  static final RegistryAuthenticator AUTHENTICATOR =
      (user, password) ->
          CompletableFuture.completedFuture(
              Optional.ofNullable(PRINCIPALS.get(new Credentials(user, password))));

  /**
   * Every answered request as {@code "<status> <method> <path>?<query>"}, for tests that check what
   * a tool sent.
   */
  final Queue<String> served;

  final ActorTestKit testKit;
  final RegistrySettings settings;
  final ServerBinding binding;
  final int port;

  private RegistryServer(
      ActorTestKit testKit,
      RegistrySettings settings,
      ServerBinding binding,
      Queue<String> served) {
    this.served = served;
    this.testKit = testKit;
    this.settings = settings;
    this.binding = binding;
    this.port = binding.localAddress().getPort();
  }

  static RegistryServer start(Path root) throws Exception {
    return start(root, "");
  }

  /**
   * {@code overrides} is HOCON laid over the test defaults, e.g. a short server request timeout.
   */
  static RegistryServer start(Path root, String overrides) throws Exception {
    Config config =
        ConfigFactory.parseString(overrides)
            .withFallback(
                ConfigFactory.parseString(
                    """
                pekko.loglevel = WARNING
                pekko.loggers = ["org.apache.pekko.event.slf4j.Slf4jLogger"]
                pekko.logging-filter = "org.apache.pekko.event.slf4j.Slf4jLoggingFilter"
                """))
            .withFallback(ConfigFactory.load());
    ActorTestKit testKit = ActorTestKit.create("registry-test", config);
    RegistrySettings settings = RegistrySettings.fromConfig(config, root);
    RegistryRoutes routes = new RegistryRoutes(testKit.system(), settings, AUTHENTICATOR);
    Queue<String> served = new ConcurrentLinkedQueue<>();
    Route recorded =
        extractRequest(
            request ->
                mapResponse(
                    response -> {
                      served.add(
                          response.status().intValue()
                              + " "
                              + request.method().name()
                              + " "
                              + request.getUri().getPathString()
                              + request.getUri().rawQueryString().map(q -> "?" + q).orElse(""));
                      return response;
                    },
                    routes::route));
    ServerBinding binding =
        Http.get(testKit.system())
            .newServerAt("127.0.0.1", 0)
            .bind(recorded)
            .toCompletableFuture()
            .get(30, TimeUnit.SECONDS);
    return new RegistryServer(testKit, settings, binding, served);
  }

  String baseUrl() {
    return "http://127.0.0.1:" + port;
  }

  String hostPort() {
    return "127.0.0.1:" + port;
  }

  @Override
  public void close() throws Exception {
    binding.terminate(Duration.ofSeconds(5)).toCompletableFuture().get(10, TimeUnit.SECONDS);
    testKit.shutdownTestKit();
  }
}
