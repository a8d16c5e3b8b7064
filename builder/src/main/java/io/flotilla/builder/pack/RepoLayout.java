package io.flotilla.builder.pack;

import io.flotilla.builder.image.Dockerfile;
import io.flotilla.builder.image.DockerfileException;
import io.flotilla.protocol.composeapp.ComposeAppException;
import io.flotilla.protocol.composeapp.ComposeAppFormat;
import io.flotilla.protocol.composeapp.ComposeFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * What a containers.git commit holds, by the Foundries conventions: each top-level directory with a
 * {@code docker-compose.yml} is an app (a {@code .disabled} suffix skips it), each with a {@code
 * Dockerfile} is an image {@code <factory>/<dir>}. Reading it parses every compose file and
 * Dockerfile, so bad input fails the build before anything is built.
 */
public record RepoLayout(
    Map<String, Dockerfile> images, Map<String, ComposeFile> apps, List<String> skipped) {

  public static final String DISABLED_SUFFIX = ".disabled";
  private static final java.util.regex.Pattern NAME =
      java.util.regex.Pattern.compile("[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*");

  public static RepoLayout read(Path root) throws IOException {
    Map<String, Dockerfile> images = new TreeMap<>();
    Map<String, ComposeFile> apps = new TreeMap<>();
    List<String> skipped = new ArrayList<>();
    List<Path> dirs;
    try (Stream<Path> list = Files.list(root)) {
      dirs = list.filter(Files::isDirectory).sorted().toList();
    }
    for (Path dir : dirs) {
      String name = dir.getFileName().toString();
      if (name.startsWith(".")) {
        continue;
      }
      boolean hasCompose = Files.isRegularFile(dir.resolve(ComposeAppFormat.COMPOSE_FILE));
      boolean hasDockerfile = Files.isRegularFile(dir.resolve("Dockerfile"));
      if (name.endsWith(DISABLED_SUFFIX)) {
        if (hasCompose || hasDockerfile) {
          skipped.add(name);
        }
        continue;
      }
      if ((hasCompose || hasDockerfile) && !NAME.matcher(name).matches()) {
        throw new ComposeAppException(
            "directory '"
                + name
                + "' cannot be an app or image name: use lower case letters, digits, '.', '_' and '-'");
      }
      if (hasDockerfile) {
        try {
          images.put(name, Dockerfile.parse(Files.readString(dir.resolve("Dockerfile"))));
        } catch (DockerfileException e) {
          throw new DockerfileException(name + "/Dockerfile: " + e.getMessage());
        }
      }
      if (hasCompose) {
        try {
          apps.put(
              name,
              ComposeFile.parse(Files.readAllBytes(dir.resolve(ComposeAppFormat.COMPOSE_FILE))));
        } catch (ComposeAppException e) {
          throw new ComposeAppException("app " + name + ": " + e.getMessage(), e);
        }
      }
    }
    return new RepoLayout(images, apps, skipped);
  }
}
