package io.flotilla.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.gateway.build.GitCli;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.TestServers;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The data dir is private from the first start on, an older world-readable one is fixed at start,
 * and what the node writes later (git pushes, registry uploads, new factories' keys) is private
 * too. A real node on the embedded H2 file database, so the database's own files are walked as
 * well.
 */
class DataDirPermissionsTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path temp;

  @Test
  void aNewDataDirIsPrivateFromTheFirstStart() throws Exception {
    Path dataDir = temp.resolve("new").resolve("data");
    try (FlotillaServer server = TestServers.start(dataDir, null)) {
      writeThroughEveryStore(server, temp.resolve("clone"));
      assertEquals(List.of(), exposed(dataDir));
    }
    assertTrue(Files.exists(dataDir.resolve("db")), "the H2 files were walked too");
  }

  @Test
  void anOldWorldReadableDataDirIsFixedAtStart() throws Exception {
    Path dataDir = Files.createDirectories(temp.resolve("old"));
    Files.setPosixFilePermissions(dataDir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path blob =
        Files.createDirectories(dataDir.resolve("registry/blobs/sha256/aa")).resolve("leftover");
    Files.writeString(blob, "x");
    Files.setPosixFilePermissions(blob, PosixFilePermissions.fromString("rw-r--r--"));
    Files.setPosixFilePermissions(blob.getParent(), PosixFilePermissions.fromString("rwxr-xr-x"));
    Path script = Files.createDirectories(dataDir.resolve("builder/work/1")).resolve("run.sh");
    Files.writeString(script, "#!/bin/sh\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    try (FlotillaServer ignored = TestServers.start(dataDir, null)) {
      assertEquals(List.of(), exposed(dataDir));
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(blob)));
      assertEquals(
          "rwxr-xr-x",
          PosixFilePermissions.toString(Files.getPosixFilePermissions(script)),
          "a build checkout keeps its modes: they end up in the image");
    }
  }

  /** A factory with its keys, a token, a git push, and a blob upload. */
  private static void writeThroughEveryStore(FlotillaServer server, Path clone) throws Exception {
    ApiClient api = new ApiClient(server.httpPort());
    String admin = server.adminToken().value();
    assertEquals(
        201,
        api.post("/api/v1/factories", admin, "{\"name\":\"acme\",\"platforms\":[\"amd64-linux\"]}")
            .status());
    ApiClient.Answer created =
        api.post(
            "/api/v1/factories/acme/tokens",
            admin,
            "{\"scopes\":[\"containers:push\",\"containers:read\"]}");
    assertEquals(201, created.status(), created.body());
    String token = JSON.readTree(created.body()).get("token").asText();

    Files.createDirectories(clone);
    GitCli.ok(clone, "init", "-q");
    Files.writeString(clone.resolve("README"), "hello\n");
    GitCli.ok(clone, "add", "README");
    GitCli.ok(clone, "commit", "-q", "-m", "first");
    GitCli.ok(
        clone,
        "push",
        "-q",
        "http://ci:" + token + "@127.0.0.1:" + server.httpPort() + "/git/acme/containers.git",
        "HEAD:refs/heads/feature/x");

    byte[] content = "a layer".getBytes(StandardCharsets.UTF_8);
    String digest =
        "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    HttpResponse<String> upload =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create(
                            "http://127.0.0.1:"
                                + server.httpPort()
                                + "/v2/acme/app/blobs/uploads/?digest="
                                + digest))
                    .header(
                        "Authorization",
                        "Basic "
                            + Base64.getEncoder()
                                .encodeToString(("ci:" + token).getBytes(StandardCharsets.UTF_8)))
                    .header("Content-Type", "application/octet-stream")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(content))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertEquals(201, upload.statusCode(), upload.body());
  }

  /**
   * Everything under the data dir that others could reach: directories other than 0700, files with
   * group or other bits.
   */
  private static List<String> exposed(Path dataDir) throws Exception {
    Set<PosixFilePermission> privateDir = PosixFilePermissions.fromString("rwx------");
    Path builder = dataDir.resolve("builder");
    List<String> exposed = new ArrayList<>();
    try (Stream<Path> all = Files.walk(dataDir)) {
      for (Path path : all.filter(p -> p.equals(builder) || !p.startsWith(builder)).toList()) {
        Set<PosixFilePermission> mode =
            Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS);
        boolean open =
            Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)
                ? !mode.equals(privateDir)
                : mode.stream()
                    .anyMatch(p -> p.name().startsWith("GROUP") || p.name().startsWith("OTHERS"));
        if (open) {
          exposed.add(dataDir.relativize(path) + " " + PosixFilePermissions.toString(mode));
        }
      }
    }
    return exposed;
  }
}
