package io.flotilla.gateway.device;

import io.flotilla.core.auth.DeviceIdentities;
import io.flotilla.core.auth.Principal;
import io.flotilla.core.pki.PkiFiles;
import io.flotilla.core.pki.RevocationCheck;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The registry credentials of {@code GET /hub-creds/}: username {@code device/<factory>/<uuid>},
 * secret {@code <expiry epoch seconds>.<HMAC-SHA256 of username and expiry>}. Self-contained, so
 * the registry checks them with {@link #verify} without a database or an entity: stateless across
 * nodes that share the key file ({@code <pki-dir>/hub-creds.key}, like the CAs), and a
 * decommissioned device's credentials stop working at once.
 */
public final class DeviceHubCredentials implements DeviceIdentities {

  public static final String USERNAME_PREFIX = "device/";
  static final String KEY_FILE = "hub-creds.key";
  private static final String PROXY_LABEL = "apps-proxy\n";

  /**
   * Far above a real one (factory and uuid are bounded): anything longer is refused before it is
   * decoded.
   */
  private static final int MAX_CAPABILITY = 1024;

  /** The wire answer: {@code {"Username": "...", "Secret": "..."}}. */
  public record Credentials(String username, String secret, Instant expiresAt) {}

  private final byte[] key;
  private final Duration ttl;
  private final RevocationCheck revocation;

  DeviceHubCredentials(byte[] key, Duration ttl, RevocationCheck revocation) {
    this.key = key.clone();
    this.ttl = ttl;
    this.revocation = revocation;
  }

  /**
   * Loads the key from {@code pkiDir}, creating it on first use (nodes sharing the dir agree on one
   * key).
   */
  public static DeviceHubCredentials open(Path pkiDir, Duration ttl, RevocationCheck revocation) {
    Path file = pkiDir.resolve(KEY_FILE);
    String hex =
        PkiFiles.readIfExists(file)
            .orElseGet(
                () -> {
                  byte[] fresh = new byte[32];
                  new SecureRandom().nextBytes(fresh);
                  PkiFiles.createSecretIfAbsent(file, HexFormat.of().formatHex(fresh) + "\n");
                  return PkiFiles.readIfExists(file).orElseThrow();
                });
    return new DeviceHubCredentials(HexFormat.of().parseHex(hex.strip()), ttl, revocation);
  }

  public Credentials issue(String factory, String uuid, Instant now) {
    String username = USERNAME_PREFIX + factory + "/" + uuid;
    long expiry = now.plus(ttl).getEpochSecond();
    return new Credentials(
        username, expiry + "." + mac(username, expiry), Instant.ofEpochSecond(expiry));
  }

  /**
   * The factory whose repositories these credentials may pull, when they are genuine, unexpired and
   * the device not decommissioned.
   */
  public Optional<String> verify(String username, String password) {
    return verify(username, password, Instant.now());
  }

  /** The device these credentials name, for {@code io.flotilla.core.auth.Access}. */
  @Override
  public Optional<Principal> identify(String username, String secret) {
    return verify(username, secret)
        .map(
            factory ->
                Principal.device(
                    factory, username.substring(USERNAME_PREFIX.length() + factory.length() + 1)));
  }

  Optional<String> verify(String username, String password, Instant now) {
    if (username == null || password == null || !username.startsWith(USERNAME_PREFIX)) {
      return Optional.empty();
    }
    String[] parts = username.substring(USERNAME_PREFIX.length()).split("/", -1);
    int dot = password.indexOf('.');
    if (parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty() || dot <= 0) {
      return Optional.empty();
    }
    long expiry;
    try {
      expiry = Long.parseLong(password.substring(0, dot));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
    byte[] expected = mac(username, expiry).getBytes(StandardCharsets.US_ASCII);
    byte[] presented = password.substring(dot + 1).getBytes(StandardCharsets.US_ASCII);
    if (!MessageDigest.isEqual(expected, presented) || now.getEpochSecond() >= expiry) {
      return Optional.empty();
    }
    if (revocation.isRevoked(parts[0], parts[1], BigInteger.ZERO)) {
      return Optional.empty();
    }
    return Optional.of(parts[0]);
  }

  /**
   * A capability for the apps proxy ({@link AppsProxy}): {@code <base64url(factory \n uuid \n
   * expiry)>.<MAC>}, path-safe. Its MAC covers a label of its own, so a capability never passes for
   * registry credentials nor the reverse (a username always starts with {@code device/}).
   */
  String proxyCapability(String factory, String uuid, Instant expiresAt) {
    String payload = factory + "\n" + uuid + "\n" + expiresAt.getEpochSecond();
    return Base64.getUrlEncoder()
            .withoutPadding()
            .encodeToString(payload.getBytes(StandardCharsets.UTF_8))
        + "."
        + mac(PROXY_LABEL + payload);
  }

  /**
   * The factory a genuine, unexpired capability of a device that is not decommissioned may read.
   */
  Optional<String> verifyProxyCapability(String capability, Instant now) {
    int dot = capability.indexOf('.');
    if (capability.length() > MAX_CAPABILITY || dot <= 0) {
      return Optional.empty();
    }
    String payload;
    try {
      payload =
          new String(
              Base64.getUrlDecoder().decode(capability.substring(0, dot)), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
    byte[] expected = mac(PROXY_LABEL + payload).getBytes(StandardCharsets.US_ASCII);
    if (!MessageDigest.isEqual(
        expected, capability.substring(dot + 1).getBytes(StandardCharsets.US_ASCII))) {
      return Optional.empty();
    }
    String[] parts = payload.split("\n", -1);
    if (parts.length != 3
        || now.getEpochSecond() >= Long.parseLong(parts[2])
        || revocation.isRevoked(parts[0], parts[1], BigInteger.ZERO)) {
      return Optional.empty();
    }
    return Optional.of(parts[0]);
  }

  private String mac(String username, long expiry) {
    return mac(username + "\n" + expiry);
  }

  private String mac(String message) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return Base64.getUrlEncoder()
          .withoutPadding()
          .encodeToString(mac.doFinal(message.getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK lacks HmacSHA256", e);
    }
  }
}
