package io.flotilla.gateway.cli;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;

/**
 * The CLI's profile file, as fioctl keeps one: where the server is, the token, the default factory.
 * It holds a secret, so it is written mode 0600.
 */
public record Profile(String url, String token, String factory) {

  public static final Map<String, String> KEYS =
      Map.of(
          "url", "the server's API URL, e.g. http://127.0.0.1:8080",
          "token", "an API token (admin or factory)",
          "factory", "the factory commands act on unless --factory is given");

  private static final ObjectMapper YAML =
      new ObjectMapper(
              new YAMLFactory()
                  .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                  .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES))
          .setSerializationInclusion(JsonInclude.Include.NON_NULL)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  public static final Profile EMPTY = new Profile(null, null, null);

  /**
   * {@code $FLOTILLA_CLI_CONFIG}, else {@code $XDG_CONFIG_HOME/flotilla/config.yaml}, else {@code
   * ~/.config/flotilla/config.yaml}.
   */
  public static Path defaultFile() {
    String explicit = System.getenv("FLOTILLA_CLI_CONFIG");
    if (explicit != null && !explicit.isBlank()) {
      return Path.of(explicit);
    }
    String xdg = System.getenv("XDG_CONFIG_HOME");
    Path base =
        xdg != null && !xdg.isBlank()
            ? Path.of(xdg)
            : Path.of(System.getProperty("user.home"), ".config");
    return base.resolve("flotilla").resolve("config.yaml");
  }

  public static Profile load(Path file) {
    if (!Files.isRegularFile(file)) {
      return EMPTY;
    }
    try {
      Profile profile = YAML.readValue(file.toFile(), Profile.class);
      return profile == null ? EMPTY : profile;
    } catch (IOException e) {
      throw new CliFailure(CliFailure.USAGE, "cannot read " + file + ": " + e.getMessage());
    }
  }

  public void save(Path file) {
    try {
      Path dir = file.toAbsolutePath().getParent();
      Files.createDirectories(dir);
      Path temp = Files.createTempFile(dir, ".config", ".yaml");
      Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-------"));
      YAML.writeValue(temp.toFile(), this);
      Files.move(
          temp,
          file,
          java.nio.file.StandardCopyOption.REPLACE_EXISTING,
          java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new CliFailure(CliFailure.USAGE, "cannot write " + file + ": " + e.getMessage());
    }
  }

  public Profile with(String key, String value) {
    return switch (key) {
      case "url" -> new Profile(value, token, factory);
      case "token" -> new Profile(url, value, factory);
      case "factory" -> new Profile(url, token, value);
      default ->
          throw new CliFailure(
              CliFailure.USAGE, "unknown setting '" + key + "'; known: " + KEYS.keySet());
    };
  }

  /** What {@code config get} shows: the token only as its first characters. */
  public Profile redacted() {
    return new Profile(
        url, token == null ? null : token.substring(0, Math.min(8, token.length())) + "…", factory);
  }
}
