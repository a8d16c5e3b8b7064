package io.flotilla.gateway.tls;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.core.pki.DeviceCertificateVerifier;
import io.flotilla.core.pki.DeviceIdentity;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.function.Function;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.SslSessionInfo;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Gives device routes the identity of the device on the other end of the connection.
 *
 * <p>The certificate's revocation and expiry are checked again on each request, not only at the
 * handshake: a keep-alive connection or a resumed TLS session can outlive a decommission or the
 * certificate's expiry. Its signature and chain are not: {@link DeviceTrustManager} verified them
 * when the TLS session was established, so the server must be bound with {@link
 * DeviceTls#httpsContext} (and with {@link DeviceTls#serverSettings}, which puts the TLS session on
 * each request).
 */
public final class DeviceIdentityDirectives {

  private final DeviceCertificateVerifier verifier;
  private final TlsHandshakes handshakes;

  /**
   * The identity of each live TLS session once a request has read it, so later requests on a
   * keep-alive connection only check revocation and expiry. Not a value bound to the session: on
   * TLS 1.3 the JDK answers {@code SSLSession.putValue} by sending the device a ticket held in the
   * server's session cache instead of a stateless one, and that cache is bounded far below the size
   * of a fleet. Weak keys: an entry goes with its session. Each entry keeps the certificate it was
   * read from and is used only for a session presenting that same certificate: sessions are keys by
   * {@code equals}, and BoringSSL's (netty) compare equal by session id, which TLS 1.3 sessions
   * from stateless tickets do not have, so two devices' sessions can be the same key.
   */
  private final Map<SSLSession, Verified> verified =
      Collections.synchronizedMap(new WeakHashMap<>());

  private record Verified(X509Certificate leaf, DeviceIdentity identity) {}

  public DeviceIdentityDirectives(DeviceCertificateVerifier verifier) {
    this(verifier, new TlsHandshakes());
  }

  public DeviceIdentityDirectives(DeviceCertificateVerifier verifier, TlsHandshakes handshakes) {
    this.verifier = verifier;
    this.handshakes = handshakes;
  }

  /** Runs {@code inner} with the verified device, or answers 401 {@code {"error","detail"}}. */
  public Route deviceIdentity(Function<DeviceIdentity, Route> inner) {
    return extractRequest(
        request -> {
          try {
            return inner.apply(identity(session(request)));
          } catch (CertificateException e) {
            return unauthorized(e.getMessage());
          }
        });
  }

  /**
   * The session's peer chain passed {@link DeviceTrustManager} in a full handshake: this
   * connection's, or, for a resumed session, the one that issued the session ticket (tickets are
   * encrypted and authenticated with this server's keys, so a client cannot forge one). It is not
   * verified again here: that would cost a resumed handshake an ECDSA verification it exists to
   * avoid. What can have changed since is checked.
   */
  private DeviceIdentity identity(SSLSession session) throws CertificateException {
    Instant now = Instant.now();
    X509Certificate leaf = leaf(session);
    Verified known = verified.get(session);
    if (known != null && known.leaf().equals(leaf)) {
      return verifier.reverify(known.identity(), now);
    }
    handshakes.firstRequest(session);
    DeviceIdentity identity = verifier.reverify(DeviceCertificateVerifier.readIdentity(leaf), now);
    verified.put(session, new Verified(leaf, identity));
    return identity;
  }

  private static SSLSession session(HttpRequest request) throws CertificateException {
    SslSessionInfo session =
        request
            .getAttribute(AttributeKeys.sslSession)
            .orElseThrow(
                () ->
                    new CertificateException(
                        "no TLS session on this request (device port bound without "
                            + "DeviceTls.serverSettings?)"));
    return session.getSession();
  }

  private static X509Certificate leaf(SSLSession session) throws CertificateException {
    try {
      Certificate[] certificates = session.getPeerCertificates();
      if (certificates.length > 0 && certificates[0] instanceof X509Certificate leaf) {
        return leaf;
      }
      throw new CertificateException("no X.509 client certificate");
    } catch (SSLPeerUnverifiedException e) {
      throw new CertificateException("no client certificate");
    }
  }

  private static Route unauthorized(String detail) {
    ObjectNode body = JsonNodeFactory.instance.objectNode();
    body.put("error", "unauthorized");
    body.put("detail", detail);
    return complete(
        StatusCodes.UNAUTHORIZED,
        HttpEntities.create(ContentTypes.APPLICATION_JSON, body.toString()));
  }
}
