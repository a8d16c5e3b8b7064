package io.flotilla.core.pki;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CertSelector;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.KeyPurposeId;

/**
 * Decides whether a presented client certificate is a device of some factory. The factory is taken
 * from the certificate's OU, and the certificate must then verify against that factory's CA and no
 * other: a CA can vouch only for its own factory's devices, so a certificate from factory A's CA
 * claiming OU=B fails because B's CA did not sign it. Factories are looked up at each call, so a
 * factory created after start is trusted at once.
 */
public final class DeviceCertificateVerifier {

  private final DeviceCertificateAuthorities authorities;
  private final RevocationCheck revocation;

  public DeviceCertificateVerifier(
      DeviceCertificateAuthorities authorities, RevocationCheck revocation) {
    this.authorities = authorities;
    this.revocation = revocation;
  }

  /**
   * Verifies the chain a client presented (only its first certificate counts: the trusted CA is
   * ours, not whatever the client sends along) and returns the device it identifies.
   *
   * @throws CertificateException with a reason fit for logs and error details
   */
  public DeviceIdentity verify(X509Certificate[] chain) throws CertificateException {
    if (chain == null || chain.length == 0) {
      throw new CertificateException("no client certificate");
    }
    X509Certificate leaf = chain[0];
    DeviceIdentity claimed = readIdentity(leaf);
    CertificateAuthority ca =
        authorities
            .find(claimed.factory())
            .orElseThrow(
                () ->
                    new CertificateException(
                        "no device CA for factory '" + claimed.factory() + "'"));
    if (!leaf.getIssuerX500Principal().equals(ca.certificate().getSubjectX500Principal())) {
      throw new CertificateException(
          "certificate of "
              + claimed.uuid()
              + " was not issued by the device CA of '"
              + claimed.factory()
              + "'");
    }
    validatePath(leaf, ca.certificate());
    if (revocation.isRevoked(claimed.factory(), claimed.uuid(), claimed.serial())) {
      throw new CertificateException(
          "certificate of device "
              + claimed.uuid()
              + " (serial "
              + claimed.serial().toString(16)
              + ") is revoked");
    }
    return claimed;
  }

  /**
   * For an identity that {@link #verify} accepted earlier for the same TLS session: only what can
   * have changed since, revocation and expiry, are checked again. The signature and chain cannot
   * change within a session.
   */
  public DeviceIdentity reverify(DeviceIdentity identity, java.time.Instant now)
      throws CertificateException {
    if (now.isAfter(identity.notAfter())) {
      throw new CertificateException(
          "certificate of device " + identity.uuid() + " expired at " + identity.notAfter());
    }
    if (revocation.isRevoked(identity.factory(), identity.uuid(), identity.serial())) {
      throw new CertificateException(
          "certificate of device "
              + identity.uuid()
              + " (serial "
              + identity.serial().toString(16)
              + ") is revoked");
    }
    return identity;
  }

  /**
   * What a certificate says about the device, without checking who signed it. Only for certificates
   * already verified, or for display.
   */
  public static DeviceIdentity readIdentity(X509Certificate certificate)
      throws CertificateException {
    X500Name subject = Certificates.subjectOf(certificate);
    try {
      String uuid =
          Certificates.single(subject, BCStyle.CN)
              .orElseThrow(
                  () -> new CertificateException("the certificate has no CN (device uuid)"));
      String factory =
          Certificates.single(subject, BCStyle.OU)
              .orElseThrow(() -> new CertificateException("the certificate has no OU (factory)"));
      boolean production =
          Certificates.single(subject, Certificates.BUSINESS_CATEGORY)
              .map(Certificates.PRODUCTION::equals)
              .orElse(false);
      return new DeviceIdentity(
          factory,
          uuid,
          production,
          certificate.getSerialNumber(),
          certificate.getNotAfter().toInstant(),
          Pem.encode(certificate.getPublicKey()));
    } catch (IllegalArgumentException e) {
      throw new CertificateException("ambiguous certificate subject: " + e.getMessage(), e);
    }
  }

  /** Standard PKIX checks (signature, validity dates, constraints) plus the clientAuth purpose. */
  private static void validatePath(X509Certificate leaf, X509Certificate caCertificate)
      throws CertificateException {
    try {
      PKIXParameters parameters = new PKIXParameters(Set.of(new TrustAnchor(caCertificate, null)));
      // Revocation is the caller's RevocationCheck; there are no CRLs or OCSP responders to ask.
      parameters.setRevocationEnabled(false);
      X509CertSelector clientAuth = new X509CertSelector();
      clientAuth.setExtendedKeyUsage(Set.of(KeyPurposeId.id_kp_clientAuth.getId()));
      parameters.setTargetCertConstraints(clientAuth);
      CertPathValidator.getInstance("PKIX")
          .validate(
              CertificateFactory.getInstance("X.509").generateCertPath(List.of(leaf)), parameters);
    } catch (CertPathValidatorException e) {
      throw new CertificateException("device certificate rejected: " + e.getMessage(), e);
    } catch (InvalidAlgorithmParameterException | IOException e) {
      throw new IllegalStateException("bad PKIX parameters", e);
    } catch (GeneralSecurityException e) {
      throw new CertificateException("device certificate cannot be checked: " + e.getMessage(), e);
    }
  }
}
