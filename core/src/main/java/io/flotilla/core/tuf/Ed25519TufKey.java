package io.flotilla.core.tuf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.core.pki.Pem;
import io.flotilla.protocol.device.TufSignature;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;

/**
 * An Ed25519 key that signs TUF metadata, on the JDK's own Ed25519, written the way Foundries' own
 * device gateway writes its keys (the shape fiotuf's go-tuf fork is fed in production): {@code
 * keytype} {@code ED25519}, no {@code scheme}, and as key id the sha256 of the key's X.509
 * SubjectPublicKeyInfo DER. go-tuf never recomputes a key id (its {@code VerifyDelegate} looks keys
 * up by the id the root lists), so the id only has to be unique and stable. The private key is
 * never printed.
 */
public final class Ed25519TufKey {

  public static final String KEY_TYPE = "ED25519";

  /**
   * The {@code method} of a signature made by such a key, in the shape the Foundries gateway sends.
   */
  public static final String SIGNATURE_METHOD = "ed25519";

  /** DER prefix of an X.509 SubjectPublicKeyInfo for Ed25519; the raw 32-byte key follows it. */
  private static final byte[] SPKI_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");

  private static final int RAW_KEY_BYTES = 32;

  private final PrivateKey privateKey;
  private final String publicKeyHex;
  private final String keyId;

  private Ed25519TufKey(PrivateKey privateKey, PublicKey publicKey) {
    this.privateKey = privateKey;
    this.publicKeyHex = HexFormat.of().formatHex(raw(publicKey));
    this.keyId = keyIdOf(publicKeyHex);
  }

  public static Ed25519TufKey generate() {
    try {
      KeyPair keys = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
      return new Ed25519TufKey(keys.getPrivate(), keys.getPublic());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK lacks Ed25519", e);
    }
  }

  /** Reads what {@link #toPem()} wrote. */
  public static Ed25519TufKey fromPem(String pem) {
    PrivateKey key = Pem.privateKey(pem, "Ed25519");
    return new Ed25519TufKey(
        key,
        publicKey(
            Pem.blocks(pem).stream()
                .filter(b -> b.getType().equals(Pem.PUBLIC_KEY))
                .findFirst()
                .orElseThrow(
                    () -> new IllegalArgumentException("no PEM public key next to the Ed25519 key"))
                .getContent()));
  }

  /**
   * Private and public key as PEM. The JDK cannot derive an Ed25519 public key from the private
   * one, so both are stored.
   */
  public String toPem() {
    return Pem.encode(privateKey) + Pem.encode(Pem.PUBLIC_KEY, spki(publicKeyHex));
  }

  public String keyId() {
    return keyId;
  }

  public String publicKeyHex() {
    return publicKeyHex;
  }

  /** {@code {"keytype":"ED25519","keyval":{"public":"<hex>"}}}, as root metadata lists it. */
  public ObjectNode publicKeyJson() {
    return publicKeyJson(publicKeyHex);
  }

  /** Signs the canonical JSON of {@code signed}. */
  public TufSignature sign(JsonNode signed) {
    try {
      Signature signer = Signature.getInstance("Ed25519");
      signer.initSign(privateKey);
      signer.update(CanonicalJson.encode(signed));
      return new TufSignature(
          keyId, SIGNATURE_METHOD, Base64.getEncoder().encodeToString(signer.sign()));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Ed25519 signing failed", e);
    }
  }

  /**
   * Whether {@code signature} is a valid Ed25519 signature of {@code signed} by the key {@code
   * publicKeyHex}. Accepts the signature in base64 or hex, as both occur in the wild.
   */
  public static boolean verify(String publicKeyHex, JsonNode signed, TufSignature signature) {
    try {
      if (!SIGNATURE_METHOD.equalsIgnoreCase(signature.method())
          || !keyIdOf(publicKeyHex).equals(signature.keyid())) {
        return false;
      }
      Signature verifier = Signature.getInstance("Ed25519");
      verifier.initVerify(publicKey(spki(publicKeyHex)));
      verifier.update(CanonicalJson.encode(signed));
      return verifier.verify(decodeSignature(signature.sig()));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      return false;
    }
  }

  /**
   * @throws IllegalArgumentException if {@code publicKeyHex} is not 32 bytes of hex
   */
  public static String keyIdOf(String publicKeyHex) {
    try {
      return HexFormat.of()
          .formatHex(MessageDigest.getInstance("SHA-256").digest(spki(publicKeyHex)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK lacks SHA-256", e);
    }
  }

  private static ObjectNode publicKeyJson(String publicKeyHex) {
    ObjectNode key = JsonNodeFactory.instance.objectNode();
    key.put("keytype", KEY_TYPE);
    key.putObject("keyval").put("public", publicKeyHex);
    return key;
  }

  private static byte[] decodeSignature(String sig) {
    // 64 signature bytes are 128 hex digits but 88 base64 characters, so the length tells them
    // apart.
    return sig.length() == 2 * 64 ? HexFormat.of().parseHex(sig) : Base64.getDecoder().decode(sig);
  }

  private static byte[] raw(PublicKey key) {
    byte[] spki = key.getEncoded();
    return Arrays.copyOfRange(spki, spki.length - RAW_KEY_BYTES, spki.length);
  }

  private static byte[] spki(String publicKeyHex) {
    byte[] raw = HexFormat.of().parseHex(publicKeyHex);
    if (raw.length != RAW_KEY_BYTES) {
      throw new IllegalArgumentException("an Ed25519 public key has 32 bytes, not " + raw.length);
    }
    byte[] spki = Arrays.copyOf(SPKI_PREFIX, SPKI_PREFIX.length + RAW_KEY_BYTES);
    System.arraycopy(raw, 0, spki, SPKI_PREFIX.length, RAW_KEY_BYTES);
    return spki;
  }

  private static PublicKey publicKey(byte[] spki) {
    try {
      return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("malformed Ed25519 public key", e);
    }
  }

  @Override
  public String toString() {
    return "Ed25519TufKey[keyid=" + keyId + "]";
  }
}
