package io.flotilla.registry;

import static io.flotilla.registry.RegistryHttp.errorCode;
import static io.flotilla.registry.RegistryHttp.header;
import static io.flotilla.registry.RegistryHttp.imageManifest;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deletes, mounts and lookups through the challenge → token → retry flow, as a client that only
 * follows it.
 */
class TokenFlowTest {
  @TempDir static Path root;
  static RegistryServer server;
  static RegistryHttp pusher;

  @BeforeAll
  static void start() throws Exception {
    server = RegistryServer.start(root);
    pusher = RegistryHttp.basic(server, RegistryServer.PUSHER);
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  private static String pushImage(String repository, String tag, String content) throws Exception {
    String config = pusher.pushBlob(repository, content.getBytes(StandardCharsets.UTF_8));
    byte[] manifest = imageManifest(config, content.length(), Map.of(), Map.of());
    HttpResponse<byte[]> put =
        pusher.putManifest(repository, tag, RegistryProtocolTest.OCI_MANIFEST, manifest);
    assertEquals(201, put.statusCode());
    return config;
  }

  @Test
  void deletesOfManifestsTagsAndBlobsSucceedThroughTheChallenge() throws Exception {
    String config = pushImage("acme/deleted", "v1", "{\"delete\":1}");
    String digest =
        header(pusher.send("HEAD", "/v2/acme/deleted/manifests/v1"), "Docker-Content-Digest");
    ChallengeFollower client = new ChallengeFollower(server, RegistryServer.PUSHER);

    assertEquals(202, client.send("DELETE", "/v2/acme/deleted/manifests/" + digest).statusCode());
    assertEquals(List.of("repository:acme/deleted:delete"), client.lastScopes);
    assertEquals(404, pusher.send("GET", "/v2/acme/deleted/manifests/v1").statusCode());
    assertEquals(202, client.send("DELETE", "/v2/acme/deleted/blobs/" + config).statusCode());
    assertEquals(404, pusher.send("HEAD", "/v2/acme/deleted/blobs/" + config).statusCode());

    pushImage("acme/deleted", "v2", "{\"delete\":2}");
    assertEquals(202, client.send("DELETE", "/v2/acme/deleted/manifests/v2").statusCode());
    assertEquals(404, pusher.send("GET", "/v2/acme/deleted/manifests/v2").statusCode());
  }

  @Test
  void aReaderFollowingTheChallengeStillCannotDelete() throws Exception {
    pushImage("acme/kept", "v1", "{\"kept\":1}");
    HttpResponse<byte[]> refused =
        new ChallengeFollower(server, RegistryServer.READER)
            .send("DELETE", "/v2/acme/kept/manifests/v1");
    assertEquals(401, refused.statusCode());
    assertEquals(
        "insufficient_scope",
        ChallengeFollower.parse(header(refused, "WWW-Authenticate")).get("error"));
    assertEquals(200, pusher.send("GET", "/v2/acme/kept/manifests/v1").statusCode());
  }

  @Test
  void aMountFollowingTheChallengeIsCreated() throws Exception {
    String config = pushImage("acme/mount-from", "v1", "{\"mount\":1}");
    ChallengeFollower client = new ChallengeFollower(server, RegistryServer.PUSHER);
    String mount =
        "/v2/acme/mount-to/blobs/uploads/?mount="
            + config
            + "&from="
            + URLEncoder.encode("acme/mount-from", StandardCharsets.UTF_8);

    HttpResponse<byte[]> mounted = client.send("POST", mount);
    assertEquals(
        201, mounted.statusCode(), () -> new String(mounted.body(), StandardCharsets.UTF_8));
    assertEquals(
        List.of("repository:acme/mount-to:pull,push", "repository:acme/mount-from:pull"),
        client.lastScopes);
    assertEquals("/v2/acme/mount-to/blobs/" + config, header(mounted, "Location"));
    assertEquals(200, pusher.send("HEAD", "/v2/acme/mount-to/blobs/" + config).statusCode());
  }

  @Test
  void theTokenForAMountCarriesBothRepositories() throws Exception {
    String token =
        RegistryAuthTest.token(
            server,
            RegistryServer.PUSHER,
            "repository:acme/mount-to:pull,push repository:acme/mount-from:pull");
    assertEquals(
        Map.of("acme/mount-to", List.of("pull", "push"), "acme/mount-from", List.of("pull")),
        ChallengeFollower.access(token));
  }

  @Test
  void aMountFromAnotherFactoryFallsBackToAnUploadAfterTheChallenge() throws Exception {
    String config = pushImage("acme/private", "v1", "{\"private\":1}");
    HttpResponse<byte[]> response =
        new ChallengeFollower(server, RegistryServer.OTHER_PUSHER)
            .send("POST", "/v2/globex/copy/blobs/uploads/?mount=" + config + "&from=acme/private");
    assertEquals(202, response.statusCode());
    assertEquals(
        404,
        RegistryHttp.basic(server, RegistryServer.OTHER_PUSHER)
            .send("HEAD", "/v2/globex/copy/blobs/" + config)
            .statusCode());
  }

  @Test
  void unknownAndMalformedReferencesAreManifestUnknown() throws Exception {
    pushImage("acme/lookup", "v1", "{\"lookup\":1}");
    ChallengeFollower client = new ChallengeFollower(server, RegistryServer.READER);
    for (String reference :
        List.of(
            "v2",
            "-not-a-tag",
            "sha256:abc",
            "md5:0123",
            "sha256:" + "0".repeat(64),
            "a".repeat(129),
            "tag%20with%20space")) {
      for (String method : List.of("GET", "HEAD")) {
        HttpResponse<byte[]> response =
            client.send(method, "/v2/acme/lookup/manifests/" + reference);
        assertEquals(404, response.statusCode(), method + " " + reference);
        if (method.equals("GET")) {
          assertEquals("MANIFEST_UNKNOWN", errorCode(response), reference);
        }
      }
    }
    assertEquals(200, client.send("GET", "/v2/acme/lookup/manifests/v1").statusCode());
  }
}
