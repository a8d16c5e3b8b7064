package io.flotilla.core.pki;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * Test helpers that play the device (keys, CSRs as lmp-device-register makes them) or a misbehaving
 * CA.
 */
public final class PkiTestSupport {

  private PkiTestSupport() {}

  public static KeyPair ecKeyPair(String curve) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec(curve));
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  public static KeyPair deviceKey() {
    return ecKeyPair("secp256r1");
  }

  /**
   * A PEM CSR for {@code subject} (e.g. {@code "CN=<uuid>,OU=<factory>"}), signed with the device
   * key.
   */
  public static String csr(KeyPair keys, String subject) {
    String algorithm =
        keys.getPublic().getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
    try {
      byte[] der =
          new JcaPKCS10CertificationRequestBuilder(new X500Name(subject), keys.getPublic())
              .build(new JcaContentSignerBuilder(algorithm).build(keys.getPrivate()))
              .getEncoded();
      return Pem.encode(Pem.CERTIFICATE_REQUEST, der);
    } catch (OperatorCreationException e) {
      throw new IllegalStateException(e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * A certificate the CA signs for any subject and dates, bypassing the CN/OU rules of
   * registration.
   */
  public static X509Certificate forge(
      CertificateAuthority ca, String subject, PublicKey key, Instant notBefore, Instant notAfter) {
    return Certificates.issueLeaf(
        ca.certificate(),
        ca.privateKey(),
        new X500Name(subject),
        key,
        KeyPurposeId.id_kp_clientAuth,
        List.of(),
        notBefore,
        notAfter);
  }

  public static X509Certificate forge(CertificateAuthority ca, String subject, PublicKey key) {
    return forge(ca, subject, key, Instant.now().minusSeconds(60), Instant.now().plusSeconds(3600));
  }
}
