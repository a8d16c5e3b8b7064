package io.flotilla.agent.config;

import io.flotilla.agent.AgentException;
import io.flotilla.agent.ExitCode;
import java.net.URI;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The merged configuration: dotted keys ({@code pacman.tags}) → text values, plus where they came
 * from. Accessors apply the §7 defaults; paths that are relative are taken relative to {@code
 * storage.path}.
 */
public record AgentConfig(Map<String, String> values, List<Path> sources) {

  public static final String DEFAULT_STORAGE_PATH = "/var/sota";
  public static final int DEFAULT_WATERMARK = 95;
  public static final int MIN_WATERMARK = 20;
  public static final int MAX_WATERMARK = 99;
  public static final int DEFAULT_POLLING_SECONDS = 300;

  public AgentConfig {
    values = Map.copyOf(values);
    sources = List.copyOf(sources);
  }

  public Optional<String> get(String key) {
    return Optional.ofNullable(values.get(key)).filter(v -> !v.isEmpty());
  }

  public String require(String key) {
    return get(key)
        .orElseThrow(
            () ->
                new AgentException(
                    ExitCode.GENERIC,
                    "config key "
                        + key
                        + " is not set (read from "
                        + (sources.isEmpty() ? "no file" : sources)
                        + ")"));
  }

  public URI server() {
    String server = require("tls.server");
    try {
      URI uri =
          URI.create(server.endsWith("/") ? server.substring(0, server.length() - 1) : server);
      if (uri.getScheme() == null || uri.getHost() == null) {
        throw new IllegalArgumentException("no scheme or host");
      }
      return uri;
    } catch (IllegalArgumentException e) {
      throw new AgentException(ExitCode.GENERIC, "tls.server is not a URL: " + server);
    }
  }

  public String hardwareId() {
    return require("provision.primary_ecu_hardware_id");
  }

  /** The one tag the device follows, if any. */
  public Optional<String> tag() {
    return get("pacman.tags").map(tags -> tags.split(",")[0].trim()).filter(t -> !t.isEmpty());
  }

  /** The app shortlist; empty means "all apps of the target". */
  public Optional<List<String>> composeApps() {
    return get("pacman.compose_apps")
        .map(
            apps ->
                Arrays.stream(apps.split(","))
                    .map(String::trim)
                    .filter(a -> !a.isEmpty())
                    .toList());
  }

  public Path storagePath() {
    return Path.of(get("storage.path").orElse(DEFAULT_STORAGE_PATH));
  }

  public Path caCertPath() {
    return storageRelative("import.tls_cacert_path", "root.crt");
  }

  public Path clientCertPath() {
    return storageRelative("import.tls_clientcert_path", "client.pem");
  }

  public Path privateKeyPath() {
    return storageRelative("import.tls_pkey_path", "pkey.pem");
  }

  /** The content store (blobs), {@code pacman.reset_apps_root}. */
  public Path blobStoreRoot() {
    return storageRelative("pacman.reset_apps_root", "reset-apps");
  }

  /** Where installed apps are unpacked, {@code pacman.compose_apps_root}. */
  public Path appsRoot() {
    return storageRelative("pacman.compose_apps_root", "compose-apps");
  }

  /** Agent's own state: update records, event queue, lock. */
  public Path agentStateDir() {
    return storagePath().resolve("flotilla-agent");
  }

  public int storageWatermark() {
    int watermark = integer("pacman.storage_watermark", DEFAULT_WATERMARK);
    if (watermark < MIN_WATERMARK || watermark > MAX_WATERMARK) {
      throw new AgentException(
          ExitCode.GENERIC,
          "pacman.storage_watermark must be within "
              + MIN_WATERMARK
              + ".."
              + MAX_WATERMARK
              + " (percent of the disk the agent may fill), not "
              + watermark);
    }
    return watermark;
  }

  public int pollingSeconds() {
    int seconds = integer("uptane.polling_seconds", DEFAULT_POLLING_SECONDS);
    if (seconds < 1) {
      throw new AgentException(
          ExitCode.GENERIC, "uptane.polling_seconds must be positive, not " + seconds);
    }
    return seconds;
  }

  /**
   * Checks every value that has a constraint, so {@code config-check} reports problems before a
   * command hits them.
   */
  public void validate() {
    storageWatermark();
    pollingSeconds();
    get("tls.server").ifPresent(s -> server());
  }

  /**
   * The merged config as TOML text, for {@code PUT /system_info/config} and {@code config-check}.
   */
  public String toToml() {
    Map<String, Map<String, String>> sections = new TreeMap<>();
    values.forEach(
        (key, value) -> {
          int dot = key.lastIndexOf('.');
          String section = dot < 0 ? "" : key.substring(0, dot);
          sections
              .computeIfAbsent(section, s -> new TreeMap<>())
              .put(key.substring(dot + 1), value);
        });
    StringBuilder toml = new StringBuilder();
    sections.forEach(
        (section, entries) -> {
          if (!section.isEmpty()) {
            toml.append(toml.length() == 0 ? "" : "\n").append('[').append(section).append("]\n");
          }
          entries.forEach(
              (k, v) ->
                  toml.append(k)
                      .append(" = \"")
                      .append(v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n"))
                      .append("\"\n"));
        });
    return toml.toString();
  }

  private int integer(String key, int fallback) {
    Optional<String> value = get(key);
    if (value.isEmpty()) {
      return fallback;
    }
    try {
      return Integer.parseInt(value.get().trim());
    } catch (NumberFormatException e) {
      throw new AgentException(
          ExitCode.GENERIC, key + " must be a whole number, not \"" + value.get() + "\"");
    }
  }

  private Path storageRelative(String key, String defaultName) {
    return get(key)
        .map(Path::of)
        .map(p -> p.isAbsolute() ? p : storagePath().resolve(p))
        .orElse(storagePath().resolve(defaultName));
  }
}
