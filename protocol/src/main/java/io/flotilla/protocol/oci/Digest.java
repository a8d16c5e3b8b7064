package io.flotilla.protocol.oci;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * A content digest {@code sha256:<64 lowercase hex>}. Only sha256 is accepted: it is what every
 * client of this system writes, and refusing the rest keeps blob paths and comparisons unambiguous.
 */
public record Digest(String hex) implements Comparable<Digest> {

  public static final String ALGORITHM = "sha256";
  private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");

  public Digest {
    if (hex == null || !HEX.matcher(hex).matches()) {
      throw new IllegalArgumentException("not a sha256 hex digest: " + hex);
    }
  }

  /** Parses {@code sha256:<64 hex>}; throws IllegalArgumentException with the reason otherwise. */
  @JsonCreator
  public static Digest parse(String text) {
    if (text == null) {
      throw new IllegalArgumentException("missing digest");
    }
    int colon = text.indexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException("digest has no algorithm prefix: " + abbreviate(text));
    }
    String algorithm = text.substring(0, colon);
    if (!ALGORITHM.equals(algorithm)) {
      throw new IllegalArgumentException(
          "unsupported digest algorithm '" + abbreviate(algorithm) + "', only sha256");
    }
    String hex = text.substring(colon + 1);
    if (!HEX.matcher(hex).matches()) {
      throw new IllegalArgumentException(
          "sha256 digest must be 64 lowercase hex characters: " + abbreviate(text));
    }
    return new Digest(hex);
  }

  public static boolean isValid(String text) {
    try {
      parse(text);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  public static Digest of(byte[] content) {
    return new Digest(HexFormat.of().formatHex(sha256().digest(content)));
  }

  public static Digest of(InputStream in) throws IOException {
    MessageDigest md = sha256();
    byte[] buffer = new byte[64 * 1024];
    for (int n; (n = in.read(buffer)) > 0; ) {
      md.update(buffer, 0, n);
    }
    return new Digest(HexFormat.of().formatHex(md.digest()));
  }

  public static Digest of(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return of(in);
    }
  }

  public static Digest of(MessageDigest finishedSha256) {
    return new Digest(HexFormat.of().formatHex(finishedSha256.digest()));
  }

  public static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  @JsonValue
  @Override
  public String toString() {
    return ALGORITHM + ":" + hex;
  }

  /** First 12 hex characters, for human output. */
  public String shortHex() {
    return hex.substring(0, 12);
  }

  @Override
  public int compareTo(Digest other) {
    return hex.compareTo(other.hex);
  }

  private static String abbreviate(String s) {
    return s.length() > 80 ? s.substring(0, 80) + "..." : s;
  }
}
