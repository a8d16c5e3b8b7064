package io.flotilla.core.pki;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * What the device port presents in the TLS handshake.
 *
 * @param chain the server certificate first, then the server CA ({@code root.crt}) that devices
 *     trust
 */
public record ServerCredentials(PrivateKey privateKey, List<X509Certificate> chain) {

  public ServerCredentials {
    chain = List.copyOf(chain);
  }

  public X509Certificate certificate() {
    return chain.get(0);
  }

  @Override
  public String toString() {
    return "ServerCredentials[subject=" + certificate().getSubjectX500Principal().getName() + "]";
  }
}
