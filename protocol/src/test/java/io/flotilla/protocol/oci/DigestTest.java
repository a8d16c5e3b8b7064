package io.flotilla.protocol.oci;

import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.protocol.Json;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class DigestTest {

  @Test
  void parsesAndPrintsSha256() {
    Digest d = Digest.of(new byte[0]);
    assertEquals(
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", d.toString());
    assertEquals(d, Digest.parse(d.toString()));
    assertEquals("e3b0c44298fc", d.shortHex());
  }

  @Test
  void refusesMalformedDigestsWithTheReason() {
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> Digest.parse("sha512:ab"))
            .getMessage()
            .contains("only sha256"));
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> Digest.parse("abc"))
            .getMessage()
            .contains("no algorithm"));
    assertThrows(IllegalArgumentException.class, () -> Digest.parse("sha256:" + "A".repeat(64)));
    assertThrows(IllegalArgumentException.class, () -> Digest.parse("sha256:" + "a".repeat(63)));
    assertThrows(IllegalArgumentException.class, () -> Digest.parse(null));
    assertFalse(Digest.isValid("sha256:../../etc/passwd"));
  }

  @Test
  void manifestRoundTripKeepsDescriptorsAndPlatforms() throws Exception {
    String json =
        """
                {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                 "manifests": [
                   {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 10,
                    "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
                    "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
                   {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 0,
                    "digest": "sha256:2222222222222222222222222222222222222222222222222222222222222222",
                    "platform": {"architecture": "amd64", "os": "linux"}}]}
                """;
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    assertEquals(MediaTypes.OCI_INDEX, OciManifests.declaredMediaType(bytes));
    ImageIndex index = OciManifests.readIndex(bytes);
    assertEquals(
        "2222222222222222222222222222222222222222222222222222222222222222",
        index.forPlatform("linux", "amd64", null).orElseThrow().digest().hex());
    assertTrue(index.forPlatform("linux", "riscv64", null).isEmpty());
    String written = new String(Json.toBytes(index.manifests().get(1)), StandardCharsets.UTF_8);
    assertTrue(written.contains("\"size\":0"), written);
    assertFalse(written.contains("annotations"), written);
    assertTrue(MediaTypes.isIndex(MediaTypes.DOCKER_MANIFEST_LIST));
    assertTrue(MediaTypes.isImageManifest(MediaTypes.DOCKER_MANIFEST));
  }

  @Test
  void badDigestInManifestIsAClearError() {
    byte[] bytes =
        "{\"schemaVersion\":2,\"layers\":[{\"digest\":\"md5:x\",\"size\":1}]}"
            .getBytes(StandardCharsets.UTF_8);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> OciManifests.readManifest(bytes));
    assertTrue(e.getMessage().contains("only sha256"), e.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> OciManifests.declaredMediaType("[1]".getBytes(StandardCharsets.UTF_8)));
    assertEquals(
        List.of(),
        OciManifests.readManifest("{\"schemaVersion\":2}".getBytes(StandardCharsets.UTF_8))
            .layers());
  }
}
