package io.flotilla.builder;

import com.typesafe.config.Config;
import io.flotilla.builder.build.ImageBuildWorker;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** {@code flotilla.builder.*}, defaults in this module's reference.conf. */
public record BuilderSettings(
    int maxConcurrentBuilds,
    Duration buildTimeout,
    int maxAttempts,
    ImageBuildWorker.Backoff imageRetry,
    String registryHost,
    String registryUrl,
    List<String> insecureRegistries,
    String buildah,
    String buildahExecutable,
    Map<String, String> platforms,
    Duration sweepInterval,
    String publicUrl) {

  public static BuilderSettings fromConfig(Config root) {
    Config c = root.getConfig("flotilla.builder");
    Map<String, String> platforms = new TreeMap<>();
    c.getConfig("platforms").entrySet().forEach(e -> platforms.put(e.getKey().replace("\"", ""), e.getValue().unwrapped().toString()));
    return new BuilderSettings(
        c.getInt("max-concurrent-builds"),
        c.getDuration("build-timeout"),
        c.getInt("max-attempts"),
        new ImageBuildWorker.Backoff(c.getDuration("image-retry.min-backoff"), c.getDuration("image-retry.max-backoff"), c.getInt("image-retry.max-retries")),
        c.getString("registry-host").strip(),
        c.getString("registry-url").strip(),
        c.getStringList("insecure-registries"),
        c.getString("buildah"),
        c.getString("buildah-executable"),
        platforms,
        c.getDuration("sweep-interval"),
        c.getString("public-url").strip());
  }
}
