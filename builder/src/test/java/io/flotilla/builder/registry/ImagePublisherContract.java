package io.flotilla.builder.registry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.flotilla.builder.image.BusyboxBaseImage;
import io.flotilla.protocol.Json;
import io.flotilla.protocol.oci.Descriptor;
import io.flotilla.protocol.oci.Digest;
import io.flotilla.protocol.oci.ImageManifest;
import io.flotilla.protocol.oci.MediaTypes;
import io.flotilla.registry.RegistryRoutes;
import io.flotilla.registry.RegistrySettings;
import io.flotilla.registry.auth.RegistryAction;
import io.flotilla.registry.auth.RegistryPrincipal;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every {@link ImagePublisher} must do, against a real Flotilla registry served over HTTP on a
 * free loopback port: what it publishes is readable by skopeo over {@code /v2/}, and what the
 * registry refuses leaves nothing behind. Subclasses say how the publisher reaches that registry.
 */
abstract class ImagePublisherContract {

  static final String USER = "ci-token";
  static final String PASSWORD = "push-secret";

  @TempDir static Path dir;
  static ActorTestKit testKit;
  static RegistrySettings settings;
  static ServerBinding binding;
  static String host;

  /**
   * The publisher under test, for the registry at {@link #host} whose storage is {@link #settings}'
   * root.
   */
  abstract ImagePublisher publisher();

  @BeforeAll
  static void startRegistry() throws Exception {
    // The node's application.conf on this classpath names the gateway's parsing error handler,
    // absent here.
    Config config =
        ConfigFactory.parseString(
                """
        pekko.loglevel = WARNING
        pekko.http.server.parsing.error-handler = "org.apache.pekko.http.DefaultParsingErrorHandler$"
        """)
            .withFallback(ConfigFactory.load());
    testKit = ActorTestKit.create("publisher-test", config);
    settings = RegistrySettings.fromConfig(config, dir.resolve("registry"));
    RegistryPrincipal pusher =
        new RegistryPrincipal("token:ci", Map.of("acme", Set.of(RegistryAction.PUSH)));
    RegistryRoutes routes =
        new RegistryRoutes(
            testKit.system(),
            settings,
            (user, password) ->
                CompletableFuture.completedFuture(
                    USER.equals(user) && PASSWORD.equals(password)
                        ? Optional.of(pusher)
                        : Optional.empty()));
    binding =
        Http.get(testKit.system())
            .newServerAt("127.0.0.1", 0)
            .bind(routes.route())
            .toCompletableFuture()
            .get(30, TimeUnit.SECONDS);
    host = "127.0.0.1:" + binding.localAddress().getPort();
  }

