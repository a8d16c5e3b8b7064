package io.flotilla.gateway.tls;

import java.util.Collections;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.LongAdder;
import javax.net.ssl.SSLSession;

/**
 * Device connections by how their TLS session began: a full handshake (the device presented its
 * certificate, which {@link DeviceTrustManager} verified) or a resumption (a TLS 1.3 session
 * ticket: no certificate is asked for, RFC 8446 §4.3.2). The JDK's {@code SSLEngine} does not say
 * which, so the trust manager marks the sessions it verified and {@link DeviceIdentityDirectives}
 * counts each session at its first request: marked, full; not marked but holding a certificate,
 * resumed. Connections without a client certificate (the apps proxy) are not counted, nor TLS 1.2
 * resumptions by session id, which reuse the session object a full handshake made.
 */
public final class TlsHandshakes {

  /**
   * Weak keys, and nothing bound to the session itself: a value put on a TLS 1.3 session makes the
   * JDK send a cache-bound ticket instead of a stateless one (docs/development.md).
   */
  private final Set<SSLSession> verified =
      Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));

  private final LongAdder full = new LongAdder();
  private final LongAdder resumed = new LongAdder();

  void verified(SSLSession handshakeSession) {
    if (handshakeSession != null) {
      verified.add(handshakeSession);
    }
  }

  void firstRequest(SSLSession session) {
    if (verified.remove(session)) {
      full.increment();
    } else {
      resumed.increment();
    }
  }

  public long full() {
    return full.sum();
  }

  public long resumed() {
    return resumed.sum();
  }
}
