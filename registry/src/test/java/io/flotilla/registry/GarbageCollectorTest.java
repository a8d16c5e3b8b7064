package io.flotilla.registry;

import static io.flotilla.registry.RegistryHttp.header;
import static io.flotilla.registry.RegistryHttp.imageManifest;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.protocol.oci.Digest;
import io.flotilla.registry.gc.GarbageCollector;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mark and sweep against a running registry: what is referenced or recent survives, the rest goes.
 */
class GarbageCollectorTest {
  @TempDir static Path root;
  static RegistryServer server;
  static RegistryHttp client;

  @BeforeAll
  static void start() throws Exception {
    server = RegistryServer.start(root);
    client = RegistryHttp.basic(server, RegistryServer.PUSHER);
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  /**
   * A collector whose clock is two hours ahead, so everything written so far is past the one-hour
   * grace.
   */
  static GarbageCollector later() {
    return new GarbageCollector(
        root,
        Duration.ofHours(1),
        Duration.ofHours(24),
        Clock.offset(Clock.systemUTC(), Duration.ofHours(2)));
  }

  static int status(String method, String path) throws Exception {
    return client.send(method, path).statusCode();
  }

  @Test
  void sweepsUnreferencedBlobsAndKeepsEverythingAManifestReferences() throws Exception {
    byte[] config = "{\"gc\":1}".getBytes(StandardCharsets.UTF_8);
    byte[] layer = RegistryProtocolTest.randomBytes(50_000, 21);
    byte[] bundleIndex = "{\"docker-compose.yml\":\"sha256:11\"}".getBytes(StandardCharsets.UTF_8);
    byte[] orphan = RegistryProtocolTest.randomBytes(10_000, 22);
    byte[] droppedLayer = RegistryProtocolTest.randomBytes(20_000, 23);
    String configDigest = client.pushBlob("acme/gc", config);
    String layerDigest = client.pushBlob("acme/gc", layer);
    String indexDigest = client.pushBlob("acme/gc", bundleIndex);
    String orphanDigest = client.pushBlob("acme/gc", orphan);
    String droppedDigest = client.pushBlob("acme/gc", droppedLayer);

    Map<String, Object> kept = new LinkedHashMap<>();
    kept.put("schemaVersion", 2);
    kept.put("mediaType", RegistryProtocolTest.OCI_MANIFEST);
    kept.put(
        "config",
        Map.of(
            "mediaType",
            "application/vnd.oci.empty.v1+json",
            "digest",
            configDigest,
            "size",
            config.length));
    kept.put(
        "layers",
        List.of(
            Map.of(
                "mediaType",
                "application/octet-stream",
                "digest",
                layerDigest,
                "size",
                layer.length,
                "annotations",
                Map.of("org.foundries.app.bundle.index.digest", indexDigest))));
    byte[] keptManifest = RegistryJson.MAPPER.writeValueAsBytes(kept);
    assertEquals(
        201,
        client
            .putManifest("acme/gc", "v1", RegistryProtocolTest.OCI_MANIFEST, keptManifest)
            .statusCode());
    byte[] droppedManifest =
        imageManifest(
            configDigest, config.length, Map.of(droppedDigest, droppedLayer.length), Map.of());
    String droppedManifestDigest = Digest.of(droppedManifest).toString();
    client.putManifest("acme/gc", "v0", RegistryProtocolTest.OCI_MANIFEST, droppedManifest);
    assertEquals(202, status("DELETE", "/v2/acme/gc/manifests/" + droppedManifestDigest));
    String liveSession = header(client.send("POST", "/v2/acme/gc/blobs/uploads/"), "Location");
    client.send("PATCH", liveSession, "partial".getBytes(), Map.of());

    GarbageCollector.Report dryRun = later().collect(true);
    assertTrue(dryRun.blobsDeleted() >= 3, dryRun.toString());
    assertEquals(
        200, status("GET", "/v2/acme/gc/blobs/" + orphanDigest), "a dry run deletes nothing");

    GarbageCollector.Report report = later().collect(false);
    assertEquals(dryRun.blobsDeleted(), report.blobsDeleted());
    assertTrue(report.bytesFreed() >= orphan.length + droppedLayer.length, report.toString());

    assertEquals(404, status("GET", "/v2/acme/gc/blobs/" + orphanDigest));
    assertEquals(404, status("GET", "/v2/acme/gc/blobs/" + droppedDigest));
    assertEquals(404, status("GET", "/v2/acme/gc/manifests/" + droppedManifestDigest));
    assertArrayEquals(keptManifest, client.send("GET", "/v2/acme/gc/manifests/v1").body());
    assertArrayEquals(layer, client.send("GET", "/v2/acme/gc/blobs/" + layerDigest).body());
    assertArrayEquals(config, client.send("GET", "/v2/acme/gc/blobs/" + configDigest).body());
    assertArrayEquals(
        bundleIndex,
        client.send("GET", "/v2/acme/gc/blobs/" + indexDigest).body(),
        "the bundle index is referenced through an annotation only");
    assertEquals(204, status("GET", liveSession), "a live upload session survives");
  }

  @Test
  void recentBlobsSurviveSoAPushInProgressCompletes() throws Exception {
    byte[] config = "{\"gc\":2}".getBytes(StandardCharsets.UTF_8);
    String configDigest = client.pushBlob("acme/gc-race", config);
    GarbageCollector now =
        new GarbageCollector(root, Duration.ofHours(1), Duration.ofHours(24), Clock.systemUTC());
    now.collect(false);
    assertEquals(200, status("HEAD", "/v2/acme/gc-race/blobs/" + configDigest));
    byte[] manifest = imageManifest(configDigest, config.length, Map.of(), Map.of());
    assertEquals(
        201,
        client
            .putManifest("acme/gc-race", "v1", RegistryProtocolTest.OCI_MANIFEST, manifest)
            .statusCode());
    later().collect(false);
    assertEquals(200, status("GET", "/v2/acme/gc-race/manifests/v1"));
    assertEquals(200, status("GET", "/v2/acme/gc-race/blobs/" + configDigest));
  }

  @Test
  void abandonedUploadSessionsArePurgedAfterTheExpiry() throws Exception {
    String session = header(client.send("POST", "/v2/acme/gc-uploads/blobs/uploads/"), "Location");
    client.send("PATCH", session, "abandoned".getBytes(), Map.of());
    GarbageCollector muchLater =
        new GarbageCollector(
            root,
            Duration.ofHours(1),
            Duration.ofHours(24),
            Clock.offset(Clock.systemUTC(), Duration.ofDays(2)));
    assertTrue(muchLater.collect(false).uploadsPurged() >= 1);
    assertEquals(404, status("GET", session));
  }
}
