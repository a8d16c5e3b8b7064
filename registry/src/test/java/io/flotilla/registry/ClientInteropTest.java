package io.flotilla.registry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.protocol.oci.Digest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The registry as real clients use it: skopeo, buildah and podman, through the bearer-token flow.
 */
class ClientInteropTest {
  @TempDir static Path root;
  @TempDir static Path work;
  static RegistryServer server;
  static ContainerTools tools;
  static String registry;
  static final String PUSH_CREDS =
      RegistryServer.PUSHER.user() + ":" + RegistryServer.PUSHER.password();
  static final String READ_CREDS =
      RegistryServer.READER.user() + ":" + RegistryServer.READER.password();
  static final String DEVICE_CREDS =
      RegistryServer.DEVICE.user() + ":" + RegistryServer.DEVICE.password();
  static final String GREETING = "hello from flotilla";

  @BeforeAll
  static void start() throws Exception {
    ContainerTools.requireTools("skopeo", "buildah", "podman", "runc", "busybox");
    server = RegistryServer.start(root);
    registry = server.hostPort();
    tools = new ContainerTools(work.resolve("tools"), registry);
    buildImages();
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) {
      server.close();
    }
  }

  /**
   * A busybox base from scratch and an app image with one more layer: nothing comes from Docker
   * Hub.
   */
  static void buildImages() throws Exception {
    String base = tools.run("buildah", "from", "scratch");
    tools.run("buildah", "copy", base, "/bin/busybox", "/bin/busybox");
    tools.run(
        "buildah", "run", "--isolation", "chroot", base, "/bin/busybox", "--install", "-s", "/bin");
    tools.run("buildah", "config", "--cmd", "[\"/bin/sh\"]", base);
    tools.run("buildah", "commit", "--format", "oci", base, "localhost/flotilla-busybox:latest");
    Path greeting = work.resolve("hello.txt");
    Files.writeString(greeting, GREETING + "\n");
    String app = tools.run("buildah", "from", "localhost/flotilla-busybox:latest");
    tools.run("buildah", "copy", app, greeting.toString(), "/hello.txt");
    tools.run("buildah", "commit", "--format", "oci", app, "localhost/flotilla-app:latest");
  }

  static String rawManifestDigest(String reference, String... flags) throws Exception {
    Path manifest = work.resolve("manifest-" + Math.abs(reference.hashCode()) + ".json");
    List<String> command = ContainerTools.concat(List.of("skopeo", "inspect", "--raw"), flags);
    command.add(reference);
    Files.writeString(manifest, tools.run(command.toArray(String[]::new)));
    return tools.run("skopeo", "manifest-digest", manifest.toString());
  }

  @Test
  void skopeoCopiesAMultiLayerImageInAndOutWithEqualDigests() throws Exception {
    Path layout = work.resolve("layout");
    tools.run("buildah", "push", "localhost/flotilla-app:latest", "oci:" + layout + ":app");
    String source = rawManifestDigest("oci:" + layout + ":app");

    tools.run(
        "skopeo",
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        PUSH_CREDS,
        "oci:" + layout + ":app",
        "docker://" + registry + "/acme/skopeo-app:v1");
    String inRegistry =
        rawManifestDigest(
            "docker://" + registry + "/acme/skopeo-app:v1",
            "--tls-verify=false",
            "--creds",
            READ_CREDS);
    assertEquals(source, inRegistry);

    JsonNode inspected =
        RegistryJson.MAPPER.readTree(
            tools.run(
                "skopeo",
                "inspect",
                "--tls-verify=false",
                "--creds",
                READ_CREDS,
                "docker://" + registry + "/acme/skopeo-app:v1"));
    assertEquals(2, inspected.path("Layers").size(), inspected.toString());
    assertEquals(inRegistry, inspected.path("Digest").asText());

    Path out = work.resolve("out");
    tools.run(
        "skopeo",
        "copy",
        "--src-tls-verify=false",
        "--src-creds",
        READ_CREDS,
        "docker://" + registry + "/acme/skopeo-app:v1",
        "oci:" + out + ":app");
    assertEquals(source, rawManifestDigest("oci:" + out + ":app"));
  }

  @Test
  void buildahPushesAndPodmanPullsAndRunsWithDeviceCredentials() throws Exception {
    tools.run(
        "buildah",
        "push",
        "--tls-verify=false",
        "--creds",
        PUSH_CREDS,
        "localhost/flotilla-app:latest",
        "docker://" + registry + "/acme/built:v1");
    tools.run(
        "buildah",
        "push",
        "--tls-verify=false",
        "--creds",
        PUSH_CREDS,
        "--format",
        "v2s2",
        "localhost/flotilla-app:latest",
        "docker://" + registry + "/acme/built-docker:v1");
    String dockerManifest =
        tools.run(
            "skopeo",
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            READ_CREDS,
            "docker://" + registry + "/acme/built-docker:v1");
    assertTrue(
        dockerManifest.contains("application/vnd.docker.distribution.manifest.v2+json"),
        dockerManifest);

    for (String image : List.of("acme/built:v1", "acme/built-docker:v1")) {
      tools.run(
          "podman", "pull", "--tls-verify=false", "--creds", DEVICE_CREDS, registry + "/" + image);
      String output =
          tools.run(
              "podman",
              "run",
              "--rm",
              "--network",
              "none",
              registry + "/" + image,
              "cat",
              "/hello.txt");
      assertEquals(GREETING, output);
    }
  }

  @Test
  void skopeoCopiesANonImageArtifact() throws Exception {
    Path layout = Files.createDirectories(work.resolve("artifact"));
    Files.writeString(layout.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
    byte[] empty = "{}".getBytes(StandardCharsets.UTF_8);
    byte[] bundle =
        "docker-compose.yml bundle stand-in".repeat(100).getBytes(StandardCharsets.UTF_8);
    byte[] bundleIndex = "{\"docker-compose.yml\":\"sha256:00\"}".getBytes(StandardCharsets.UTF_8);
    String emptyDigest = writeBlob(layout, empty);
    String bundleDigest = writeBlob(layout, bundle);
    Map<String, Object> manifest = new LinkedHashMap<>();
    manifest.put("schemaVersion", 2);
    manifest.put("mediaType", RegistryProtocolTest.OCI_MANIFEST);
    manifest.put("artifactType", "application/vnd.fio+compose-app");
    manifest.put(
        "config",
        Map.of(
            "mediaType",
            "application/vnd.oci.empty.v1+json",
            "digest",
            emptyDigest,
            "size",
            empty.length));
    manifest.put(
        "layers",
        List.of(
            Map.of(
                "mediaType",
                "application/octet-stream",
                "digest",
                bundleDigest,
                "size",
                bundle.length,
                "annotations",
                Map.of(
                    "org.foundries.app.bundle.index.digest", Digest.of(bundleIndex).toString(),
                    "org.foundries.app.bundle.index.size", String.valueOf(bundleIndex.length)))));
    manifest.put("annotations", Map.of("compose-app", "v1"));
    byte[] manifestBytes = RegistryJson.MAPPER.writeValueAsBytes(manifest);
    String manifestDigest = writeBlob(layout, manifestBytes);
    Files.write(
        layout.resolve("index.json"),
        RegistryJson.MAPPER.writeValueAsBytes(
            Map.of(
                "schemaVersion",
                2,
                "manifests",
                List.of(
                    Map.of(
                        "mediaType",
                        RegistryProtocolTest.OCI_MANIFEST,
                        "digest",
                        manifestDigest,
                        "size",
                        manifestBytes.length,
                        "annotations",
                        Map.of("org.opencontainers.image.ref.name", "bundle"))))));

    tools.run(
        "skopeo",
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        PUSH_CREDS,
        "oci:" + layout + ":bundle",
        "docker://" + registry + "/acme/compose-app:v1");
    String raw =
        tools.run(
            "skopeo",
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            DEVICE_CREDS,
            "docker://" + registry + "/acme/compose-app@" + manifestDigest);
    assertEquals(new String(manifestBytes, StandardCharsets.UTF_8), raw);

    Path out = work.resolve("artifact-out");
    tools.run(
        "skopeo",
        "copy",
        "--src-tls-verify=false",
        "--src-creds",
        DEVICE_CREDS,
        "docker://" + registry + "/acme/compose-app:v1",
        "oci:" + out + ":bundle");
    assertArrayEquals(
        bundle, Files.readAllBytes(out.resolve("blobs/sha256").resolve(bundleDigest.substring(7))));
  }

  @Test
  void skopeoDeletesThroughTheTokenFlow() throws Exception {
    tools.run(
        "skopeo",
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        PUSH_CREDS,
        "containers-storage:localhost/flotilla-busybox:latest",
        "docker://" + registry + "/acme/doomed:v1");
    tools.run(
        "skopeo",
        "delete",
        "--tls-verify=false",
        "--creds",
        PUSH_CREDS,
        "docker://" + registry + "/acme/doomed:v1");
    assertEquals(
        404,
        RegistryHttp.basic(server, RegistryServer.READER)
            .send("GET", "/v2/acme/doomed/manifests/v1")
            .statusCode());
  }

  /**
   * skopeo mounts a blob it knows to be in another repository of the same registry (its blob info
   * cache learnt that from the first push), asking for a token with both repositories' scopes.
   */
  @Test
  void skopeoCopyBetweenRepositoriesMountsTheLayers() throws Exception {
    tools.run(
        "skopeo",
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        PUSH_CREDS,
        "containers-storage:localhost/flotilla-app:latest",
        "docker://" + registry + "/acme/mount-a:v1");
    tools.run(
        "skopeo",
        "copy",
        "--src-tls-verify=false",
        "--src-creds",
        PUSH_CREDS,
        "--dest-tls-verify=false",
        "--dest-creds",
        PUSH_CREDS,
        "docker://" + registry + "/acme/mount-a:v1",
        "docker://" + registry + "/acme/mount-b:v1");
    List<String> mounts =
        server.served.stream()
            .filter(
                line ->
                    line.contains(" /v2/acme/mount-b/blobs/uploads/?") && line.contains("mount="))
            .toList();
    assertFalse(mounts.isEmpty(), () -> String.join("\n", server.served));
    assertTrue(
        mounts.stream().allMatch(line -> line.startsWith("201 ")), String.join("\n", mounts));
    assertEquals(
        rawManifestDigest(
            "docker://" + registry + "/acme/mount-a:v1",
            "--tls-verify=false",
            "--creds",
            READ_CREDS),
        rawManifestDigest(
            "docker://" + registry + "/acme/mount-b:v1",
            "--tls-verify=false",
            "--creds",
            READ_CREDS));
  }

  static String writeBlob(Path layout, byte[] content) throws Exception {
    Digest digest = Digest.of(content);
    Path blob = layout.resolve("blobs/sha256").resolve(digest.hex());
    Files.createDirectories(blob.getParent());
    Files.write(blob, content);
    return digest.toString();
  }
}
