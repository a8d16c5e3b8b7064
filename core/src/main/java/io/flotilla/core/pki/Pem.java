package io.flotilla.core.pki;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemReader;
import org.bouncycastle.util.io.pem.PemWriter;

/**
 * PEM text for certificates, keys and CSRs. Keys are always PKCS#8 ("PRIVATE KEY"), which curl,
 * OpenSSL and Go read alike. Only the JDK's own providers do the crypto, so no provider is
 * registered globally.
 */
public final class Pem {

  public static final String CERTIFICATE = "CERTIFICATE";
  public static final String PRIVATE_KEY = "PRIVATE KEY";
  public static final String PUBLIC_KEY = "PUBLIC KEY";
  public static final String CERTIFICATE_REQUEST = "CERTIFICATE REQUEST";

  private Pem() {}

  public static String encode(String type, byte[] der) {
    StringWriter out = new StringWriter();
    try (PemWriter writer = new PemWriter(out)) {
      writer.writeObject(new PemObject(type, der));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  public static String encode(X509Certificate certificate) {
    try {
      return encode(CERTIFICATE, certificate.getEncoded());
    } catch (CertificateException e) {
      throw new IllegalStateException(e);
    }
  }

  public static String encode(PrivateKey key) {
    return encode(PRIVATE_KEY, key.getEncoded());
  }

  public static String encode(PublicKey key) {
    return encode(PUBLIC_KEY, key.getEncoded());
  }

  /** Every PEM block in {@code text}, in order; text outside blocks is ignored as PEM allows. */
  public static List<PemObject> blocks(String text) {
    List<PemObject> result = new ArrayList<>();
    try (PemReader reader = new PemReader(new StringReader(text))) {
      for (PemObject block = reader.readPemObject();
          block != null;
          block = reader.readPemObject()) {
        result.add(block);
      }
    } catch (IOException e) {
      throw new IllegalArgumentException("malformed PEM: " + e.getMessage(), e);
    }
    return result;
  }

  public static List<X509Certificate> certificates(String text) {
    List<X509Certificate> result = new ArrayList<>();
    for (PemObject block : blocks(text)) {
      if (block.getType().equals(CERTIFICATE)) {
        result.add(certificate(block.getContent()));
      }
    }
    return result;
  }

  public static X509Certificate certificate(String text) {
    List<X509Certificate> all = certificates(text);
    if (all.isEmpty()) {
      throw new IllegalArgumentException("no PEM certificate found");
    }
    return all.get(0);
  }

  public static X509Certificate certificate(byte[] der) {
    try {
      return (X509Certificate)
          CertificateFactory.getInstance("X.509")
              .generateCertificate(new ByteArrayInputStream(der));
    } catch (CertificateException e) {
      throw new IllegalArgumentException("malformed certificate: " + e.getMessage(), e);
    }
  }

  /**
   * The first PKCS#8 private key in {@code text}; {@code algorithm} is a JDK KeyFactory name (EC,
   * Ed25519).
   */
  public static PrivateKey privateKey(String text, String algorithm) {
    for (PemObject block : blocks(text)) {
      if (block.getType().equals(PRIVATE_KEY)) {
        try {
          return KeyFactory.getInstance(algorithm)
              .generatePrivate(new PKCS8EncodedKeySpec(block.getContent()));
        } catch (GeneralSecurityException e) {
          throw new IllegalArgumentException("malformed " + algorithm + " private key", e);
        }
      }
    }
    throw new IllegalArgumentException("no PEM private key found");
  }
}
