package io.flotilla.gateway.testing;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.NodeConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Real servers for tests: the node's own startup path, on free ports, with the given database
 * settings.
 */
public final class TestServers {

  private TestServers() {}

  /**
   * Ports 0 and remoting on a free port; {@code database} null keeps the embedded H2 file under
   * {@code dataDir}.
   */
  public static Config config(Path dataDir, Config database) {
    Config test =
        ConfigFactory.parseMap(
            Map.of(
                "pekko.remote.artery.canonical.port", 0,
                "pekko.cluster.jmx.multi-mbeans-in-same-jvm", "on",
                "pekko.loglevel", "WARNING",
                "flotilla.http.interface", "127.0.0.1",
                "flotilla.device.interface", "127.0.0.1"));
    return NodeConfig.load(
        null, dataDir, 0, 0, database == null ? test : test.withFallback(database));
  }

  public static FlotillaServer start(Path dataDir, Config database)
      throws IOException, InterruptedException {
    return FlotillaServer.start(config(dataDir, database));
  }
}
