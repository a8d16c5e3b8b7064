package io.flotilla.gateway.tls;

import io.flotilla.core.pki.DeviceCertificateVerifier;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trust decision of the device port's TLS handshake: a client chain is trusted when it is a device
 * certificate of a factory CA that exists at that moment, for that CA's own factory, and not
 * revoked. Unlike a trust store loaded at start it sees factories created later, because it asks
 * the PKI on every handshake.
 */
final class DeviceTrustManager extends X509ExtendedTrustManager {

  private static final Logger LOG = LoggerFactory.getLogger(DeviceTrustManager.class);
  private static final X509Certificate[] NO_ISSUERS = new X509Certificate[0];

  private final DeviceCertificateVerifier verifier;
  private final TlsHandshakes handshakes;

  DeviceTrustManager(DeviceCertificateVerifier verifier, TlsHandshakes handshakes) {
    this.verifier = verifier;
    this.handshakes = handshakes;
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    try {
      verifier.verify(chain);
    } catch (CertificateException e) {
      LOG.info("refused device certificate {}: {}", subjectOf(chain), e.getMessage());
      throw e;
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    checkClientTrusted(chain, authType);
  }

  /**
   * Nothing is left on the handshake session: the JDK gives a TLS 1.3 session with a bound value
   * ({@code putValue}) a ticket kept in the server's session cache instead of a stateless one, and
   * a fleet larger than that bounded cache could not resume. {@link DeviceIdentityDirectives} reads
   * the identity from the verified chain on the connection's first request instead.
   */
  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    checkClientTrusted(chain, authType);
    handshakes.verified(engine.getHandshakeSession());
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    throw new CertificateException("the device port never acts as a TLS client");
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    checkServerTrusted(chain, authType);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    checkServerTrusted(chain, authType);
  }

  /**
   * Empty on purpose: the CertificateRequest then names no CAs, and clients send their certificate
   * whatever CA issued it (TLS 1.2 §7.4.4). Listing every factory CA would grow without bound with
   * the number of factories, and Go's TLS client (fioup) sends no certificate at all if its issuer
   * is not in a non-empty list.
   */
  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return NO_ISSUERS;
  }

  private static String subjectOf(X509Certificate[] chain) {
    return chain == null || chain.length == 0
        ? "(none)"
        : "'" + chain[0].getSubjectX500Principal().getName() + "'";
  }
}
