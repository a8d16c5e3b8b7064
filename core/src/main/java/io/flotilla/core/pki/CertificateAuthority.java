package io.flotilla.core.pki;

import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import org.bouncycastle.asn1.x500.X500Name;

/**
 * A CA certificate with its private key. The key is reachable only inside this package and never
 * printed: the CA is shown by its subject and serial.
 */
public final class CertificateAuthority {

  private final X509Certificate certificate;
  private final PrivateKey privateKey;

  private CertificateAuthority(X509Certificate certificate, PrivateKey privateKey) {
    this.certificate = certificate;
    this.privateKey = privateKey;
  }

  static CertificateAuthority create(X500Name subject, Duration validity) {
    KeyPair keys = Certificates.newP256KeyPair();
    return new CertificateAuthority(
        Certificates.selfSignedCa(subject, keys, validity), keys.getPrivate());
  }

  /** Reads what {@link #toPem()} wrote. */
  static CertificateAuthority fromPem(String pem) {
    return new CertificateAuthority(Pem.certificate(pem), Pem.privateKey(pem, "EC"));
  }

  /** Key and certificate in one text, so the pair is stored (and replaced) as one file. */
  String toPem() {
    return Pem.encode(privateKey) + Pem.encode(certificate);
  }

  PrivateKey privateKey() {
    return privateKey;
  }

  public X509Certificate certificate() {
    return certificate;
  }

  public String certificatePem() {
    return Pem.encode(certificate);
  }

  /** Leaf certificates this CA issued carry this issuer name. */
  public X500Name subject() {
    return Certificates.subjectOf(certificate);
  }

  @Override
  public String toString() {
    return "CertificateAuthority[subject="
        + certificate.getSubjectX500Principal().getName()
        + ", serial="
        + certificate.getSerialNumber().toString(16)
        + "]";
  }
}
