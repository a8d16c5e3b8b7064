package io.flotilla.gateway.device;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.core.tuf.Ed25519TufKey;
import io.flotilla.core.tuf.TufMetadata;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.ApiClient.Answer;
import io.flotilla.gateway.testing.TestServers;
import io.flotilla.protocol.device.RegistrationResponse;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fioup check --tuf} against a real server over mutual TLS. fioup's {@code
 * pkg/target/tuf_repo.go} calls fiotuf ({@code tuf/tuf.go} 88e2893: {@code RefreshTuf}, {@code
 * getTufCfg}, {@code FioFetcher}), which drives go-tuf v2.0.2 as replaced by {@code
 * github.com/foundriesio/go-tuf/v2 v2.0.2-fio}. Go cannot be built here, so {@link GoTufClient}
 * walks go-tuf's client workflow step by step ({@code updater.New}, {@code Refresh}: {@code
 * loadRoot}, {@code loadTimestamp}, {@code loadSnapshot}, {@code loadTargets}; {@code
 * trustedmetadata} {@code UpdateRoot/Timestamp/Snapshot/DelegatedTargets}; {@code
 * Metadata.VerifyDelegate}), with its own canonical JSON and BouncyCastle's Ed25519, nothing of the
 * server's signing code.
 *
 * <p>The fork's source cannot be had here. It reads what Foundries' own gateway serves (roots with
 * {@code "_type":"Root"}, {@code ED25519} keys without {@code scheme}, base64 {@code sig} with a
 * {@code method}, no {@code spec_version} outside root, as in foundriesio/libtufnano's
 * test/sample_jsons), so that dialect is what is checked here, in go-tuf's order and rules.
 */
class FiotufContractTest {

  static final ObjectMapper JSON = new ObjectMapper();

  /** go-tuf {@code config.New} defaults. */
  static final long ROOT_MAX_LENGTH = 512_000;

  static final long TIMESTAMP_MAX_LENGTH = 16_384;
  static final long SNAPSHOT_MAX_LENGTH = 2_000_000;
  static final long TARGETS_MAX_LENGTH = 5_000_000;
  static final int MAX_ROOT_ROTATIONS = 256;

  private static final AtomicInteger FACTORIES = new AtomicInteger();

  @TempDir static Path dir;
  static FlotillaServer server;
  static ApiClient api;
  static String admin;

