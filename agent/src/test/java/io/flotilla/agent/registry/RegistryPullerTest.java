package io.flotilla.agent.registry;

import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.agent.store.ContentStore;
import io.flotilla.agent.testing.TestRegistry;
import io.flotilla.protocol.device.HubCredentials;
import io.flotilla.protocol.oci.BearerChallenge;
import io.flotilla.protocol.oci.Digest;
import io.flotilla.protocol.oci.MediaTypes;
import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RegistryPullerTest {

  private static TestRegistry registry;

  @TempDir Path tmp;

  @BeforeAll
  static void start() throws IOException {
    registry = new TestRegistry();
  }

  @AfterAll
  static void stop() {
    registry.close();
  }

  private static RegistryPuller client(String secret) {
    return new RegistryPuller(
        HttpClient.newHttpClient(),
        host -> "http",
        () -> new HubCredentials(TestRegistry.USER, secret));
  }

  @Test
  void followsTheBearerChallengeWithHubCredentialsAndReusesTheToken() throws IOException {
    byte[] manifest = "{\"schemaVersion\":2}".getBytes(StandardCharsets.UTF_8);
    Digest digest = registry.put("acme/app", MediaTypes.OCI_MANIFEST, manifest);
    byte[] blob = "layer bytes".getBytes(StandardCharsets.UTF_8);
    Digest blobDigest = registry.put("acme/app", MediaTypes.OCTET_STREAM, blob);
    int tokensBefore = registry.tokenRequests.get();

    RegistryPuller client = client(TestRegistry.SECRET);
    RegistryPuller.Manifest fetched = client.manifest(registry.host(), "acme/app", digest);
    assertArrayEquals(manifest, fetched.bytes());
    assertEquals(MediaTypes.OCI_MANIFEST, fetched.mediaType());
    Path stored =
        new ContentStore(tmp)
            .fetch(
                blobDigest,
                blob.length,
                client.blob(registry.host(), "acme/app", blobDigest),
                p -> {});
    assertArrayEquals(blob, Files.readAllBytes(stored));
    assertEquals(tokensBefore + 1, registry.tokenRequests.get(), "one token per repository");
  }

  @Test
  void wrongCredentialsAndMissingContentAreClearErrors() {
    Digest digest =
        registry.put("acme/other", MediaTypes.OCI_MANIFEST, "{}".getBytes(StandardCharsets.UTF_8));
    IOException denied =
        assertThrows(
            IOException.class,
            () -> client("wrong").manifest(registry.host(), "acme/other", digest));
    assertTrue(denied.getMessage().contains("token endpoint"), denied.getMessage());
    IOException missing =
        assertThrows(
            IOException.class,
            () ->
                client(TestRegistry.SECRET)
                    .manifest(registry.host(), "acme/other", Digest.of(new byte[] {9})));
    assertTrue(missing.getMessage().contains("404"), missing.getMessage());
  }

  @Test
  void parsesBearerChallenges() {
    BearerChallenge challenge =
        BearerChallenge.parse(
                "Bearer realm=\"https://r/token\",service=\"flotilla\",scope=\"repository:a/b:pull\"")
            .orElseThrow();
    assertEquals("https://r/token", challenge.realm());
    assertEquals("flotilla", challenge.service());
    assertEquals("repository:a/b:pull", challenge.scope());
    assertTrue(BearerChallenge.parse("Basic realm=\"x\"").isEmpty());
    assertTrue(BearerChallenge.parse("Bearer service=\"x\"").isEmpty());
  }
}
