package io.flotilla.gateway.tls;

import com.typesafe.config.Config;
import io.flotilla.core.pki.Pem;
import io.flotilla.core.pki.ServerCredentials;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;

/**
 * TLS of the API port (management API, registry, git), from {@code flotilla.http.tls}:
 *
 * <ul>
 *   <li>{@code auto} (default): HTTPS when {@code flotilla.http.interface} is anything but a
 *       loopback address, so tokens never cross a network in clear; plain HTTP on loopback, where
 *       they never leave the machine;
 *   <li>{@code on}: always HTTPS; {@code off}: always plain HTTP (behind a TLS-terminating proxy).
 * </ul>
 *
 * The certificate is {@code flotilla.http.tls-certificate} + {@code tls-key} (PEM files) when both
 * are set, else the node's server certificate, which the server CA ({@code
 * <data-dir>/pki/root.crt}, served at {@code /ca.crt}) signs for the names in {@code
 * flotilla.pki.server-sans}, the same the device port presents.
 */
public final class ApiTls {

  private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

  private ApiTls() {}

  /** Whether the API port serves HTTPS with this configuration. */
  public static boolean enabled(Config config) {
    String mode = config.getString("flotilla.http.tls").toLowerCase(Locale.ROOT);
    return switch (mode) {
      case "on" -> true;
      case "off" -> false;
      case "auto" -> !isLoopback(config.getString("flotilla.http.interface"));
      default ->
          throw new IllegalArgumentException(
              "flotilla.http.tls must be auto, on or off, not '" + mode + "'");
    };
  }

  /**
   * The configured certificate and key, if both are set: otherwise the server CA's certificate is
   * used.
   */
  public static Optional<ServerCredentials> configured(Config config) {
    String certificate = config.getString("flotilla.http.tls-certificate");
    String key = config.getString("flotilla.http.tls-key");
    if (certificate.isBlank() && key.isBlank()) {
      return Optional.empty();
    }
    if (certificate.isBlank() || key.isBlank()) {
      throw new IllegalArgumentException(
          "set both flotilla.http.tls-certificate and flotilla.http.tls-key, or neither");
    }
    try {
      List<X509Certificate> chain = Pem.certificates(Files.readString(Path.of(certificate)));
      if (chain.isEmpty()) {
        throw new IllegalArgumentException("no PEM certificate in " + certificate);
      }
      return Optional.of(
          new ServerCredentials(privateKey(Files.readString(Path.of(key)), key), chain));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the API port's certificate or key", e);
    }
  }

  /** Server-side engines for the API port's connections, one per connection. */
  public static Supplier<SSLEngine> engines(ServerCredentials credentials) {
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(DeviceTls.keyManagers(credentials), null, new SecureRandom());
      return () -> {
        SSLEngine engine = context.createSSLEngine();
        engine.setUseClientMode(false);
        engine.setEnabledProtocols(PROTOCOLS);
        return engine;
      };
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot set up TLS for the API port", e);
    }
  }

  /**
   * The SHA-256 fingerprint as {@code openssl x509 -noout -fingerprint -sha256} prints it, to check
   * a fetched CA.
   */
  public static String fingerprint(X509Certificate certificate) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded());
      return "SHA256 Fingerprint=" + HexFormat.ofDelimiter(":").withUpperCase().formatHex(digest);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(
          "the JVM has no SHA-256 or cannot encode a certificate it read", e);
    }
  }

  /** 127.0.0.0/8, ::1 and localhost: the addresses from which nothing reaches another machine. */
  public static boolean isLoopback(String address) {
    if (address.equalsIgnoreCase("localhost")) {
      return true;
    }
    try {
      return InetAddress.getByName(address).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  private static PrivateKey privateKey(String pem, String file) {
    for (String algorithm : List.of("EC", "RSA", "Ed25519")) {
      try {
        return Pem.privateKey(pem, algorithm);
      } catch (IllegalArgumentException wrongAlgorithm) {
        // the next algorithm may read it
      }
    }
    throw new IllegalArgumentException("no PKCS#8 EC, RSA or Ed25519 private key in " + file);
  }
}
