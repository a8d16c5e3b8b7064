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
    String publish,
    List<String> insecureRegistries,
    String buildah,
    String buildahExecutable,
    Map<String, String> platforms,
    Duration sweepInterval,
    String publicUrl) {

  /**
   * Where builds publish: into the node's registry storage, or over the registry protocol to {@code
   * registry-url}.
   */
  public static final String PUBLISH_AUTO = "auto";

  public static final String PUBLISH_IN_PROCESS = "in-process";
  public static final String PUBLISH_REGISTRY_PROTOCOL = "registry-protocol";

  private static String publish(String value) {
    if (!List.of(PUBLISH_AUTO, PUBLISH_IN_PROCESS, PUBLISH_REGISTRY_PROTOCOL).contains(value)) {
      throw new IllegalArgumentException(
          "flotilla.builder.publish must be auto, in-process or registry-protocol, not \""
              + value
              + "\"");
    }
    return value;
  }

  public static BuilderSettings fromConfig(Config root) {
    Config c = root.getConfig("flotilla.builder");
    Map<String, String> platforms = new TreeMap<>();
    c.getConfig("platforms")
        .entrySet()
        .forEach(
            e -> platforms.put(e.getKey().replace("\"", ""), e.getValue().unwrapped().toString()));
    return new BuilderSettings(
        c.getInt("max-concurrent-builds"),
        c.getDuration("build-timeout"),
        c.getInt("max-attempts"),
        new ImageBuildWorker.Backoff(
            c.getDuration("image-retry.min-backoff"),
            c.getDuration("image-retry.max-backoff"),
            c.getInt("image-retry.max-retries")),
        c.getString("registry-host").strip(),
        c.getString("registry-url").strip(),
        publish(c.getString("publish").strip()),
        c.getStringList("insecure-registries"),
        c.getString("buildah"),
        c.getString("buildah-executable"),
        platforms,
        c.getDuration("sweep-interval"),
        c.getString("public-url").strip());
  }
}
