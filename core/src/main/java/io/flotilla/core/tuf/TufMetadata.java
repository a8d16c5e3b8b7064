package io.flotilla.core.tuf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.protocol.device.TufSignature;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

/**
 * The TUF-shaped documents of the device gateway ({@code /repo/<N>.root.json}, {@code
 * targets.json}, {@code snapshot.json}, {@code timestamp.json}) as plain functions over Jackson
 * nodes, in the dialect Foundries' device gateway serves and fiotuf's go-tuf fork verifies:
 * capitalised {@code _type}, base64 {@code sig} with a {@code method}, no {@code spec_version}
 * outside root (see docs/device-gateway.md, "TUF"). A factory's online key holds the targets,
 * snapshot and timestamp roles (thresholds 1); the root role is that key in version 1 and a key of
 * its own after each rotation ({@link TufRoots}).
 *
 * <p>The route signs the {@code signed} part, then serialises the envelope with its ObjectMapper.
 * The {@code x-ats-role-checksum} header and the snapshot/timestamp hashes must be computed over
 * those exact response bytes, not over a re-encoding.
 */
public final class TufMetadata {

  public static final String SPEC_VERSION = "1.0.0";
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private TufMetadata() {}

  /** {@code {"signatures":[<sig by key>],"signed":<signed>}} */
  public static ObjectNode signedEnvelope(ObjectNode signed, Ed25519TufKey key) {
    return signedEnvelope(signed, List.of(key));
  }

  /**
   * Signed by each distinct key once: go-tuf's {@code checkUniqueSignatures} refuses a document
   * with two signatures under one key id.
   */
  public static ObjectNode signedEnvelope(ObjectNode signed, List<Ed25519TufKey> keys) {
    ObjectNode envelope = JSON.objectNode();
    ArrayNode signatures = envelope.putArray("signatures");
    Set<String> signedBy = new HashSet<>();
    for (Ed25519TufKey key : keys) {
      if (signedBy.add(key.keyId())) {
        signatures.add(signatureJson(key.sign(signed)));
      }
    }
    envelope.set("signed", signed);
    return envelope;
  }

  /**
   * Whether the envelope carries a valid signature of its {@code signed} part by {@code
   * publicKeyHex}.
   */
  public static boolean isSignedBy(JsonNode envelope, String publicKeyHex) {
    JsonNode signed = envelope.get("signed");
    JsonNode signatures = envelope.get("signatures");
    if (signed == null || signatures == null || !signatures.isArray()) {
      return false;
    }
    for (JsonNode signature : signatures) {
      try {
        if (Ed25519TufKey.verify(publicKeyHex, signed, signatureOf(signature))) {
          return true;
        }
      } catch (IllegalArgumentException malformed) {
        // a malformed entry does not spoil the others
      }
    }
    return false;
  }

  private static ObjectNode signatureJson(TufSignature signature) {
    ObjectNode node = JSON.objectNode();
    node.put("keyid", signature.keyid());
    node.put("method", signature.method());
    node.put("sig", signature.sig());
    return node;
  }

  /**
   * @throws IllegalArgumentException if a field is missing or not a string
   */
  private static TufSignature signatureOf(JsonNode node) {
    return new TufSignature(
        signatureField(node, "keyid"), signatureField(node, "method"), signatureField(node, "sig"));
  }

  private static String signatureField(JsonNode node, String field) {
    JsonNode value = node.get(field);
    if (value == null || !value.isTextual()) {
      throw new IllegalArgumentException(
          "signature field '" + field + "' is missing or not a string");
    }
    return value.textValue();
  }

  /**
   * Signed root metadata: {@code rootKey} holds the root role, {@code onlineKey} the other three. A
   * rotation's root is signed by the previous root key and the new one: a client accepts version
   * N+1 only with a threshold of N's root keys and of its own ({@code UpdateRoot} in go-tuf's
   * trustedmetadata).
   */
  public static ObjectNode root(
      int version,
      Instant expires,
      Ed25519TufKey rootKey,
      Ed25519TufKey onlineKey,
      List<Ed25519TufKey> signers) {
    ObjectNode signed = JSON.objectNode();
    signed.put("_type", "Root");
    signed.put("consistent_snapshot", false);
    signed.put("expires", expires(expires));
    ObjectNode keys = signed.putObject("keys");
    keys.set(rootKey.keyId(), rootKey.publicKeyJson());
    keys.set(onlineKey.keyId(), onlineKey.publicKeyJson());
    ObjectNode roles = signed.putObject("roles");
    for (String role : new String[] {"root", "snapshot", "targets", "timestamp"}) {
      ObjectNode entry = roles.putObject(role);
      entry.putArray("keyids").add((role.equals("root") ? rootKey : onlineKey).keyId());
      entry.put("threshold", 1);
    }
    signed.put("spec_version", SPEC_VERSION);
    signed.put("version", version);
    return signedEnvelope(signed, signers);
  }

  /**
   * The {@code signed} part of targets.json.
   *
   * @param targets target name → {@code {"hashes", "length", "custom"}}, already filtered to the
   *     device's tag
   */
  public static ObjectNode targetsSigned(long version, Instant expires, ObjectNode targets) {
    ObjectNode signed = JSON.objectNode();
    signed.put("_type", "Targets");
    signed.put("expires", expires(expires));
    signed.set("targets", targets);
    signed.put("version", version);
    return signed;
  }

  /**
   * The {@code signed} part of snapshot.json, describing the targets.json served as {@code
   * targetsBody}.
   */
  public static ObjectNode snapshotSigned(
      long version, Instant expires, long targetsVersion, byte[] targetsBody) {
    return metaDocument("Snapshot", version, expires, "targets.json", targetsVersion, targetsBody);
  }

  /**
   * The {@code signed} part of timestamp.json, describing the snapshot.json served as {@code
   * snapshotBody}.
   */
  public static ObjectNode timestampSigned(
      long version, Instant expires, long snapshotVersion, byte[] snapshotBody) {
    return metaDocument(
        "Timestamp", version, expires, "snapshot.json", snapshotVersion, snapshotBody);
  }

  /** TUF's date form: UTC, whole seconds, {@code Z}. */
  public static String expires(Instant instant) {
    return instant.truncatedTo(ChronoUnit.SECONDS).toString();
  }

  public static String sha256Hex(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK lacks SHA-256", e);
    }
  }

  private static ObjectNode metaDocument(
      String type, long version, Instant expires, String file, long fileVersion, byte[] fileBody) {
    ObjectNode signed = JSON.objectNode();
    signed.put("_type", type);
    signed.put("expires", expires(expires));
    ObjectNode entry = signed.putObject("meta").putObject(file);
    entry.putObject("hashes").put("sha256", sha256Hex(fileBody));
    entry.put("length", fileBody.length);
    entry.put("version", fileVersion);
    signed.put("version", version);
    return signed;
  }
}
