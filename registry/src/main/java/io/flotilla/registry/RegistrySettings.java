package io.flotilla.registry;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Everything the registry needs to know about its node.
 *
 * @param rootDir storage root shared by every node serving the registry (the gateway passes {@code
 *     <data-dir>/registry})
 * @param externalUrl base URL clients reach the registry at; empty derives it from each request's
 *     Host
 * @param service service name in challenges and tokens
 * @param tokenTtl lifetime of issued bearer tokens
 * @param maxManifestSize largest manifest accepted, in bytes
 * @param uploadExpiry idle time after which garbage collection purges an upload session
 * @param gcGracePeriod age below which an unreferenced blob survives garbage collection
 */
public record RegistrySettings(
    Path rootDir,
    Optional<String> externalUrl,
    String service,
    Duration tokenTtl,
    long maxManifestSize,
    Duration uploadExpiry,
    Duration gcGracePeriod) {

  public static final String CONFIG_PATH = "flotilla.registry";
  public static final String BLOCKING_DISPATCHER = CONFIG_PATH + ".blocking-dispatcher";

  /** Reads {@code flotilla.registry.*} (defaults in this module's reference.conf). */
  public static RegistrySettings fromConfig(Config config, Path rootDir) {
    Config c = config.getConfig(CONFIG_PATH);
    String external = c.getString("external-url").strip();
    return new RegistrySettings(
        rootDir,
        external.isEmpty() ? Optional.empty() : Optional.of(external.replaceAll("/+$", "")),
        c.getString("service"),
        c.getDuration("token-ttl"),
        c.getBytes("max-manifest-size"),
        c.getDuration("upload-expiry"),
        c.getDuration("gc-grace-period"));
  }
}
