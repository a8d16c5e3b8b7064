package io.flotilla.agent.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import io.flotilla.agent.AgentException;
import io.flotilla.agent.ExitCode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Loads the aktualizr-style TOML configuration of §7. The files of all config paths are keyed by
 * base name (a later path's file replaces an earlier one of the same name); then, for each key, the
 * first non-empty value in reverse alphabetical order of base name wins, so {@code
 * z-50-fioctl.toml} overrides {@code sota.toml}.
 */
public final class ConfigLoader {

  public static final List<Path> DEFAULT_PATHS =
      List.of(
          Path.of("/usr/lib/sota/conf.d"),
          Path.of("/var/sota/sota.toml"),
          Path.of("/etc/sota/conf.d"));
  public static final String ENV_CFG_DIRS = "FIOUP_CFG_DIRS";

  private static final TomlMapper TOML = new TomlMapper();

  private ConfigLoader() {}

  /**
   * The config paths: the {@code --cfg-dirs} flag, else {@code $FIOUP_CFG_DIRS}, else the three
   * defaults.
   */
  public static List<Path> paths(String cfgDirsFlag, Map<String, String> environment) {
    String list =
        cfgDirsFlag != null && !cfgDirsFlag.isBlank() ? cfgDirsFlag : environment.get(ENV_CFG_DIRS);
    if (list == null || list.isBlank()) {
      return DEFAULT_PATHS;
    }
    return Arrays.stream(list.split(","))
        .map(String::trim)
        .filter(s -> !s.isEmpty())
        .map(Path::of)
        .toList();
  }

  public static AgentConfig load(List<Path> paths) {
    Map<String, Path> byBaseName = new HashMap<>();
    for (Path path : paths) {
      for (Path file : tomlFilesOf(path)) {
        byBaseName.put(file.getFileName().toString(), file);
      }
    }
    List<Path> ordered =
        byBaseName.entrySet().stream()
            .sorted(Map.Entry.<String, Path>comparingByKey(Comparator.reverseOrder()))
            .map(Map.Entry::getValue)
            .toList();
    Map<String, String> merged = new TreeMap<>();
    for (Path file : ordered) {
      flatten(
          "",
          read(file),
          (key, value) -> {
            if (!value.isEmpty()) {
              merged.putIfAbsent(key, value);
            }
          });
    }
    return new AgentConfig(merged, ordered);
  }

  private static List<Path> tomlFilesOf(Path path) {
    if (Files.isDirectory(path)) {
      try (Stream<Path> files = Files.list(path)) {
        return files
            .filter(f -> f.getFileName().toString().endsWith(".toml") && Files.isRegularFile(f))
            .sorted()
            .toList();
      } catch (IOException e) {
        throw new AgentException(
            ExitCode.GENERIC, "cannot list config directory " + path + ": " + e.getMessage(), e);
      }
    }
    return Files.isRegularFile(path) ? List.of(path) : List.of();
  }

  private static JsonNode read(Path file) {
    try {
      return TOML.readTree(file.toFile());
    } catch (IOException e) {
      throw new AgentException(
          ExitCode.GENERIC, "invalid TOML in " + file + ": " + e.getMessage(), e);
    }
  }

  private interface Sink {
    void accept(String key, String value);
  }

  private static void flatten(String prefix, JsonNode node, Sink sink) {
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      String key = prefix.isEmpty() ? field.getKey() : prefix + "." + field.getKey();
      JsonNode value = field.getValue();
      if (value.isObject()) {
        flatten(key, value, sink);
      } else if (value.isArray()) {
        // aktualizr writes lists as comma-separated strings; accept real arrays the same way
        List<String> items = new ArrayList<>();
        value.forEach(item -> items.add(item.asText()));
        sink.accept(key, String.join(",", items));
      } else if (!value.isNull()) {
        sink.accept(key, value.asText());
      }
    }
  }
}
