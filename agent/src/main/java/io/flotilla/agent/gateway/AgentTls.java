package io.flotilla.agent.gateway;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Collection;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/**
 * The device's TLS identity from the PEM files registration wrote: {@code pkey.pem} (PKCS#8 or SEC1
 * EC key), {@code client.pem} (certificate, possibly with its chain) and {@code root.crt} (the CA
 * the gateway's certificate chains to; the only one trusted, so a device talks to its own server
 * and nothing else).
 */
public final class AgentTls {

  private static final char[] IN_MEMORY = new char[0];

  private AgentTls() {}

  public static SSLContext mutualTls(Path caCert, Path clientCert, Path privateKey)
      throws IOException {
    try {
      KeyStore identity = KeyStore.getInstance("PKCS12");
      identity.load(null, null);
      identity.setKeyEntry(
          "device",
          readPrivateKey(privateKey),
          IN_MEMORY,
          readCertificates(clientCert).toArray(new Certificate[0]));
      KeyManagerFactory keys =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      keys.init(identity, IN_MEMORY);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keys.getKeyManagers(), trustOnly(caCert).getTrustManagers(), null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IOException(
          "cannot build the device TLS identity from "
              + clientCert
              + " and "
              + privateKey
              + ": "
              + e.getMessage(),
          e);
    }
  }

  /** TLS trusting only the given CA, without a client certificate (registration, registry). */
  public static SSLContext serverOnly(Path caCert) throws IOException {
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, trustOnly(caCert).getTrustManagers(), null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot load the CA " + caCert + ": " + e.getMessage(), e);
    }
  }

  /**
   * For the registry, which may sit behind a certificate from a public CA or from the factory's own
   * CA: trusts both the JDK's roots and {@code root.crt} (when present).
   */
  public static SSLContext serverOnlyWithSystemRoots(Path caCert) throws IOException {
    try {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      TrustManagerFactory system =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      system.init((KeyStore) null);
      int i = 0;
      for (var manager : system.getTrustManagers()) {
        if (manager instanceof javax.net.ssl.X509TrustManager x509) {
          for (Certificate ca : x509.getAcceptedIssuers()) {
            trust.setCertificateEntry("system-" + i++, ca);
          }
        }
      }
      if (Files.exists(caCert)) {
        for (Certificate ca : readCertificates(caCert)) {
          trust.setCertificateEntry("factory-" + i++, ca);
        }
      }
      TrustManagerFactory factory =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(trust);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, factory.getTrustManagers(), null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot build the registry trust store: " + e.getMessage(), e);
    }
  }

  private static TrustManagerFactory trustOnly(Path caCert)
      throws IOException, GeneralSecurityException {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    int i = 0;
    for (Certificate ca : readCertificates(caCert)) {
      trust.setCertificateEntry("ca-" + i++, ca);
    }
    TrustManagerFactory factory =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(trust);
    return factory;
  }

  public static Collection<? extends Certificate> readCertificates(Path pem) throws IOException {
    try (InputStream in = Files.newInputStream(pem)) {
      Collection<? extends Certificate> certificates =
          CertificateFactory.getInstance("X.509").generateCertificates(in);
      if (certificates.isEmpty()) {
        throw new IOException("no certificate in " + pem);
      }
      return certificates;
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot read certificates from " + pem + ": " + e.getMessage(), e);
    }
  }

  public static PrivateKey readPrivateKey(Path pem) throws IOException {
    try (Reader reader = Files.newBufferedReader(pem);
        PEMParser parser = new PEMParser(reader)) {
      Object object = parser.readObject();
      JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
      if (object instanceof PEMKeyPair pair) {
        return converter.getKeyPair(pair).getPrivate();
      }
      if (object instanceof PrivateKeyInfo info) {
        return converter.getPrivateKey(info);
      }
      throw new IOException("no unencrypted private key in " + pem);
    }
  }
}