  @BeforeAll
  static void start() throws Exception {
    server = TestServers.start(dir.resolve("data"), null);
    api = new ApiClient(server.httpPort());
    admin = server.adminToken().value();
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void theRootFromRegistrationVerifiesEveryTopLevelRole() throws Exception {
    Factory factory = Factory.create();
    Device device = factory.register(dir.resolve("sota-verify"));
    JsonNode root = JSON.readTree(device.files.get(RegistrationResponse.TUF_ROOT_JSON));
    assertEquals(1, root.path("signed").path("version").asInt());
    assertFoundriesDialect(root);

    GoTufClient client = device.tufClient();
    client.refresh();
    assertEquals(1, client.rootVersion(), "2.root.json is a 404: root 1 is the newest");
    JsonNode target = client.targets().path("amd64-linux-1");
    // fioup tufRepo.loadTargets: the hardware id among custom.hardwareIds, custom.version an int
    assertTrue(iterable(target.path("custom").path("hardwareIds")).contains("amd64-linux"));
    assertEquals(1, Integer.parseInt(target.path("custom").path("version").asText()));
    assertEquals(
        factory.appUri,
        target.path("custom").path("docker_compose_apps").path("shellhttpd").path("uri").asText());
    for (String role : List.of("timestamp", "snapshot", "targets")) {
      assertFoundriesDialect(client.trusted(role));
    }

    // the next run starts from what the last one persisted (updater.New, local metadata first)
    GoTufClient again = device.tufClient();
    again.refresh();
    assertEquals(client.targets(), again.targets());

    // The checks are not vacuous: what a changed byte or a stranger's key would give is refused.
    ObjectNode forged = (ObjectNode) client.trusted("targets").deepCopy();
    ((ObjectNode) forged.path("signed").path("targets").path("amd64-linux-1").path("custom"))
        .put("version", "2");
    assertThrows(
        AssertionError.class,
        () -> GoTufClient.verifyDelegate(client.trusted("root"), "targets", forged));
    Ed25519TufKey stranger = Ed25519TufKey.generate();
    ObjectNode resigned =
        TufMetadata.signedEnvelope((ObjectNode) forged.path("signed").deepCopy(), stranger);
    assertThrows(
        AssertionError.class,
        () -> GoTufClient.verifyDelegate(client.trusted("root"), "targets", resigned));
  }

  @Test
  void aClientHoldingAnOlderRootFollowsEachRotation() throws Exception {
    Factory factory = Factory.create();
    Device early = factory.register(dir.resolve("sota-early"));
    GoTufClient client = early.tufClient();
    client.refresh();
    String onlineKey = keyOf(client.trusted("root"), "targets");

    Answer rotated = factory.rotate();
    assertEquals(201, rotated.status(), rotated.body());
    JsonNode second = JSON.readTree(rotated.body());
    assertEquals(2, second.path("signed").path("version").asInt());
    assertFoundriesDialect(second);
    assertEquals(
        rotated.body(),
        api.get("/api/v1/factories/" + factory.name + "/tuf/2.root.json", admin).body(),
        "the operator API answers the bytes devices get");

    client = early.tufClient();
    client.refresh();
    assertEquals(2, client.rootVersion());
    assertNotEquals(onlineKey, keyOf(client.trusted("root"), "root"), "a root key of its own");
    assertEquals(onlineKey, keyOf(client.trusted("root"), "targets"), "the online key stays");
    assertTrue(client.targets().has("amd64-linux-1"));

    // two rotations while a device is away: it walks 1 → 2 → 3 in one refresh
    Device away = factory.register(dir.resolve("sota-away"));
    Files.writeString(
        away.sotaDir.resolve(RegistrationResponse.TUF_ROOT_JSON),
        api.get("/api/v1/factories/" + factory.name + "/tuf/1.root.json", admin).body());
    assertEquals(201, factory.rotate().status());
    GoTufClient behind = away.tufClient();
    behind.refresh();
    assertEquals(3, behind.rootVersion());
    assertTrue(behind.targets().has("amd64-linux-1"));

    Device late = factory.register(dir.resolve("sota-late"));
    assertEquals(
        3,
        JSON.readTree(late.files.get(RegistrationResponse.TUF_ROOT_JSON))
            .path("signed")
            .path("version")
            .asInt(),
        "registration hands out the newest root");
    assertEquals(
        late.files.get(RegistrationResponse.TUF_ROOT_JSON),
        api.get("/api/v1/factories/" + factory.name + "/tuf/root.json", admin).body());

    // UpdateRoot refuses a successor that only its own new key signed
    Ed25519TufKey usurper = Ed25519TufKey.generate();
    Ed25519TufKey online = Ed25519TufKey.generate();
    ObjectNode selfSigned =
        TufMetadata.root(4, Instant.now().plusSeconds(3600), usurper, online, List.of(usurper));
    assertThrows(AssertionError.class, () -> behind.updateRoot(JSON.writeValueAsBytes(selfSigned)));
  }

  @Test
  void snapshotAndTimestampVersionsGrowEachDaySoAStaticTagNeverStrandsAClient() throws Exception {
    Factory factory = Factory.create();
    Device device = factory.register(dir.resolve("sota-static"));
    GoTufClient client = device.tufClient().refreshed();
    JsonNode served = client.trusted("timestamp");
    // The factory's online key, from the server's PKI dir, signs what a device would hold from a
    // year ago: a timestamp of an older day, expired since.
    Ed25519TufKey online =
        Ed25519TufKey.fromPem(
            Files.readString(
                server.dataDir().resolve("pki/factories/" + factory.name + "/targets-key.pem")));
    Instant lastYear = Instant.parse("2025-12-06T00:00:00Z");
    Path localTimestamp = device.sotaDir.resolve("tuf/timestamp.json");
    long yearOld = TufRepository.dailyVersion(lastYear, 2);
    Files.write(
        localTimestamp,
        JSON.writeValueAsBytes(
            TufMetadata.signedEnvelope(
                TufMetadata.timestampSigned(yearOld, lastYear, yearOld, new byte[0]), online)));
    assertTrue(device.tufClient().refreshed().targets().has("amd64-linux-1"));

    // Had the served version stayed put, go-tuf would keep the expired local copy and stop.
    long sameVersion = served.path("signed").path("version").asLong();
    Files.write(
        localTimestamp,
        JSON.writeValueAsBytes(
            TufMetadata.signedEnvelope(
                TufMetadata.timestampSigned(sameVersion, lastYear, sameVersion, new byte[0]),
                online)));
    assertThrows(AssertionError.class, () -> device.tufClient().refresh());

    Instant day = Instant.parse("2027-12-06T00:00:00Z");
    long today = TufRepository.dailyVersion(day, 7);
    assertTrue(TufRepository.dailyVersion(day.plusSeconds(86_400), 7) > today, "the day turns");
    assertTrue(TufRepository.dailyVersion(day, 8) > today, "the tag changes");
    assertTrue(
        TufRepository.dailyVersion(day.plusSeconds(86_400), 1)
            > TufRepository.dailyVersion(day, 1L << 31),
        "whatever the tag version");
  }

  @Test
  void rootRoutesRefuseWhatTheyMust() throws Exception {
    Factory factory = Factory.create();
    Device device = factory.register(dir.resolve("sota-refuse"));
    for (String path : List.of("/repo/0.root.json", "/repo/2.root.json", "/repo/x.root.json")) {
      HttpResponse<String> answer = device.gateway(path);
      assertEquals(404, answer.statusCode(), path);
      assertTrue(answer.body().contains("\"error\""), answer.body());
    }
    Answer forbidden =
        api.post(
            "/api/v1/factories/" + factory.name + "/tuf/root-rotations", factory.registerToken, "");
    assertEquals(403, forbidden.status(), forbidden.body());
    assertEquals(
        401,
        api.post("/api/v1/factories/" + factory.name + "/tuf/root-rotations", null, "").status());
    Answer unknown = api.post("/api/v1/factories/nosuchfactory/tuf/root-rotations", admin, "");
    assertEquals(404, unknown.status(), unknown.body());
    assertTrue(
        Files.notExists(server.dataDir().resolve("pki/factories/nosuchfactory")),
        "nothing is written for a factory that does not exist");
    assertEquals(
        404, api.get("/api/v1/factories/" + factory.name + "/tuf/7.root.json", admin).status());
    assertEquals(1, device.tufClient().refreshed().rootVersion(), "refusals changed nothing");
  }

  // ---- go-tuf's client workflow, as fiotuf configures it ----

  /**
   * fiotuf {@code getTufCfg}: the trusted root is {@code /var/sota/tuf/root.json}, which go-tuf
   * keeps up to date ({@code persistMetadata}); the first one is the registration's {@code
   * tuf-root.json}, installed there (docs/device-gateway.md). Metadata URL {@code tls.server +
   * "/repo"}, fetched by {@code FioFetcher} with {@code x-ats-tags}.
   */
  static final class GoTufClient {
    private final Device device;
    private final Path local;
    private JsonNode root;
    private JsonNode timestamp;
    private JsonNode snapshot;
    private JsonNode targets;

    GoTufClient(Device device, Path local) throws Exception {
      this.device = device;
      this.local = local;
      Path trusted = local.resolve("root.json");
      byte[] initial =
          Files.exists(trusted)
              ? Files.readAllBytes(trusted)
              : Files.readAllBytes(device.sotaDir.resolve(RegistrationResponse.TUF_ROOT_JSON));
      // trustedmetadata.New → loadTrustedRoot: a root, signed by a threshold of its own root keys
      JsonNode candidate = parse(initial, "Root");
      verifyDelegate(candidate, "root", candidate);
      this.root = candidate;
      Files.createDirectories(local);
      Files.write(trusted, initial);
    }

    GoTufClient refreshed() throws Exception {
      refresh();
      return this;
    }

    /** {@code Updater.onlineRefresh}. */
    void refresh() throws Exception {
      loadRoot();
      loadTimestamp();
      loadSnapshot();
      loadTargets();
    }

    int rootVersion() {
      return root.path("signed").path("version").asInt();
    }

    JsonNode targets() {
      return targets.path("signed").path("targets");
    }

    JsonNode trusted(String role) {
      return switch (role) {
        case "root" -> root;
        case "timestamp" -> timestamp;
        case "snapshot" -> snapshot;
        default -> targets;
      };
    }

    /** {@code loadRoot}: N+1 until a 404 or 403, each through {@code UpdateRoot}. */
    private void loadRoot() throws Exception {
      int lower = rootVersion() + 1;
      for (int next = lower; next < lower + MAX_ROOT_ROTATIONS; next++) {
        HttpResponse<byte[]> answer = download(next + ".root.json", ROOT_MAX_LENGTH);
        if (answer.statusCode() == 404 || answer.statusCode() == 403) {
          return;
        }
        assertEquals(200, answer.statusCode(), "any other status fails the refresh");
        updateRoot(answer.body());
        persist("root.json", answer.body());
      }
    }

    /**
     * {@code TrustedMetadata.UpdateRoot}: a root, signed by the trusted root's root role, exactly
     * one version on, and signed by its own root role.
     */
    void updateRoot(byte[] data) {
      JsonNode next = parse(data, "Root");
      verifyDelegate(root, "root", next);
      assertEquals(rootVersion() + 1, next.path("signed").path("version").asInt());
      verifyDelegate(next, "root", next);
      root = next;
    }

    /**
     * {@code loadTimestamp}: the local one if valid, then always the remote; an equal version is
     * discarded ({@code ErrEqualVersionNumber}) and the local one kept.
     */
    private void loadTimestamp() throws Exception {
      byte[] localCopy = readLocal("timestamp.json");
      if (localCopy != null) {
        try {
          updateTimestamp(localCopy);
        } catch (AssertionError invalid) {
          // "Local timestamp is not valid"; an expired one stays trusted all the same
        }
      }
      HttpResponse<byte[]> answer = download("timestamp.json", TIMESTAMP_MAX_LENGTH);
      assertEquals(200, answer.statusCode());
      JsonNode remote = parse(answer.body(), "Timestamp");
      if (timestamp != null && version(remote) == version(timestamp)) {
        return;
      }
      updateTimestamp(answer.body());
      persist("timestamp.json", answer.body());
    }

    /**
     * {@code TrustedMetadata.UpdateTimestamp}: the new timestamp is trusted before its expiry is
     * checked ({@code checkFinalTimestamp}), so an expired local one is kept when the served one
     * has the same version, and the snapshot step then fails on it.
     */
    private void updateTimestamp(byte[] data) {
      assertNotExpired(root, "final root.json is expired");
      JsonNode next = parse(data, "Timestamp");
      verifyDelegate(root, "timestamp", next);
      if (timestamp != null) {
        assertTrue(version(next) >= version(timestamp), "new timestamp version is lower");
        assertTrue(
            meta(next, "snapshot.json").path("version").asLong()
                >= meta(timestamp, "snapshot.json").path("version").asLong(),
            "new snapshot version is lower");
      }
      timestamp = next;
      assertNotExpired(next, "timestamp.json is expired");
    }

    /** {@code loadSnapshot}: a valid local one is kept, else download as the timestamp says. */
    private void loadSnapshot() throws Exception {
      byte[] localCopy = readLocal("snapshot.json");
      if (localCopy != null) {
        try {
          snapshot = updateSnapshot(localCopy);
          return;
        } catch (AssertionError invalid) {
          snapshot = null;
        }
      }
      JsonNode snapshotMeta = meta(timestamp, "snapshot.json");
      long length = snapshotMeta.path("length").asLong(0);
      HttpResponse<byte[]> answer =
          download("snapshot.json", length == 0 ? SNAPSHOT_MAX_LENGTH : length);
      assertEquals(200, answer.statusCode());
      snapshot = updateSnapshot(answer.body());
      persist("snapshot.json", answer.body());
    }

    /** {@code TrustedMetadata.UpdateSnapshot}. */
    private JsonNode updateSnapshot(byte[] data) {
      assertNotExpired(timestamp, "timestamp.json is expired");
      JsonNode snapshotMeta = meta(timestamp, "snapshot.json");
      verifyLengthHashes(snapshotMeta, data);
      JsonNode next = parse(data, "Snapshot");
      verifyDelegate(root, "snapshot", next);
      if (snapshot != null) {
        for (Iterator<Map.Entry<String, JsonNode>> old =
                snapshot.path("signed").path("meta").fields();
            old.hasNext(); ) {
          Map.Entry<String, JsonNode> entry = old.next();
          JsonNode now = meta(next, entry.getKey());
          assertFalse(now.isMissingNode(), "new snapshot is missing info for " + entry.getKey());
          assertTrue(now.path("version").asLong() >= entry.getValue().path("version").asLong());
        }
      }
      assertEquals(snapshotMeta.path("version").asLong(), version(next), "snapshot version");
      assertNotExpired(next, "snapshot.json is expired");
      return next;
    }

    /** {@code loadTargets("targets", "root")}. */
    private void loadTargets() throws Exception {
      byte[] localCopy = readLocal("targets.json");
      if (localCopy != null) {
        try {
          targets = updateTargets(localCopy);
          return;
        } catch (AssertionError invalid) {
          targets = null;
        }
      }
      JsonNode targetsMeta = meta(snapshot, "targets.json");
      assertFalse(targetsMeta.isMissingNode(), "role targets not found in snapshot");
      long length = targetsMeta.path("length").asLong(0);
      HttpResponse<byte[]> answer =
          download("targets.json", length == 0 ? TARGETS_MAX_LENGTH : length);
      assertEquals(200, answer.statusCode());
      targets = updateTargets(answer.body());
      persist("targets.json", answer.body());
    }

    /** {@code TrustedMetadata.UpdateDelegatedTargets} for the top-level role. */
    private JsonNode updateTargets(byte[] data) {
      assertNotExpired(snapshot, "snapshot.json is expired");
      JsonNode targetsMeta = meta(snapshot, "targets.json");
      verifyLengthHashes(targetsMeta, data);
      JsonNode next = parse(data, "Targets");
      verifyDelegate(root, "targets", next);
      assertEquals(targetsMeta.path("version").asLong(), version(next), "targets version");
      assertNotExpired(next, "targets.json is expired");
      return next;
    }

    /**
     * fiotuf {@code readRemoteFile}: GET with {@code x-ats-tags}; a Content-Length or a body over
     * the expected length fails.
     */
    private HttpResponse<byte[]> download(String file, long maxLength) throws Exception {
      HttpResponse<byte[]> answer =
          device.tls.http.send(
              HttpRequest.newBuilder(URI.create(device.toml.get("tls.server") + "/repo/" + file))
                  .timeout(DeviceClient.TIMEOUT)
                  .header("x-ats-tags", device.toml.get("pacman.tags"))
                  .GET()
                  .build(),
              HttpResponse.BodyHandlers.ofByteArray());
      answer
          .headers()
          .firstValueAsLong("Content-Length")
          .ifPresent(length -> assertTrue(length <= maxLength, file + " longer than expected"));
      assertTrue(answer.body().length <= maxLength, file + " longer than expected");
      if (answer.statusCode() == 200) {
        assertEquals(
            sha256Hex(answer.body()),
            answer.headers().firstValue("x-ats-role-checksum").orElseThrow(),
            "the checksum header is over the served bytes");
      }
      return answer;
    }

    private void persist(String name, byte[] data) throws Exception {
      Files.write(local.resolve(name), data);
    }

    private byte[] readLocal(String name) throws Exception {
      Path file = local.resolve(name);
      return Files.exists(file) ? Files.readAllBytes(file) : null;
    }

    /**
     * {@code fromBytes}: {@code checkType} (Foundries' capitalised type names), then {@code
     * checkUniqueSignatures}.
     */
    static JsonNode parse(byte[] data, String type) {
      JsonNode document;
      try {
        document = JSON.readTree(data);
      } catch (java.io.IOException e) {
        throw new AssertionError("not JSON", e);
      }
      assertEquals(type, document.path("signed").path("_type").asText(), "checkType");
      Set<String> keyIds = new HashSet<>();
      for (JsonNode signature : document.path("signatures")) {
        assertTrue(keyIds.add(signature.path("keyid").asText()), "multiple signatures found");
      }
      return document;
    }

    /**
     * {@code Metadata.VerifyDelegate}: for each key id of the role, the key the delegator lists
     * under that id and the signature under that id over the canonical JSON of {@code signed};
     * enough valid ones for the threshold.
     */
    static void verifyDelegate(JsonNode delegator, String role, JsonNode delegated) {
      JsonNode roleNode = delegator.path("signed").path("roles").path(role);
      assertFalse(roleNode.path("keyids").isEmpty(), "no delegation found for " + role);
      byte[] payload = canonical(delegated.path("signed"));
      int valid = 0;
      for (JsonNode keyId : roleNode.path("keyids")) {
        JsonNode key = delegator.path("signed").path("keys").path(keyId.asText());
        assertFalse(key.isMissingNode(), "key with ID " + keyId + " not found");
        assertEquals("ED25519", key.path("keytype").asText());
        byte[] publicKey = HexFormat.of().parseHex(key.path("keyval").path("public").asText());
        for (JsonNode signature : delegated.path("signatures")) {
          if (signature.path("keyid").asText().equals(keyId.asText())) {
            Ed25519Signer verifier = new Ed25519Signer();
            verifier.init(false, new Ed25519PublicKeyParameters(publicKey, 0));
            verifier.update(payload, 0, payload.length);
            if (verifier.verifySignature(
                Base64.getDecoder().decode(signature.path("sig").asText()))) {
              valid++;
            }
          }
        }
      }
      assertTrue(
          valid >= roleNode.path("threshold").asInt(),
          "Verifying " + role + " failed, not enough signatures");
    }

    /** {@code MetaFiles.VerifyLengthHashes}. */
    private static void verifyLengthHashes(JsonNode meta, byte[] data) {
      if (meta.has("length")) {
        assertEquals(meta.path("length").asLong(), data.length, "length verification failed");
      }
      if (meta.has("hashes")) {
        assertEquals(
            meta.path("hashes").path("sha256").asText(), sha256Hex(data), "hash verification");
      }
    }

    private static JsonNode meta(JsonNode document, String file) {
      return document.path("signed").path("meta").path(file);
    }

    private static long version(JsonNode document) {
      return document.path("signed").path("version").asLong();
    }

    /** {@code IsExpired(RefTime)}: expired once the reference time is after {@code expires}. */
    private static void assertNotExpired(JsonNode document, String message) {
      assertFalse(
          Instant.now().isAfter(Instant.parse(document.path("signed").path("expires").asText())),
          message);
    }
  }

  /**
   * go-securesystemslib {@code cjson.EncodeCanonical}, written afresh: keys sorted by their bytes,
   * no whitespace, only {@code "} and {@code \} escaped, integers only.
   */
  static byte[] canonical(JsonNode node) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    writeCanonical(node, out);
    return out.toByteArray();
  }

