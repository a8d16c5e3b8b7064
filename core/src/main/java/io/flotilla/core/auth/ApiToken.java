package io.flotilla.core.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A bearer token as handed to a user: {@code flt_<factory>_<id>_<secret>} for a factory token,
 * {@code fla_<id>_<secret>} for the server's admin token. The id tells which stored hash to compare
 * against, so a check is one entity lookup; only the SHA-256 of the secret is ever stored (the
 * secret is 256 random bits, so a plain hash is enough).
 */
public record ApiToken(String factory, String id, String secret) {

  private static final Pattern FACTORY_TOKEN =
      Pattern.compile("flt_([a-z0-9-]{3,63})_([0-9a-f]{16})_([0-9a-f]{64})");
  private static final Pattern ADMIN_TOKEN = Pattern.compile("fla_([0-9a-f]{16})_([0-9a-f]{64})");
  private static final SecureRandom RANDOM = new SecureRandom();

  public static ApiToken newFactoryToken(String factory) {
    return new ApiToken(factory, randomHex(8), randomHex(32));
  }

  public static ApiToken newAdminToken() {
    return new ApiToken(null, randomHex(8), randomHex(32));
  }

  public static Optional<ApiToken> parse(String value) {
    if (value == null) {
      return Optional.empty();
    }
    Matcher factory = FACTORY_TOKEN.matcher(value.strip());
    if (factory.matches()) {
      return Optional.of(new ApiToken(factory.group(1), factory.group(2), factory.group(3)));
    }
    Matcher admin = ADMIN_TOKEN.matcher(value.strip());
    if (admin.matches()) {
      return Optional.of(new ApiToken(null, admin.group(1), admin.group(2)));
    }
    return Optional.empty();
  }

  public boolean isAdmin() {
    return factory == null;
  }

  public String value() {
    return isAdmin() ? "fla_" + id + "_" + secret : "flt_" + factory + "_" + id + "_" + secret;
  }

  public String secretHash() {
    return hash(secret);
  }

  public static String hash(String secret) {
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK always has SHA-256", e);
    }
  }

  /** Constant-time, so that response times do not leak how much of a guessed hash matched. */
  public static boolean hashesEqual(String a, String b) {
    return a != null
        && b != null
        && MessageDigest.isEqual(
            a.getBytes(StandardCharsets.US_ASCII), b.getBytes(StandardCharsets.US_ASCII));
  }

  @Override
  public String toString() {
    return "ApiToken[" + (isAdmin() ? "admin" : factory) + "/" + id + "]";
  }

  private static String randomHex(int bytes) {
    byte[] buffer = new byte[bytes];
    RANDOM.nextBytes(buffer);
    return HexFormat.of().formatHex(buffer);
  }
}
