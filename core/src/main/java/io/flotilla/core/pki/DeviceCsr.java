package io.flotilla.core.pki;

import static io.flotilla.core.pki.CsrRejectedException.Reason.BAD_SIGNATURE;
import static io.flotilla.core.pki.CsrRejectedException.Reason.CN_MISMATCH;
import static io.flotilla.core.pki.CsrRejectedException.Reason.MALFORMED;
import static io.flotilla.core.pki.CsrRejectedException.Reason.OU_MISMATCH;
import static io.flotilla.core.pki.CsrRejectedException.Reason.UNSUPPORTED_KEY;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;
import org.bouncycastle.util.io.pem.PemObject;

/**
 * A device's certificate signing request whose signature has been checked (so the device holds the
 * key) and whose key is ECDSA P-256.
 *
 * @param commonName the CN, which must be the device uuid
 * @param organizationalUnit the OU, which must be the factory
 * @param requestsProduction whether the subject carries {@code businessCategory=production}, as
 *     lmp-device-register puts it for production devices
 */
public record DeviceCsr(
    String commonName, String organizationalUnit, boolean requestsProduction, PublicKey publicKey) {

  /**
   * Upper bound far above a real CSR (~500 bytes) so hostile input is refused before any parsing.
   */
  private static final int MAX_PEM_CHARS = 16 * 1024;

  public DeviceCsr {
    Objects.requireNonNull(publicKey, "publicKey");
  }

  /** Parses and checks a PEM PKCS#10 CSR; every refusal is a {@link CsrRejectedException}. */
  public static DeviceCsr parse(String pem) {
    if (pem == null || pem.isBlank()) {
      throw new CsrRejectedException(MALFORMED, "the CSR is missing");
    }
    if (pem.length() > MAX_PEM_CHARS) {
      throw new CsrRejectedException(
          MALFORMED, "the CSR is larger than " + MAX_PEM_CHARS + " characters");
    }
    JcaPKCS10CertificationRequest request = decode(pem);
    PublicKey key;
    try {
      key = request.getPublicKey();
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new CsrRejectedException(
          UNSUPPORTED_KEY, "the CSR's public key cannot be read: " + e.getMessage());
    }
    if (!Certificates.isP256(key)) {
      throw new CsrRejectedException(
          UNSUPPORTED_KEY, "the CSR's key must be ECDSA P-256, got " + key.getAlgorithm());
    }
    try {
      if (!request.isSignatureValid(new JcaContentVerifierProviderBuilder().build(key))) {
        throw new CsrRejectedException(BAD_SIGNATURE, "the CSR's signature does not match its key");
      }
    } catch (OperatorCreationException | PKCSException e) {
      throw new CsrRejectedException(
          BAD_SIGNATURE, "the CSR's signature cannot be checked: " + e.getMessage());
    }
    X500Name subject = request.getSubject();
    try {
      String cn = Certificates.single(subject, BCStyle.CN).orElse("");
      String ou = Certificates.single(subject, BCStyle.OU).orElse("");
      boolean production =
          Certificates.single(subject, Certificates.BUSINESS_CATEGORY)
              .map(Certificates.PRODUCTION::equals)
              .orElse(false);
      return new DeviceCsr(cn, ou, production, key);
    } catch (IllegalArgumentException e) {
      throw new CsrRejectedException(
          MALFORMED, "the CSR's subject is ambiguous: " + e.getMessage());
    }
  }

  private static JcaPKCS10CertificationRequest decode(String pem) {
    List<PemObject> blocks;
    try {
      blocks = Pem.blocks(pem);
    } catch (IllegalArgumentException e) {
      throw new CsrRejectedException(MALFORMED, "the CSR is not valid PEM");
    }
    List<PemObject> requests =
        blocks.stream()
            .filter(
                b ->
                    b.getType().equals(Pem.CERTIFICATE_REQUEST)
                        || b.getType().equals("NEW CERTIFICATE REQUEST"))
            .toList();
    if (requests.size() != 1) {
      throw new CsrRejectedException(
          MALFORMED, "expected one PEM block 'CERTIFICATE REQUEST', found " + requests.size());
    }
    try {
      return new JcaPKCS10CertificationRequest(requests.get(0).getContent());
    } catch (IOException | RuntimeException e) {
      // BouncyCastle reports broken DER with several unchecked types; all mean the same to the
      // device.
      throw new CsrRejectedException(MALFORMED, "the CSR is not a PKCS#10 request");
    }
  }

  /** Refuses the CSR unless it names exactly this device of this factory. */
  public DeviceCsr requireSubject(String uuid, String factory) {
    if (!commonName.equals(uuid)) {
      throw new CsrRejectedException(
          CN_MISMATCH, "the CSR's CN '" + commonName + "' does not equal the uuid '" + uuid + "'");
    }
    if (!organizationalUnit.equals(factory)) {
      throw new CsrRejectedException(
          OU_MISMATCH,
          "the CSR's OU '" + organizationalUnit + "' does not equal the factory '" + factory + "'");
    }
    return this;
  }
}