  private static void writeCanonical(JsonNode node, ByteArrayOutputStream out) {
    if (node.isObject()) {
      List<String> names = new ArrayList<>();
      node.fieldNames().forEachRemaining(names::add);
      names.sort(
          (a, b) ->
              Arrays.compareUnsigned(
                  a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8)));
      out.write('{');
      for (int i = 0; i < names.size(); i++) {
        out.writeBytes(i == 0 ? new byte[0] : new byte[] {','});
        writeString(names.get(i), out);
        out.write(':');
        writeCanonical(node.get(names.get(i)), out);
      }
      out.write('}');
    } else if (node.isArray()) {
      out.write('[');
      for (int i = 0; i < node.size(); i++) {
        out.writeBytes(i == 0 ? new byte[0] : new byte[] {','});
        writeCanonical(node.get(i), out);
      }
      out.write(']');
    } else if (node.isTextual()) {
      writeString(node.textValue(), out);
    } else if (node.isIntegralNumber() || node.isBoolean() || node.isNull()) {
      out.writeBytes(node.toString().getBytes(StandardCharsets.US_ASCII));
    } else {
      throw new AssertionError("cjson cannot encode " + node);
    }
  }

  private static void writeString(String value, ByteArrayOutputStream out) {
    out.write('"');
    for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
      if (b == '"' || b == '\\') {
        out.write('\\');
      }
      out.write(b);
    }
    out.write('"');
  }

  /** The shape Foundries' gateway serves (libtufnano's samples), which the fork must read. */
  static void assertFoundriesDialect(JsonNode document) {
    JsonNode signed = document.path("signed");
    assertFalse(signed.path("expires").asText().contains("."), "whole seconds");
    for (JsonNode signature : document.path("signatures")) {
      assertEquals("ed25519", signature.path("method").asText());
      assertEquals(64, Base64.getDecoder().decode(signature.path("sig").asText()).length);
    }
    if (signed.path("_type").asText().equals("Root")) {
      assertFalse(signed.path("consistent_snapshot").asBoolean(true));
      for (JsonNode key : signed.path("keys")) {
        assertEquals("ED25519", key.path("keytype").asText());
        assertFalse(key.has("scheme"));
        assertEquals(64, key.path("keyval").path("public").asText().length());
      }
    } else {
      assertFalse(signed.has("spec_version"), signed.toString());
    }
  }

  private static String keyOf(JsonNode root, String role) {
    return root.path("signed").path("roles").path(role).path("keyids").path(0).asText();
  }

  private static List<String> iterable(JsonNode array) {
    List<String> values = new ArrayList<>();
    array.forEach(value -> values.add(value.asText()));
    return values;
  }

  static String sha256Hex(byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (java.security.GeneralSecurityException e) {
      throw new AssertionError(e);
    }
  }

  // ---- a factory with one target, and devices registered as fioup registers them ----

  static final class Factory {
    final String name;
    final String registerToken;
    final String appUri;

    private Factory(String name, String registerToken, String appUri) {
      this.name = name;
      this.registerToken = registerToken;
      this.appUri = appUri;
    }

    static Factory create() throws Exception {
      String name = "tuf" + FACTORIES.incrementAndGet();
      Answer created =
          api.post(
              "/api/v1/factories",
              admin,
              "{\"name\":\"" + name + "\",\"platforms\":[\"amd64-linux\"]}");
      assertEquals(201, created.status(), created.body());
      String registerToken = token(name, "\"devices:create\"");
      String appUri =
          "127.0.0.1:" + server.httpPort() + "/" + name + "/shellhttpd@sha256:" + "ab".repeat(32);
      Answer target =
          api.post(
              "/api/v1/factories/" + name + "/targets",
              token(name, "\"targets:write\""),
              "{\"tags\":[\"main\"],\"apps\":{\"shellhttpd\":\"" + appUri + "\"}}");
      assertEquals(201, target.status(), target.body());
      return new Factory(name, registerToken, appUri);
    }

    Answer rotate() throws Exception {
      return api.post("/api/v1/factories/" + name + "/tuf/root-rotations", admin, "");
    }

    /** fioup {@code authRegisterDevice} and {@code populateSotaDir}, as FioupContractTest. */
    Device register(Path sotaDir) throws Exception {
      Device device = new Device(sotaDir);
      ObjectNode info = JSON.createObjectNode();
      info.put("use-ostree-server", "true");
      info.put("sota-config-dir", sotaDir.toString());
      info.put("hardware-id", "amd64-linux");
      info.put("name", "fiotuf-" + device.tls.uuid.substring(0, 8));
      info.put("uuid", device.tls.uuid);
      info.put("csr", device.tls.csr(name));
      info.putObject("overrides").putObject("pacman").put("tags", "\"main\"");
      HttpResponse<String> answer =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(
                          URI.create("http://127.0.0.1:" + server.httpPort() + "/ota/devices/"))
                      .header("Content-type", "application/json")
                      .header("OSF-TOKEN", registerToken)
                      .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(info)))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertEquals(201, answer.statusCode(), answer.body());
      Files.createDirectories(sotaDir);
      for (Iterator<Map.Entry<String, JsonNode>> files = JSON.readTree(answer.body()).fields();
          files.hasNext(); ) {
        Map.Entry<String, JsonNode> file = files.next();
        assertFalse(file.getKey().contains("/"), "populateSotaDir makes no directories");
        Files.writeString(sotaDir.resolve(file.getKey()), file.getValue().asText());
        device.files.put(file.getKey(), file.getValue().asText());
      }
      device.tls.registered(device.files.get("root.crt"), device.files.get("client.pem"));
      device.toml = FioupContractTest.toml(device.files.get("sota.toml"));
      return device;
    }

    private static String token(String factory, String scopes) throws Exception {
      Answer answer =
          api.post(
              "/api/v1/factories/" + factory + "/tokens", admin, "{\"scopes\":[" + scopes + "]}");
      assertEquals(201, answer.status(), answer.body());
      return answer.json().get("token").asText();
    }
  }

  static final class Device {
    final Path sotaDir;
    final DeviceClient tls = new DeviceClient();
    final Map<String, String> files = new java.util.LinkedHashMap<>();
    Map<String, String> toml;

    Device(Path sotaDir) {
      this.sotaDir = sotaDir;
    }

    /** A fresh run of {@code fioup check --tuf}, its metadata dir standing for /var/sota/tuf. */
    GoTufClient tufClient() throws Exception {
      return new GoTufClient(this, sotaDir.resolve("tuf"));
    }

    HttpResponse<String> gateway(String path) throws Exception {
      return tls.send(toml.get("tls.server"), "GET", path, null, "x-ats-tags", "main");
    }
  }
}
