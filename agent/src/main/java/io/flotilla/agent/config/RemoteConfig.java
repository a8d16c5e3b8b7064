package io.flotilla.agent.config;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import io.flotilla.agent.gateway.GatewayClient;
import io.flotilla.agent.store.AtomicFiles;
import io.flotilla.protocol.Json;
import io.flotilla.protocol.device.ConfigFile;
import io.flotilla.protocol.oci.Digest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * The fioconfig side of the daemon (§5): installs the files of {@code GET /config} so the operator
 * can change a device remotely. Every file lands in {@code filesDir} (0600: config files carry
 * secrets); TOML files also land in the highest-priority config directory, which is how {@code
 * z-50-fioctl.toml} changes the agent's own tag and app shortlist. A file's {@code OnChanged}
 * command runs after its content changed, with {@code CONFIG_FILE} set to it. What was installed is
 * remembered, so a file the server no longer sends is removed again.
 */
public final class RemoteConfig {

  /** A file name, never a path: the server's names must not reach outside the two directories. */
  private static final Pattern FILE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

  private static final long HANDLER_TIMEOUT_SECONDS = 60;
  private static final TomlMapper TOML = new TomlMapper();

  private final Path filesDir;
  private final Optional<Path> tomlDir;
  private final Path stateFile;
  private final Consumer<String> log;
  private final ObjectMapper json = Json.mapper();

  /** What one sync changed; the agent reloads its config when {@code agentConfigChanged}. */
  public record Applied(List<String> changed, List<String> removed, boolean agentConfigChanged) {
    static final Applied NOTHING = new Applied(List.of(), List.of(), false);
  }

  /**
   * Persisted between runs: the Last-Modified to send back and the sha256 of every installed file.
   */
  record Installed(String lastModified, Map<String, String> files) {
    Installed {
      files = files == null ? Map.of() : Map.copyOf(files);
    }
  }

  public RemoteConfig(Path filesDir, Optional<Path> tomlDir, Path stateFile, Consumer<String> log) {
    this.filesDir = filesDir;
    this.tomlDir = tomlDir;
    this.stateFile = stateFile;
    this.log = log;
  }

  /**
   * The directory whose TOML files win the merge: the last directory among the config paths, if
   * any.
   */
  public static Optional<Path> tomlDirOf(List<Path> configPaths) {
    for (int i = configPaths.size() - 1; i >= 0; i--) {
      if (Files.isDirectory(configPaths.get(i))) {
        return Optional.of(configPaths.get(i));
      }
    }
    return Optional.empty();
  }

  public Applied sync(GatewayClient gateway) throws IOException {
    Installed installed = installed();
    GatewayClient.ConfigAnswer answer =
        gateway.config(Optional.ofNullable(installed.lastModified()));
    if (answer.status() == 304) {
      return Applied.NOTHING;
    }
    return apply(answer.files(), answer.lastModified());
  }

  /**
   * Makes the installed files exactly {@code files} (an empty map removes them all, as a 204 asks).
   */
  public Applied apply(Map<String, ConfigFile> files, Optional<String> lastModified)
      throws IOException {
    Installed before = installed();
    Map<String, String> now = new TreeMap<>();
    List<String> changed = new ArrayList<>();
    List<Path> handlerFiles = new ArrayList<>();
    List<List<String>> handlers = new ArrayList<>();
    for (Map.Entry<String, ConfigFile> entry : new TreeMap<>(files).entrySet()) {
      String name = entry.getKey();
      ConfigFile file = entry.getValue();
      if (!FILE_NAME.matcher(name).matches()) {
        log.accept(
            "config: ignoring a file with an unusable name "
                + quoted(name)
                + " (letters, digits, '.', '_', '-')");
        continue;
      }
      if (!file.unencrypted()) {
        log.accept(
            "config: skipping "
                + name
                + ": it is encrypted for this device and this agent does not decrypt fioconfig values");
        continue;
      }
      byte[] content =
          file.value() == null ? new byte[0] : file.value().getBytes(StandardCharsets.UTF_8);
      String digest = Digest.of(content).toString();
      now.put(name, digest);
      if (digest.equals(before.files().get(name)) && Files.exists(filesDir.resolve(name))) {
        continue;
      }
      if (name.endsWith(".toml") && !validToml(name, content)) {
        // the previous version, if any, stays installed
        if (before.files().containsKey(name)) {
          now.put(name, before.files().get(name));
        } else {
          now.remove(name);
        }
        continue;
      }
      install(name, content);
      changed.add(name);
      if (!file.onChanged().isEmpty()) {
        handlerFiles.add(filesDir.resolve(name));
        handlers.add(file.onChanged());
      }
    }
    List<String> removed =
        before.files().keySet().stream().filter(name -> !now.containsKey(name)).sorted().toList();
    for (String name : removed) {
      Files.deleteIfExists(filesDir.resolve(name));
      if (tomlDir.isPresent() && name.endsWith(".toml")) {
        Files.deleteIfExists(tomlDir.get().resolve(name));
      }
    }
    Files.createDirectories(stateFile.getParent());
    AtomicFiles.write(
        stateFile, json.writeValueAsBytes(new Installed(lastModified.orElse(null), now)));
    for (int i = 0; i < handlers.size(); i++) {
      runHandler(handlers.get(i), handlerFiles.get(i));
    }
    boolean agentConfig =
        tomlDir.isPresent()
            && (changed.stream().anyMatch(n -> n.endsWith(".toml"))
                || removed.stream().anyMatch(n -> n.endsWith(".toml")));
    return new Applied(List.copyOf(changed), removed, agentConfig);
  }

  private boolean validToml(String name, byte[] content) {
    try {
      TOML.readTree(content);
      return true;
    } catch (IOException e) {
      // installing it would make every later command of the agent fail on an invalid config
      log.accept("config: not installing " + name + ": invalid TOML: " + e.getMessage());
      return false;
    }
  }

  private void install(String name, byte[] content) throws IOException {
    Files.createDirectories(filesDir);
    Path target = filesDir.resolve(name);
    AtomicFiles.write(target, content);
    Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-------"));
    if (tomlDir.isPresent() && name.endsWith(".toml")) {
      AtomicFiles.write(tomlDir.get().resolve(name), content);
    } else if (name.endsWith(".toml")) {
      log.accept(
          "config: "
              + name
              + " is kept in "
              + filesDir
              + " only: no config directory among the config paths");
    }
  }

  private void runHandler(List<String> command, Path file) {
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD);
    builder.environment().put("CONFIG_FILE", file.toString());
    try {
      Process process = builder.start();
      if (!process.waitFor(HANDLER_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        log.accept(
            "config: the OnChanged handler of "
                + file.getFileName()
                + " ran over "
                + HANDLER_TIMEOUT_SECONDS
                + " s and was stopped");
      } else if (process.exitValue() != 0) {
        log.accept(
            "config: the OnChanged handler "
                + command
                + " of "
                + file.getFileName()
                + " exited with "
                + process.exitValue());
      }
    } catch (IOException e) {
      log.accept(
          "config: cannot run the OnChanged handler "
              + command
              + " of "
              + file.getFileName()
              + ": "
              + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  Installed installed() throws IOException {
    if (!Files.exists(stateFile)) {
      return new Installed(null, Map.of());
    }
    return json.readValue(stateFile.toFile(), Installed.class);
  }

  private static String quoted(String name) {
    String shown = name.length() > 60 ? name.substring(0, 60) + "..." : name;
    return "\"" + shown.replaceAll("\\p{Cntrl}", "?") + "\"";
  }
}
