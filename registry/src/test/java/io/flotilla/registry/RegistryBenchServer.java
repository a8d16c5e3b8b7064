package io.flotilla.registry;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.flotilla.registry.auth.RegistryAction;
import io.flotilla.registry.auth.RegistryPrincipal;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;

/**
 * The registry alone on a fixed port, for {@code bench/registry-throughput.sh}: {@code <root>
 * <port>}. Credentials {@code bench:bench} may push to factory {@code bench}. Runs until killed.
 */
public final class RegistryBenchServer {
  public static void main(String[] args) throws Exception {
    Config config =
        ConfigFactory.parseString("pekko.loglevel = WARNING").withFallback(ConfigFactory.load());
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "registry-bench", config);
    RegistryPrincipal bench =
        new RegistryPrincipal("bench", Map.of("bench", Set.of(RegistryAction.PUSH)));
    RegistryRoutes routes =
        new RegistryRoutes(
            system,
            RegistrySettings.fromConfig(config, Path.of(args[0])),
            (user, password) ->
                CompletableFuture.completedFuture(
                    user.equals("bench") && password.equals("bench")
                        ? Optional.of(bench)
                        : Optional.empty()));
    Http.get(system)
        .newServerAt("127.0.0.1", Integer.parseInt(args[1]))
        .bind(routes.route())
        .toCompletableFuture()
        .join();
    System.out.println("registry listening on 127.0.0.1:" + args[1]);
  }
}
