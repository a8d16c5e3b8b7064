package io.flotilla.registry;

import static io.flotilla.registry.RegistryHttp.errorCode;
import static io.flotilla.registry.RegistryHttp.header;
import static io.flotilla.registry.RegistryHttp.imageManifest;
import static io.flotilla.registry.RegistryHttp.json;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.protocol.oci.Digest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RegistryProtocolTest {
  static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";

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

  static byte[] randomBytes(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  @Test
  void baseEndpointAnswersWithApiVersionHeader() throws Exception {
    HttpResponse<byte[]> response = client.send("GET", "/v2/");
    assertEquals(200, response.statusCode());
    assertEquals("registry/2.0", header(response, "Docker-Distribution-API-Version"));
  }

  @Test
  void monolithicPushInPostAndPutThenPullWithHeaders() throws Exception {
    byte[] content = randomBytes(300_000, 1);
    String digest = Digest.of(content).toString();
    HttpResponse<byte[]> started = client.send("POST", "/v2/acme/mono/blobs/uploads/");
    assertEquals(202, started.statusCode());
    String location = header(started, "Location");
    assertTrue(location.startsWith("/v2/acme/mono/blobs/uploads/"), location);
    assertNotNull(header(started, "Docker-Upload-UUID"));

    HttpResponse<byte[]> put =
        client.send(
            "PUT",
            location + "?digest=" + digest,
            content,
            Map.of("Content-Type", "application/octet-stream"));
    assertEquals(201, put.statusCode(), new String(put.body()));
    assertEquals("/v2/acme/mono/blobs/" + digest, header(put, "Location"));
    assertEquals(digest, header(put, "Docker-Content-Digest"));

    HttpResponse<byte[]> get = client.send("GET", "/v2/acme/mono/blobs/" + digest);
    assertEquals(200, get.statusCode());
    assertArrayEquals(content, get.body());
    assertEquals(digest, header(get, "Docker-Content-Digest"));
    assertEquals(String.valueOf(content.length), header(get, "Content-Length"));

    HttpResponse<byte[]> head = client.send("HEAD", "/v2/acme/mono/blobs/" + digest);
    assertEquals(200, head.statusCode());
    assertEquals(String.valueOf(content.length), header(head, "Content-Length"));
    assertEquals(digest, header(head, "Docker-Content-Digest"));
    assertEquals(0, head.body().length);
  }

  @Test
  void singlePostPushAndBlobLargerThanTheServersDefaultEntityLimit() throws Exception {
    byte[] content = randomBytes(20 * 1024 * 1024, 2);
    String digest = client.pushBlob("acme/big", content);
    HttpResponse<byte[]> get = client.send("GET", "/v2/acme/big/blobs/" + digest);
    assertEquals(200, get.statusCode());
    assertEquals(digest, Digest.of(get.body()).toString());
  }

  @Test
  void digestMismatchIsRejectedAndLeavesNoBlob() throws Exception {
    byte[] content = "not what the digest says".getBytes(StandardCharsets.UTF_8);
    String wrong = Digest.of("something else".getBytes(StandardCharsets.UTF_8)).toString();
    HttpResponse<byte[]> response =
        client.send("POST", "/v2/acme/mismatch/blobs/uploads/?digest=" + wrong, content, Map.of());
    assertEquals(400, response.statusCode());
    assertEquals("DIGEST_INVALID", errorCode(response));
    assertEquals(404, client.send("HEAD", "/v2/acme/mismatch/blobs/" + wrong).statusCode());
    assertFalse(
        Files.exists(
            root.resolve("blobs/sha256")
                .resolve(wrong.substring(7, 9))
                .resolve(wrong.substring(7))));
  }

  @Test
  void badDigestsAndNamesAreClientErrors() throws Exception {
    HttpResponse<byte[]> badDigest = client.send("GET", "/v2/acme/app/blobs/sha256:xyz");
    assertEquals(400, badDigest.statusCode());
    assertEquals("DIGEST_INVALID", errorCode(badDigest));
    HttpResponse<byte[]> badName = client.send("GET", "/v2/Acme/App!/manifests/latest");
    assertEquals(400, badName.statusCode());
    assertEquals("NAME_INVALID", errorCode(badName));
    HttpResponse<byte[]> noFactory = client.send("GET", "/v2/app/tags/list");
    assertEquals(400, noFactory.statusCode());
    assertEquals("NAME_INVALID", errorCode(noFactory));
    HttpResponse<byte[]> unknownBlob =
        client.send("GET", "/v2/acme/app/blobs/" + Digest.of(new byte[] {9}));
    assertEquals(404, unknownBlob.statusCode());
    assertEquals("BLOB_UNKNOWN", errorCode(unknownBlob));
    HttpResponse<byte[]> wrongMethod = client.send("POST", "/v2/acme/app/tags/list");
    assertEquals(405, wrongMethod.statusCode());
    assertEquals("UNSUPPORTED", errorCode(wrongMethod));
  }

  @Test
  void chunkedUploadWithStatusAndOutOfOrderChunk() throws Exception {
    byte[] content = randomBytes(250_000, 3);
    HttpResponse<byte[]> started = client.send("POST", "/v2/acme/chunked/blobs/uploads/");
    String location = header(started, "Location");

    HttpResponse<byte[]> first =
        client.send(
            "PATCH",
            location,
            Arrays.copyOfRange(content, 0, 100_000),
            Map.of("Content-Range", "0-99999", "Content-Type", "application/octet-stream"));
    assertEquals(202, first.statusCode(), new String(first.body()));
    assertEquals("0-99999", header(first, "Range"));

    HttpResponse<byte[]> status = client.send("GET", location);
    assertEquals(204, status.statusCode());
    assertEquals("0-99999", header(status, "Range"));
    assertEquals(location, header(status, "Location"));

    HttpResponse<byte[]> outOfOrder =
        client.send(
            "PATCH",
            location,
            Arrays.copyOfRange(content, 150_000, 200_000),
            Map.of("Content-Range", "150000-199999"));
    assertEquals(416, outOfOrder.statusCode());
    assertEquals("0-99999", header(outOfOrder, "Range"));

    HttpResponse<byte[]> second =
        client.send(
            "PATCH",
            location,
            Arrays.copyOfRange(content, 100_000, 200_000),
            Map.of("Content-Range", "100000-199999"));
    assertEquals(202, second.statusCode());
    String digest = Digest.of(content).toString();
    HttpResponse<byte[]> done =
        client.send(
            "PUT",
            header(second, "Location") + "?digest=" + digest,
            Arrays.copyOfRange(content, 200_000, content.length),
            Map.of());
    assertEquals(201, done.statusCode(), new String(done.body()));
    assertArrayEquals(content, client.send("GET", "/v2/acme/chunked/blobs/" + digest).body());
    assertEquals(404, client.send("GET", location).statusCode(), "a completed session is gone");
  }

  @Test
  void uploadSessionsAreScopedToTheirRepositoryAndCancellable() throws Exception {
    String location = header(client.send("POST", "/v2/acme/session-a/blobs/uploads/"), "Location");
    String id = location.substring(location.lastIndexOf('/') + 1);
    HttpResponse<byte[]> elsewhere = client.send("GET", "/v2/acme/session-b/blobs/uploads/" + id);
    assertEquals(404, elsewhere.statusCode());
    assertEquals("BLOB_UPLOAD_UNKNOWN", errorCode(elsewhere));
    assertEquals(204, client.send("DELETE", location).statusCode());
    assertEquals(404, client.send("GET", location).statusCode());
    assertEquals(
        404, client.send("GET", "/v2/acme/session-a/blobs/uploads/not-a-uuid").statusCode());
  }

  @Test
  void rangeRequestsResumeDownloads() throws Exception {
    byte[] content = randomBytes(1_000_000, 4);
    String digest = client.pushBlob("acme/ranges", content);
    String path = "/v2/acme/ranges/blobs/" + digest;

    HttpResponse<byte[]> tail = client.get(path, Map.of("Range", "bytes=400000-"));
    assertEquals(206, tail.statusCode());
    assertEquals("bytes 400000-999999/1000000", header(tail, "Content-Range"));
    assertArrayEquals(Arrays.copyOfRange(content, 400_000, content.length), tail.body());
    assertEquals(digest, header(tail, "Docker-Content-Digest"));

    HttpResponse<byte[]> middle = client.get(path, Map.of("Range", "bytes=10-19"));
    assertEquals(206, middle.statusCode());
    assertArrayEquals(Arrays.copyOfRange(content, 10, 20), middle.body());

    HttpResponse<byte[]> suffix = client.get(path, Map.of("Range", "bytes=-5"));
    assertArrayEquals(
        Arrays.copyOfRange(content, content.length - 5, content.length), suffix.body());

    HttpResponse<byte[]> beyond = client.get(path, Map.of("Range", "bytes=2000000-"));
    assertEquals(416, beyond.statusCode());
    assertEquals("bytes */1000000", header(beyond, "Content-Range"));
  }

  @Test
  void crossRepositoryMountWithinTheFactory() throws Exception {
    byte[] content = randomBytes(5_000, 5);
    String digest = client.pushBlob("acme/mount-source", content);
    HttpResponse<byte[]> mounted =
        client.send(
            "POST",
            "/v2/acme/mount-target/blobs/uploads/?mount=" + digest + "&from=acme/mount-source");
    assertEquals(201, mounted.statusCode());
    assertEquals("/v2/acme/mount-target/blobs/" + digest, header(mounted, "Location"));
    assertArrayEquals(content, client.send("GET", "/v2/acme/mount-target/blobs/" + digest).body());

    HttpResponse<byte[]> unknown =
        client.send(
            "POST",
            "/v2/acme/mount-target/blobs/uploads/?mount="
                + Digest.of(new byte[] {1, 2})
                + "&from=acme/mount-source");
    assertEquals(202, unknown.statusCode(), "an unknown blob falls back to a new upload session");
  }

  @Test
  void manifestPushPullByTagAndDigest() throws Exception {
    byte[] config =
        "{\"architecture\":\"amd64\",\"os\":\"linux\"}".getBytes(StandardCharsets.UTF_8);
    byte[] layer = randomBytes(10_000, 6);
    String configDigest = client.pushBlob("acme/app", config);
    String layerDigest = client.pushBlob("acme/app", layer);
    byte[] manifest =
        imageManifest(configDigest, config.length, Map.of(layerDigest, layer.length), Map.of());
    String digest = Digest.of(manifest).toString();

    HttpResponse<byte[]> put = client.putManifest("acme/app", "v1", OCI_MANIFEST, manifest);
    assertEquals(201, put.statusCode(), new String(put.body()));
    assertEquals(digest, header(put, "Docker-Content-Digest"));
    assertEquals("/v2/acme/app/manifests/" + digest, header(put, "Location"));
    assertNull(header(put, "OCI-Subject"));

    for (String reference : List.of("v1", digest)) {
      HttpResponse<byte[]> get =
          client.get("/v2/acme/app/manifests/" + reference, Map.of("Accept", OCI_MANIFEST));
      assertEquals(200, get.statusCode());
      assertArrayEquals(manifest, get.body());
      assertEquals(OCI_MANIFEST, header(get, "Content-Type"));
      assertEquals(digest, header(get, "Docker-Content-Digest"));
      HttpResponse<byte[]> head = client.send("HEAD", "/v2/acme/app/manifests/" + reference);
      assertEquals(200, head.statusCode());
      assertEquals(String.valueOf(manifest.length), header(head, "Content-Length"));
      assertEquals(digest, header(head, "Docker-Content-Digest"));
    }
    HttpResponse<byte[]> byDigest = client.putManifest("acme/app", digest, OCI_MANIFEST, manifest);
    assertEquals(201, byDigest.statusCode());
    HttpResponse<byte[]> unknown = client.send("GET", "/v2/acme/app/manifests/nope");
    assertEquals(404, unknown.statusCode());
    assertEquals("MANIFEST_UNKNOWN", errorCode(unknown));
  }

  @Test
  void dockerSchema2ManifestAndManifestListAreStoredWithTheirTypes() throws Exception {
    byte[] config = "{\"os\":\"linux\"}".getBytes(StandardCharsets.UTF_8);
    String configDigest = client.pushBlob("acme/docker", config);
    String dockerType = "application/vnd.docker.distribution.manifest.v2+json";
    byte[] manifest =
        RegistryJson.MAPPER.writeValueAsBytes(
            Map.of(
                "schemaVersion",
                2,
                "mediaType",
                dockerType,
                "config",
                Map.of(
                    "mediaType",
                    "application/vnd.docker.container.image.v1+json",
                    "digest",
                    configDigest,
                    "size",
                    config.length),
                "layers",
                List.of()));
    String manifestDigest = Digest.of(manifest).toString();
    assertEquals(
        201, client.putManifest("acme/docker", manifestDigest, dockerType, manifest).statusCode());

    String listType = "application/vnd.docker.distribution.manifest.list.v2+json";
    byte[] list =
        RegistryJson.MAPPER.writeValueAsBytes(
            Map.of(
                "schemaVersion",
                2,
                "mediaType",
                listType,
                "manifests",
                List.of(
                    Map.of(
                        "mediaType",
                        dockerType,
                        "digest",
                        manifestDigest,
                        "size",
                        manifest.length,
                        "platform",
                        Map.of("architecture", "amd64", "os", "linux")))));
    assertEquals(201, client.putManifest("acme/docker", "multi", listType, list).statusCode());
    assertEquals(
        listType, header(client.send("GET", "/v2/acme/docker/manifests/multi"), "Content-Type"));
    assertEquals(
        dockerType,
        header(client.send("GET", "/v2/acme/docker/manifests/" + manifestDigest), "Content-Type"));

    byte[] dangling =
        RegistryJson.MAPPER.writeValueAsBytes(
            Map.of(
                "schemaVersion",
                2,
                "mediaType",
                OCI_INDEX,
                "manifests",
                List.of(
                    Map.of(
                        "mediaType",
                        OCI_MANIFEST,
                        "digest",
                        Digest.of(new byte[] {7}).toString(),
                        "size",
                        1))));
    HttpResponse<byte[]> missingChild =
        client.putManifest("acme/docker", "dangling", OCI_INDEX, dangling);
    assertEquals(400, missingChild.statusCode());
    assertEquals("MANIFEST_BLOB_UNKNOWN", errorCode(missingChild));
  }

  @Test
  void badManifestsAreAnsweredWithSpecErrors() throws Exception {
    HttpResponse<byte[]> notJson =
        client.putManifest("acme/bad", "v1", OCI_MANIFEST, "{not json".getBytes());
    assertEquals(400, notJson.statusCode());
    assertEquals("MANIFEST_INVALID", errorCode(notJson));

    HttpResponse<byte[]> schema1 =
        client.putManifest("acme/bad", "v1", OCI_MANIFEST, "{\"schemaVersion\":1}".getBytes());
    assertEquals("MANIFEST_INVALID", errorCode(schema1));

    HttpResponse<byte[]> noConfig =
        client.putManifest(
            "acme/bad", "v1", OCI_MANIFEST, "{\"schemaVersion\":2,\"layers\":[]}".getBytes());
    assertEquals("MANIFEST_INVALID", errorCode(noConfig));

    byte[] missingBlobs =
        imageManifest(
            Digest.of(new byte[] {1}).toString(),
            1,
            Map.of(Digest.of(new byte[] {2}).toString(), 1),
            Map.of());
    HttpResponse<byte[]> unknownBlobs =
        client.putManifest("acme/bad", "v1", OCI_MANIFEST, missingBlobs);
    assertEquals(400, unknownBlobs.statusCode());
    assertEquals("MANIFEST_BLOB_UNKNOWN", errorCode(unknownBlobs));

    byte[] config = "{}".getBytes();
    String configDigest = client.pushBlob("acme/bad", config);
    byte[] valid = imageManifest(configDigest, 2, Map.of(), Map.of());
    HttpResponse<byte[]> wrongDigest =
        client.putManifest("acme/bad", Digest.of(new byte[] {3}).toString(), OCI_MANIFEST, valid);
    assertEquals(400, wrongDigest.statusCode());
    assertEquals("DIGEST_INVALID", errorCode(wrongDigest));

    HttpResponse<byte[]> badTag = client.putManifest("acme/bad", "-bad-tag", OCI_MANIFEST, valid);
    assertEquals(400, badTag.statusCode());

    byte[] huge = new byte[5 * 1024 * 1024];
    Arrays.fill(huge, (byte) ' ');
    HttpResponse<byte[]> tooLarge = client.putManifest("acme/bad", "huge", OCI_MANIFEST, huge);
    assertEquals(413, tooLarge.statusCode(), new String(tooLarge.body()));
    assertEquals("SIZE_INVALID", errorCode(tooLarge));
    HttpResponse<byte[]> tooLargeChunked =
        client.putManifestChunked("acme/bad", "huge", OCI_MANIFEST, huge);
    assertEquals(413, tooLargeChunked.statusCode(), new String(tooLargeChunked.body()));
    assertEquals("SIZE_INVALID", errorCode(tooLargeChunked));
    assertEquals(
        201,
        client.putManifestChunked("acme/bad", "chunked", OCI_MANIFEST, valid).statusCode(),
        "a manifest within the limit is taken without Content-Length too");

    HttpResponse<byte[]> typeConflict =
        client.putManifest(
            "acme/bad", "v2", "application/vnd.docker.distribution.manifest.v2+json", valid);
    assertEquals("MANIFEST_INVALID", errorCode(typeConflict));
  }

  @Test
  void tagListPagesWithLinkHeader() throws Exception {
    String configDigest = client.pushBlob("acme/paged", "{}".getBytes());
    byte[] manifest = imageManifest(configDigest, 2, Map.of(), Map.of());
    for (String tag : List.of("e", "a", "d", "b", "c")) {
      assertEquals(201, client.putManifest("acme/paged", tag, OCI_MANIFEST, manifest).statusCode());
    }
    HttpResponse<byte[]> all = client.send("GET", "/v2/acme/paged/tags/list");
    assertEquals("[\"a\",\"b\",\"c\",\"d\",\"e\"]", json(all).path("tags").toString());
    assertEquals("acme/paged", json(all).path("name").asText());

    HttpResponse<byte[]> first = client.send("GET", "/v2/acme/paged/tags/list?n=2");
    assertEquals("[\"a\",\"b\"]", json(first).path("tags").toString());
    assertEquals("</v2/acme/paged/tags/list?n=2&last=b>; rel=\"next\"", header(first, "Link"));

    HttpResponse<byte[]> second = client.send("GET", "/v2/acme/paged/tags/list?n=2&last=b");
    assertEquals("[\"c\",\"d\"]", json(second).path("tags").toString());
    HttpResponse<byte[]> last = client.send("GET", "/v2/acme/paged/tags/list?n=2&last=d");
    assertEquals("[\"e\"]", json(last).path("tags").toString());
    assertNull(header(last, "Link"));

    HttpResponse<byte[]> unknown = client.send("GET", "/v2/acme/never-pushed/tags/list");
    assertEquals(404, unknown.statusCode());
    assertEquals("NAME_UNKNOWN", errorCode(unknown));
    assertEquals(400, client.send("GET", "/v2/acme/paged/tags/list?n=-1").statusCode());
  }

  @Test
  void referrersListsManifestsWithSubjectFilteredByArtifactType() throws Exception {
    String configDigest = client.pushBlob("acme/signed", "{}".getBytes());
    byte[] subject = imageManifest(configDigest, 2, Map.of(), Map.of());
    String subjectDigest = Digest.of(subject).toString();
    client.putManifest("acme/signed", "v1", OCI_MANIFEST, subject);

    String emptyDigest = client.pushBlob("acme/signed", "{}".getBytes());
    Map<String, Object> subjectDescriptor =
        Map.of("mediaType", OCI_MANIFEST, "digest", subjectDigest, "size", subject.length);
    Map<String, String> sbomAnnotations =
        Map.of("org.opencontainers.image.created", "2026-01-01T00:00:00Z");
    byte[] sbom =
        referrer(emptyDigest, "application/spdx+json", subjectDescriptor, sbomAnnotations);
    byte[] signature =
        referrer(
            emptyDigest,
            "application/vnd.dev.cosign.artifact.sig.v1+json",
            subjectDescriptor,
            Map.of());
    HttpResponse<byte[]> put =
        client.putManifest("acme/signed", Digest.of(sbom).toString(), OCI_MANIFEST, sbom);
    assertEquals(201, put.statusCode(), new String(put.body()));
    assertEquals(subjectDigest, header(put, "OCI-Subject"));
    client.putManifest("acme/signed", Digest.of(signature).toString(), OCI_MANIFEST, signature);

    HttpResponse<byte[]> all = client.send("GET", "/v2/acme/signed/referrers/" + subjectDigest);
    assertEquals(200, all.statusCode());
    assertEquals(OCI_INDEX, header(all, "Content-Type"));
    JsonNode index = json(all);
    assertEquals(2, index.path("manifests").size());
    assertNull(header(all, "OCI-Filters-Applied"));

    HttpResponse<byte[]> filtered =
        client.send(
            "GET",
            "/v2/acme/signed/referrers/" + subjectDigest + "?artifactType=application/spdx%2Bjson");
    JsonNode only = json(filtered).path("manifests");
    assertEquals(1, only.size());
    assertEquals("application/spdx+json", only.path(0).path("artifactType").asText());
    assertEquals(Digest.of(sbom).toString(), only.path(0).path("digest").asText());
    assertEquals(sbom.length, only.path(0).path("size").asLong());
    assertEquals(
        "2026-01-01T00:00:00Z",
        only.path(0).path("annotations").path("org.opencontainers.image.created").asText());
    assertEquals("artifactType", header(filtered, "OCI-Filters-Applied"));

    HttpResponse<byte[]> none =
        client.send("GET", "/v2/acme/signed/referrers/" + Digest.of(new byte[] {4}));
    assertEquals(200, none.statusCode());
    assertEquals(0, json(none).path("manifests").size());

    assertEquals(
        202, client.send("DELETE", "/v2/acme/signed/manifests/" + Digest.of(sbom)).statusCode());
    assertEquals(
        1,
        json(client.send("GET", "/v2/acme/signed/referrers/" + subjectDigest))
            .path("manifests")
            .size());
  }

  static byte[] referrer(
      String emptyDigest,
      String artifactType,
      Map<String, Object> subject,
      Map<String, String> annotations)
      throws Exception {
    Map<String, Object> manifest = new LinkedHashMap<>();
    manifest.put("schemaVersion", 2);
    manifest.put("mediaType", OCI_MANIFEST);
    manifest.put("artifactType", artifactType);
    manifest.put(
        "config",
        Map.of("mediaType", "application/vnd.oci.empty.v1+json", "digest", emptyDigest, "size", 2));
    manifest.put(
        "layers",
        List.of(
            Map.of(
                "mediaType",
                "application/vnd.oci.empty.v1+json",
                "digest",
                emptyDigest,
                "size",
                2)));
    manifest.put("subject", subject);
    if (!annotations.isEmpty()) {
      manifest.put("annotations", annotations);
    }
    return RegistryJson.MAPPER.writeValueAsBytes(manifest);
  }

  @Test
  void deletesByTagByDigestAndOfBlobs() throws Exception {
    String configDigest = client.pushBlob("acme/deletes", "{}".getBytes());
    byte[] manifest =
        imageManifest(configDigest, 2, Map.of(), Map.of("annotations", Map.of("n", "1")));
    String digest = Digest.of(manifest).toString();
    client.putManifest("acme/deletes", "keep", OCI_MANIFEST, manifest);
    client.putManifest("acme/deletes", "drop", OCI_MANIFEST, manifest);

    assertEquals(202, client.send("DELETE", "/v2/acme/deletes/manifests/drop").statusCode());
    assertEquals(404, client.send("GET", "/v2/acme/deletes/manifests/drop").statusCode());
    assertEquals(
        200,
        client.send("GET", "/v2/acme/deletes/manifests/keep").statusCode(),
        "deleting a tag leaves the manifest and its other tags");
    assertEquals(404, client.send("DELETE", "/v2/acme/deletes/manifests/drop").statusCode());

    assertEquals(202, client.send("DELETE", "/v2/acme/deletes/manifests/" + digest).statusCode());
    assertEquals(404, client.send("GET", "/v2/acme/deletes/manifests/" + digest).statusCode());
    assertEquals(
        404,
        client.send("GET", "/v2/acme/deletes/manifests/keep").statusCode(),
        "deleting by digest removes the tags on it");
    assertEquals(
        "[]", json(client.send("GET", "/v2/acme/deletes/tags/list")).path("tags").toString());

    assertEquals(202, client.send("DELETE", "/v2/acme/deletes/blobs/" + configDigest).statusCode());
    HttpResponse<byte[]> gone = client.send("GET", "/v2/acme/deletes/blobs/" + configDigest);
    assertEquals(404, gone.statusCode());
    assertEquals("BLOB_UNKNOWN", errorCode(gone));
  }

  @Test
  void catalogListsRepositoriesWithPaging() throws Exception {
    String configDigest = client.pushBlob("acme/cat-a", "{}".getBytes());
    byte[] manifest = imageManifest(configDigest, 2, Map.of(), Map.of());
    client.putManifest("acme/cat-a", "v1", OCI_MANIFEST, manifest);
    client.send("POST", "/v2/acme/cat-b/blobs/uploads/?mount=" + configDigest + "&from=acme/cat-a");
    client.putManifest("acme/cat-b", "v1", OCI_MANIFEST, manifest);

    JsonNode all = json(client.send("GET", "/v2/_catalog")).path("repositories");
    List<String> names = RegistryJson.MAPPER.convertValue(all, List.class);
    assertTrue(names.containsAll(List.of("acme/cat-a", "acme/cat-b")), names.toString());
    HttpResponse<byte[]> page = client.send("GET", "/v2/_catalog?n=1&last=acme/cat-a");
    assertEquals("[\"acme/cat-b\"]", json(page).path("repositories").toString());
    assertNotNull(header(page, "Link"));
  }
}