  @AfterAll
  static void stopRegistry() throws Exception {
    if (binding != null) {
      binding.terminate(Duration.ofSeconds(5)).toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
    if (testKit != null) {
      testKit.shutdownTestKit();
    }
  }

  static RegistryEndpoints endpoints() {
    return new RegistryEndpoints(host, URI.create("http://" + host), USER, PASSWORD, Set.of());
  }

  @Test
  void anImageItPublishesIsPulledBySkopeoOverHttp() throws Exception {
    RegistryClient client =
        new RegistryClient(HttpClient.newHttpClient(), endpoints(), publisher());
    Digest digest = BusyboxBaseImage.push(client, host, "acme/busybox", "1");

    RegistryClient.Manifest stored = publisher().manifest("acme/busybox", "1").orElseThrow();
    assertEquals(digest, stored.digest());
    assertEquals(MediaTypes.OCI_MANIFEST, stored.mediaType());
    ImageManifest manifest = io.flotilla.protocol.oci.OciManifests.readManifest(stored.bytes());
    assertTrue(publisher().hasBlob("acme/busybox", manifest.config().digest()));
    assertTrue(publisher().hasBlob("acme/busybox", manifest.layers().get(0).digest()));

    Assumptions.assumeTrue(
        Files.isExecutable(Path.of("/usr/bin/skopeo")) || "true".equals(System.getenv("CI")),
        "skopeo is not installed");
    String raw =
        skopeo(
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            USER + ":" + PASSWORD,
            "docker://" + host + "/acme/busybox:1");
    assertEquals(digest, Digest.of(raw.getBytes(StandardCharsets.UTF_8)));
    Path layout = dir.resolve("pulled-" + getClass().getSimpleName());
    skopeo(
        "copy",
        "--src-tls-verify=false",
        "--src-creds",
        USER + ":" + PASSWORD,
        "docker://" + host + "/acme/busybox:1",
        "oci:" + layout + ":1");
    Path layer = layout.resolve("blobs/sha256").resolve(manifest.layers().get(0).digest().hex());
    assertEquals(manifest.layers().get(0).digest(), Digest.of(layer));
  }

  @Test
  void aBlobReadsBackAndPublishingItAgainChangesNothing() throws Exception {
    byte[] content = ("a blob of " + getClass().getSimpleName()).getBytes(StandardCharsets.UTF_8);
    Digest digest = Digest.of(content);
    assertFalse(publisher().hasBlob("acme/blobs", digest));
    publisher().pushBlob("acme/blobs", digest, content);
    Path file = Files.write(dir.resolve("blob-" + getClass().getSimpleName()), content);
    publisher().pushBlob("acme/blobs", digest, file);
    assertTrue(publisher().hasBlob("acme/blobs", digest));
    assertArrayEquals(content, publisher().blob("acme/blobs", digest));
    Path copy = dir.resolve("copy-" + getClass().getSimpleName());
    publisher().blobToFile("acme/blobs", digest, copy);
    assertArrayEquals(content, Files.readAllBytes(copy));
  }

  @Test
  void aBlobThatDoesNotMatchItsDigestIsRefusedAndNotStored() throws Exception {
    Digest claimed = Digest.of("what was promised".getBytes(StandardCharsets.UTF_8));
    RegistryException refused =
        assertThrows(
            RegistryException.class,
            () ->
                publisher()
                    .pushBlob(
                        "acme/liar", claimed, "what was sent".getBytes(StandardCharsets.UTF_8)));
    assertFalse(refused.retryable(), refused.getMessage());
    assertFalse(publisher().hasBlob("acme/liar", claimed));
  }

  @Test
  void aManifestNamingABlobTheRepositoryLacksIsRefusedAndNotStored() throws Exception {
    byte[] config =
        "{\"architecture\":\"amd64\",\"os\":\"linux\"}".getBytes(StandardCharsets.UTF_8);
    publisher().pushBlob("acme/incomplete", Digest.of(config), config);
    Digest missing = Digest.of("never pushed".getBytes(StandardCharsets.UTF_8));
    ImageManifest manifest =
        new ImageManifest(
            2,
            MediaTypes.OCI_MANIFEST,
            null,
            Descriptor.of(MediaTypes.OCI_CONFIG, config),
            List.of(Descriptor.of(MediaTypes.OCI_LAYER_GZIP, missing, 12)),
            null,
            null);
    RegistryException refused =
        assertThrows(
            RegistryException.class,
            () ->
                publisher()
                    .pushManifest(
                        "acme/incomplete", "1", MediaTypes.OCI_MANIFEST, Json.toBytes(manifest)));
    assertFalse(refused.retryable(), refused.getMessage());
    assertTrue(refused.getMessage().contains("MANIFEST_BLOB_UNKNOWN"), refused.getMessage());
    assertEquals(Optional.empty(), publisher().manifest("acme/incomplete", "1"));
  }

  @Test
  void aMissingManifestIsEmpty() throws Exception {
    assertEquals(Optional.empty(), publisher().manifest("acme/nothing", "1"));
    assertEquals(
        Optional.empty(), publisher().manifest("acme/nothing", Digest.of(new byte[0]).toString()));
  }

  private static String skopeo(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("skopeo", "--tmpdir", dir.toString()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().put("REGISTRY_AUTH_FILE", dir.resolve("auth.json").toString());
    Process process = builder.start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(120, TimeUnit.SECONDS), "skopeo did not finish: " + command);
    assertEquals(0, process.exitValue(), String.join(" ", command) + "\n" + output);
    return output;
  }
}
