package io.flotilla.protocol.composeapp;

import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.protocol.oci.Descriptor;
import io.flotilla.protocol.oci.Digest;
import io.flotilla.protocol.oci.ImageManifest;
import io.flotilla.protocol.oci.MediaTypes;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ComposeAppManifestTest {

  private static final byte[] COMPOSE =
      """
            services:
              web:
                image: web
                build: ./web
                labels:
                  com.example.role: front
                environment:
                  PORT: 8080
              db:
                image: hub/acme/db:1
            """
          .getBytes(StandardCharsets.UTF_8);

  @Test
  void builtManifestReadsBackWithItsBundleIndexAndLayersMeta() {
    AppBundle.Packed packed =
        AppBundle.write(Map.of("docker-compose.yml", AppBundle.Entry.of(COMPOSE)));
    LayersMeta meta =
        new LayersMeta(
            Map.of(
                "amd64",
                Map.of(Digest.of(new byte[] {1}).toString(), new LayersMeta.LayerUsage(10, 40))));
    byte[] metaBytes = meta.toBytes();
    ImageManifest manifest =
        ComposeAppManifest.create(
            packed.bundleDigest(),
            packed.bundle().length,
            packed.index(),
            Descriptor.of(MediaTypes.JSON, metaBytes));
    byte[] bytes = ComposeAppManifest.toBytes(manifest);
    String json = new String(bytes, StandardCharsets.UTF_8);
    assertTrue(json.contains("\"artifactType\":\"application/vnd.fio+compose-app\""), json);
    assertTrue(
        json.contains(
            "\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\""),
        json);

    ComposeAppManifest read = ComposeAppManifest.parse(bytes);
    assertEquals(packed.bundleDigest(), read.bundle().digest());
    assertEquals(packed.index().digest(), read.bundleIndex().digest());
    assertEquals(packed.index().toBytes().length, read.bundleIndex().size());
    assertEquals(Digest.of(metaBytes), read.layersMeta().orElseThrow().digest());
    assertEquals(
        40,
        LayersMeta.parse(metaBytes)
            .architectures()
            .get("amd64")
            .values()
            .iterator()
            .next()
            .usage());
  }

  @Test
  void refusesOversizedForeignAndIncompleteManifests() {
    byte[] big =
        ("{\"schemaVersion\":2,\"x\":\"" + "a".repeat(ComposeAppFormat.MAX_MANIFEST_BYTES) + "\"}")
            .getBytes(StandardCharsets.UTF_8);
    assertTrue(
        assertThrows(ComposeAppException.class, () -> ComposeAppManifest.parse(big))
            .getMessage()
            .contains("smaller than"));

    byte[] image =
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"layers\":[]}"
            .getBytes(StandardCharsets.UTF_8);
    assertTrue(
        assertThrows(ComposeAppException.class, () -> ComposeAppManifest.parse(image))
            .getMessage()
            .contains("not a compose app"));

    String noIndex =
        "{\"schemaVersion\":2,\"artifactType\":\"application/vnd.fio+compose-app\",\"layers\":[{\"mediaType\":\"application/octet-stream\",\"size\":1,\"digest\":\""
            + Digest.of(new byte[0])
            + "\"}]}";
    assertTrue(
        assertThrows(
                ComposeAppException.class,
                () -> ComposeAppManifest.parse(noIndex.getBytes(StandardCharsets.UTF_8)))
            .getMessage()
            .contains("lacks the annotations"));
    assertThrows(
        ComposeAppException.class,
        () -> ComposeAppManifest.parse("not json".getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void pinningRewritesImagesDropsBuildAndAddsStableConfigHashes() {
    ComposeFile original = ComposeFile.parse(COMPOSE);
    String pinnedRef = "hub/acme/web@sha256:" + "1".repeat(64);
    ComposeFile pinned = original.pinned(Map.of("web", pinnedRef));
    assertEquals(pinnedRef, pinned.serviceImages().get("web"));
    assertEquals("hub/acme/db:1", pinned.serviceImages().get("db"));
    assertFalse(new String(pinned.toBytes(), StandardCharsets.UTF_8).contains("build"));

    ComposeFile reread = ComposeFile.parse(pinned.toBytes());
    assertEquals(
        reread.configHashes(), reread.configHashLabels(), "labels match what the agent recomputes");
    assertEquals(List.of("web", "db"), List.copyOf(reread.configHashLabels().keySet()));
    assertArrayEquals(
        pinned.toBytes(), reread.pinned(Map.of()).toBytes(), "pinning twice changes nothing");
    assertNotEquals(
        reread.configHashes().get("web"),
        ComposeFile.parse(COMPOSE)
            .pinned(Map.of("web", "other@sha256:" + "2".repeat(64)))
            .configHashes()
            .get("web"));
  }

  @Test
  void configHashIgnoresItsOwnLabelInListForm() {
    ComposeFile list =
        ComposeFile.parse(
            "services:\n  a:\n    image: x\n    labels: [\"k=v\"]\n"
                .getBytes(StandardCharsets.UTF_8));
    ComposeFile pinned = ComposeFile.parse(list.pinned(Map.of()).toBytes());
    assertEquals(pinned.configHashes(), pinned.configHashLabels());
    assertEquals(list.configHashes(), pinned.configHashes());
  }

  @Test
  void refusesComposeFilesWithoutServices() {
    assertTrue(
        assertThrows(
                ComposeAppException.class,
                () -> ComposeFile.parse("version: '3'\n".getBytes(StandardCharsets.UTF_8)))
            .getMessage()
            .contains("no services"));
    assertTrue(
        assertThrows(
                ComposeAppException.class,
                () -> ComposeFile.parse("services: [\n".getBytes(StandardCharsets.UTF_8)))
            .getMessage()
            .contains("invalid compose YAML"));
    assertThrows(
        ComposeAppException.class,
        () -> ComposeFile.parse("- a\n".getBytes(StandardCharsets.UTF_8)));
  }
}
