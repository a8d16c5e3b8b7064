package io.flotilla.agent.config;

import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.agent.AgentException;
import io.flotilla.agent.ExitCode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

  @TempDir Path tmp;

  @Test
  void laterPathsReplaceFilesOfTheSameBaseName() throws IOException {
    Path lib =
        dir(
            "lib",
            Map.of("10-defaults.toml", "[pacman]\ntags = \"lib\"\ncompose_apps = \"a,b\"\n"));
    Path etc = dir("etc", Map.of("10-defaults.toml", "[pacman]\ntags = \"etc\"\n"));
    AgentConfig config = ConfigLoader.load(List.of(lib, etc));
    assertEquals("etc", config.tag().orElseThrow());
    assertTrue(
        config.composeApps().isEmpty(),
        "the lib file was replaced whole, its compose_apps is gone");
  }

  @Test
  void firstNonEmptyValueInReverseAlphabeticalOrderOfBaseNameWins() throws IOException {
    Path lib =
        dir(
            "lib",
            Map.of(
                "05-base.toml",
                """
                [tls]
                server = "https://gw.example:8443"
                [provision]
                primary_ecu_hardware_id = "amd64-linux"
                [pacman]
                tags = "base"
                compose_apps = "base-app"
                storage_watermark = 80
                """));
    Path sota =
        Files.writeString(
            tmp.resolve("sota.toml"), "[pacman]\ntags = \"sota\"\ncompose_apps = \"\"\n");
    Path etc =
        dir(
            "etc",
            Map.of("z-50-fioctl.toml", "[pacman]\n  tags = \"fioctl\"\n  compose_apps = \"\"\n"));
    AgentConfig config = ConfigLoader.load(List.of(lib, sota, etc));
    assertEquals(
        "fioctl", config.tag().orElseThrow(), "z-50-fioctl.toml sorts last, so it is read first");
    assertEquals(
        List.of("base-app"), config.composeApps().orElseThrow(), "empty values do not win");
    assertEquals(80, config.storageWatermark());
    assertEquals("amd64-linux", config.hardwareId());
    assertEquals("https://gw.example:8443", config.server().toString());
    assertEquals(
        List.of(etc.resolve("z-50-fioctl.toml"), sota, lib.resolve("05-base.toml")),
        config.sources());
  }

  @Test
  void defaultsApplyAndRelativePathsFollowStoragePath() throws IOException {
    Path etc =
        dir(
            "etc",
            Map.of(
                "sota.toml",
                "[storage]\npath = \""
                    + tmp.resolve("sota")
                    + "\"\n[import]\ntls_pkey_path = \"keys/pkey.pem\"\n"));
    AgentConfig config = ConfigLoader.load(List.of(etc, tmp.resolve("missing")));
    assertEquals(95, config.storageWatermark());
    assertEquals(300, config.pollingSeconds());
    assertEquals(tmp.resolve("sota/root.crt"), config.caCertPath());
    assertEquals(tmp.resolve("sota/keys/pkey.pem"), config.privateKeyPath());
    assertEquals(tmp.resolve("sota/compose-apps"), config.appsRoot());
    assertTrue(config.tag().isEmpty());
    assertTrue(config.composeApps().isEmpty());
    assertEquals(
        ExitCode.GENERIC, assertThrows(AgentException.class, config::hardwareId).exitCode());
  }

  @Test
  void watermarkOutsideItsRangeIsAnError() throws IOException {
    for (String bad : List.of("19", "100", "\"many\"")) {
      Path etc =
          dir(
              "etc-" + bad.replace("\"", ""),
              Map.of("a.toml", "[pacman]\nstorage_watermark = " + bad + "\n"));
      AgentConfig config = ConfigLoader.load(List.of(etc));
      AgentException e = assertThrows(AgentException.class, config::validate);
      assertTrue(e.getMessage().contains("storage_watermark"), e.getMessage());
    }
    assertEquals(
        20,
        ConfigLoader.load(
                List.of(dir("ok", Map.of("a.toml", "[pacman]\nstorage_watermark = \"20\"\n"))))
            .storageWatermark());
  }

  @Test
  void invalidTomlNamesTheFile() throws IOException {
    Path etc = dir("bad", Map.of("broken.toml", "[pacman\n"));
    AgentException e = assertThrows(AgentException.class, () -> ConfigLoader.load(List.of(etc)));
    assertTrue(e.getMessage().contains("broken.toml"), e.getMessage());
  }

  @Test
  void cfgDirsFlagBeatsEnvironmentWhichBeatsDefaults() {
    assertEquals(
        List.of(Path.of("/a"), Path.of("/b")),
        ConfigLoader.paths("/a, /b", Map.of(ConfigLoader.ENV_CFG_DIRS, "/c")));
    assertEquals(
        List.of(Path.of("/c")), ConfigLoader.paths(null, Map.of(ConfigLoader.ENV_CFG_DIRS, "/c")));
    assertEquals(ConfigLoader.DEFAULT_PATHS, ConfigLoader.paths("", Map.of()));
  }

  @Test
  void mergedConfigPrintsAsToml() throws IOException {
    AgentConfig config =
        ConfigLoader.load(
            List.of(
                dir(
                    "t",
                    Map.of(
                        "a.toml", "[pacman]\ntags = \"main\"\n[uptane]\npolling_seconds = 5\n"))));
    String toml = config.toToml();
    assertTrue(toml.contains("[pacman]\ntags = \"main\"\n"), toml);
    assertEquals(
        config.values(),
        ConfigLoader.load(List.of(Files.writeString(tmp.resolve("round.toml"), toml))).values());
  }

  private Path dir(String name, Map<String, String> files) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve(name));
    for (var file : files.entrySet()) {
      Files.writeString(dir.resolve(file.getKey()), file.getValue());
    }
    return dir;
  }
}
