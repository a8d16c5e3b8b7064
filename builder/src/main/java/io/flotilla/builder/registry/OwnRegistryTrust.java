package io.flotilla.builder.registry;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * What the builder trusts over HTTPS: the JDK's roots (external registries) plus the node's server
 * CA, which signs the API port's certificate when the port serves HTTPS and the builder pushes to
 * its own registry through it.
 */
public final class OwnRegistryTrust {

  private OwnRegistryTrust() {}

  /** {@code serverCa} may not exist (yet): then only the JDK's roots are trusted. */
  public static SSLContext sslContext(Path serverCa) {
    try {
      List<X509TrustManager> managers = new ArrayList<>();
      managers.add(trustManager(null));
      if (Files.isReadable(serverCa)) {
        KeyStore own = KeyStore.getInstance("PKCS12");
        own.load(null, null);
        try (InputStream in = Files.newInputStream(serverCa)) {
          own.setCertificateEntry(
              "flotilla-server-ca",
              CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        managers.add(trustManager(own));
      }
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, new TrustManager[] {new AnyOf(managers)}, null);
      return context;
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot set up the builder's TLS trust from " + serverCa, e);
    }
  }

  private static X509TrustManager trustManager(KeyStore store) throws GeneralSecurityException {
    TrustManagerFactory factory =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(store);
    for (TrustManager manager : factory.getTrustManagers()) {
      if (manager instanceof X509TrustManager x509) {
        return x509;
      }
    }
    throw new IllegalStateException("the JDK offers no X509TrustManager");
  }

  /** Trusts a server chain when one of the managers does. */
  private record AnyOf(List<X509TrustManager> managers) implements X509TrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
        throws java.security.cert.CertificateException {
      throw new java.security.cert.CertificateException("the builder's trust is for servers only");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
        throws java.security.cert.CertificateException {
      java.security.cert.CertificateException last = null;
      for (X509TrustManager manager : managers) {
        try {
          manager.checkServerTrusted(chain, authType);
          return;
        } catch (java.security.cert.CertificateException e) {
          last = e;
        }
      }
      throw last;
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return managers.stream()
          .flatMap(m -> java.util.Arrays.stream(m.getAcceptedIssuers()))
          .toArray(X509Certificate[]::new);
    }
  }
}
