package io.flotilla.gateway;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Builds a node's configuration: command-line flags over the chosen profile over application.conf.
 */
public final class NodeConfig {

  private NodeConfig() {}

  /**
   * @param configFile a HOCON profile such as conf/postgres.conf, or null for the embedded default
   * @param dataDir null to keep the profile's (default {@code ./data})
   * @param httpPort null to keep the profile's
   * @param devicePort null to keep the profile's
   * @param extra settings above the profile, applied before substitutions resolve (tests point the
   *     database here)
   */
  public static Config load(
      Path configFile, Path dataDir, Integer httpPort, Integer devicePort, Config extra) {
    Map<String, Object> overrides = new HashMap<>();
    if (dataDir != null) {
      overrides.put("flotilla.data-dir", dataDir.toAbsolutePath().normalize().toString());
    }
    if (httpPort != null) {
      overrides.put("flotilla.http.port", httpPort);
    }
    if (devicePort != null) {
      overrides.put("flotilla.device.port", devicePort);
    }
    Config profile;
    if (configFile == null) {
      profile = ConfigFactory.parseResources("application.conf");
    } else {
      if (!Files.isReadable(configFile)) {
        throw new IllegalArgumentException("cannot read config file " + configFile);
      }
      profile =
          ConfigFactory.parseFile(
              configFile.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
    }
    Config unresolved =
        ConfigFactory.parseMap(overrides)
            .withFallback(extra)
            .withFallback(profile)
            .withFallback(libraries());
    if (dataDir == null) {
      // A relative data dir is resolved against the working directory, as H2 requires absolute file
      // paths.
      Config probe = unresolved.withFallback(ConfigFactory.defaultReference()).resolve();
      String configured = probe.getString("flotilla.data-dir");
      unresolved =
          ConfigFactory.parseMap(
                  Map.of(
                      "flotilla.data-dir",
                      Path.of(configured).toAbsolutePath().normalize().toString()))
              .withFallback(unresolved);
    }
    return ConfigFactory.load(unresolved);
  }

  /**
   * Every module's settings of the libraries it uses: above their reference.conf, below the
   * operator's.
   */
  public static Config libraries() {
    return ConfigFactory.parseResources("flotilla-library.conf");
  }
}
