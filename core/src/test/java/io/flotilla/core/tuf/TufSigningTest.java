package io.flotilla.core.tuf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.protocol.device.TufSignature;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TufSigningTest {

  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Instant EXPIRES = Instant.parse("2027-11-27T00:00:00.123Z");

  @TempDir Path dir;

  @Test
  void keyIsWrittenAsFoundriesGatewayWritesItsKeys() {
    // A key of a root that Foundries' device gateway served (foundriesio/libtufnano
    // test/sample_jsons/ed25519/13.root.json): its id is the sha256 of the key's DER
    // SubjectPublicKeyInfo.
    assertEquals(
        "061277e11d1c8b1c6abe97a774bb6f94295e6e7fa6242d8e86356f0ee8ea3cab",
        Ed25519TufKey.keyIdOf("9b40dd0765651e751355a72aa73d484c3a4415a1c0f644ab4d7005f45ce3d8b8"));
    Ed25519TufKey key = Ed25519TufKey.generate();
    assertEquals(
        "{\"keytype\":\"ED25519\",\"keyval\":{\"public\":\"" + key.publicKeyHex() + "\"}}",
        CanonicalJson.encodeToString(key.publicKeyJson()));
    assertEquals(64, key.publicKeyHex().length());
  }

  @Test
  void signatureVerifiesAndAnyChangeToSignedBreaksIt() throws Exception {
    Ed25519TufKey key = Ed25519TufKey.generate();
    ObjectNode signed = (ObjectNode) MAPPER.readTree(sampleTargets());
    TufSignature signature = key.sign(signed);
    assertEquals(key.keyId(), signature.keyid());
    assertEquals("ed25519", signature.method());
    assertEquals(64, Base64.getDecoder().decode(signature.sig()).length);
    assertTrue(Ed25519TufKey.verify(key.publicKeyHex(), signed, signature));
    assertTrue(
        Ed25519TufKey.verify(
            key.publicKeyHex(),
            MAPPER.readTree(MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(signed)),
            signature),
        "formatting is not part of what is signed");

    List<Consumer<ObjectNode>> changes =
        List.of(
            s -> s.put("version", 353),
            s -> s.put("expires", "2027-11-28T00:00:00Z"),
            s -> s.put("extra", true),
            s ->
                ((ObjectNode) s.get("targets").get("amd64-linux-42").get("custom"))
                    .put("version", "43"),
            s ->
                ((ObjectNode) s.get("targets").get("amd64-linux-42").get("hashes"))
                    .put("sha256", "00"),
            s -> ((ObjectNode) s.get("targets")).remove("amd64-linux-42"));
    for (Consumer<ObjectNode> change : changes) {
      ObjectNode altered = signed.deepCopy();
      change.accept(altered);
      assertFalse(Ed25519TufKey.verify(key.publicKeyHex(), altered, signature), altered.toString());
    }
    Ed25519TufKey other = Ed25519TufKey.generate();
    assertFalse(Ed25519TufKey.verify(other.publicKeyHex(), signed, signature));
    assertFalse(
        Ed25519TufKey.verify(
            other.publicKeyHex(),
            signed,
            new TufSignature(other.keyId(), "ed25519", signature.sig())));
    String hexSig = HexFormat.of().formatHex(Base64.getDecoder().decode(signature.sig()));
    assertTrue(
        Ed25519TufKey.verify(
            key.publicKeyHex(), signed, new TufSignature(key.keyId(), "ed25519", hexSig)));
    assertFalse(
        Ed25519TufKey.verify(
            key.publicKeyHex(), signed, new TufSignature(key.keyId(), "ed25519", "!!")));
  }

  @Test
  void targetsKeysArePrivateFilesKeptAcrossRestarts() throws Exception {
    Ed25519TufKey key = new TargetsKeys(dir).forFactory("acme");
    Path file = dir.resolve("factories/acme/targets-key.pem");
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));

    Ed25519TufKey reloaded = new TargetsKeys(dir).forFactory("acme");
    assertEquals(key.keyId(), reloaded.keyId());
    JsonNode signed = MAPPER.readTree(sampleTargets());
    assertTrue(Ed25519TufKey.verify(key.publicKeyHex(), signed, reloaded.sign(signed)));
    assertFalse(key.toString().contains("PRIVATE"));
    assertFalse(key.toString().contains(key.toPem().substring(28, 60)));

    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Callable<String>> tasks = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        TargetsKeys keys = new TargetsKeys(dir);
        tasks.add(() -> keys.forFactory("race").keyId());
      }
      Set<String> ids = new HashSet<>();
      for (Future<String> id : pool.invokeAll(tasks, 30, TimeUnit.SECONDS)) {
        ids.add(id.get());
      }
      assertEquals(1, ids.size());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void rootNamesTheKeyForEveryRoleAndIsSelfSigned() {
    Ed25519TufKey key = Ed25519TufKey.generate();
    ObjectNode root = TufMetadata.root(1, EXPIRES, key, key, List.of(key, key));
    assertEquals(1, root.get("signatures").size(), "one signature per key id");
    assertEquals(1, root.get("signed").get("keys").size());
    JsonNode signed = root.get("signed");
    assertEquals("Root", signed.get("_type").asText());
    assertEquals(1, signed.get("version").asInt());
    assertEquals("2027-11-27T00:00:00Z", signed.get("expires").asText());
    assertEquals(key.publicKeyJson(), signed.get("keys").get(key.keyId()));
    for (String role : List.of("root", "targets", "snapshot", "timestamp")) {
      assertEquals(1, signed.get("roles").get(role).get("threshold").asInt(), role);
      assertEquals(key.keyId(), signed.get("roles").get(role).get("keyids").get(0).asText(), role);
    }
    assertTrue(TufMetadata.isSignedBy(root, key.publicKeyHex()));
    assertFalse(TufMetadata.isSignedBy(root, Ed25519TufKey.generate().publicKeyHex()));
  }

  @Test
  void aRotatedRootGivesTheRootRoleItsOwnKeyAndCarriesBothSignatures() {
    Ed25519TufKey online = Ed25519TufKey.generate();
    Ed25519TufKey newRoot = Ed25519TufKey.generate();
    ObjectNode root = TufMetadata.root(2, EXPIRES, newRoot, online, List.of(online, newRoot));
    JsonNode signed = root.get("signed");
    assertEquals(2, signed.get("keys").size());
    assertEquals(newRoot.keyId(), signed.get("roles").get("root").get("keyids").get(0).asText());
    for (String role : List.of("targets", "snapshot", "timestamp")) {
      assertEquals(online.keyId(), signed.get("roles").get(role).get("keyids").get(0).asText());
    }
    assertEquals(2, root.get("signatures").size());
    assertTrue(TufMetadata.isSignedBy(root, online.publicKeyHex()));
    assertTrue(TufMetadata.isSignedBy(root, newRoot.publicKeyHex()));
  }

  @Test
  void targetsSnapshotAndTimestampChainTogether() throws Exception {
    Ed25519TufKey key = Ed25519TufKey.generate();
    ObjectNode targets = (ObjectNode) MAPPER.readTree(sampleTargets()).get("targets");
    ObjectNode targetsDoc =
        TufMetadata.signedEnvelope(TufMetadata.targetsSigned(352, EXPIRES, targets), key);
    assertEquals(List.of("signatures", "signed"), fieldNames(targetsDoc));
    assertEquals("Targets", targetsDoc.get("signed").get("_type").asText());
    assertEquals(352, targetsDoc.get("signed").get("version").asLong());
    assertEquals(targets, targetsDoc.get("signed").get("targets"));
    assertTrue(TufMetadata.isSignedBy(targetsDoc, key.publicKeyHex()));

    // What a client checks: the hash in snapshot.json is over the targets.json bytes it downloaded.
    byte[] targetsBody = MAPPER.writeValueAsBytes(targetsDoc);
    ObjectNode snapshot =
        TufMetadata.signedEnvelope(TufMetadata.snapshotSigned(7, EXPIRES, 352, targetsBody), key);
    JsonNode targetsMeta = snapshot.get("signed").get("meta").get("targets.json");
    assertEquals("Snapshot", snapshot.get("signed").get("_type").asText());
    assertEquals(352, targetsMeta.get("version").asLong());
    assertEquals(targetsBody.length, targetsMeta.get("length").asInt());
    assertEquals(
        TufMetadata.sha256Hex(targetsBody), targetsMeta.get("hashes").get("sha256").asText());

    byte[] snapshotBody = MAPPER.writeValueAsBytes(snapshot);
    ObjectNode timestamp =
        TufMetadata.signedEnvelope(TufMetadata.timestampSigned(9, EXPIRES, 7, snapshotBody), key);
    assertEquals("Timestamp", timestamp.get("signed").get("_type").asText());
    assertEquals(
        TufMetadata.sha256Hex(snapshotBody),
        timestamp
            .get("signed")
            .get("meta")
            .get("snapshot.json")
            .get("hashes")
            .get("sha256")
            .asText());
    assertTrue(TufMetadata.isSignedBy(timestamp, key.publicKeyHex()));
    assertEquals(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        TufMetadata.sha256Hex("".getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void malformedSignatureEntriesAreNotFatal() {
    Ed25519TufKey key = Ed25519TufKey.generate();
    ObjectNode doc =
        TufMetadata.signedEnvelope(
            TufMetadata.targetsSigned(1, EXPIRES, JsonNodeFactory.instance.objectNode()), key);
    doc.withArray("signatures").insertObject(0).put("keyid", 5);
    assertTrue(TufMetadata.isSignedBy(doc, key.publicKeyHex()));
    assertFalse(TufMetadata.isSignedBy(JsonNodeFactory.instance.objectNode(), key.publicKeyHex()));
  }

  private static List<String> fieldNames(JsonNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }

  private static String sampleTargets() {
    return """
                {"_type": "Targets", "expires": "2027-11-27T00:00:00Z", "version": 352,
                 "targets": {
                  "amd64-linux-42": {
                    "hashes": {"sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
                    "length": 0,
                    "custom": {"name": "amd64-linux", "version": "42", "hardwareIds": ["amd64-linux"],
                               "tags": ["main"], "targetFormat": "OSTREE",
                               "docker_compose_apps": {"shellhttpd": {"uri": "reg/acme/shellhttpd@sha256:ab"}}}}}}
                """;
  }
}
