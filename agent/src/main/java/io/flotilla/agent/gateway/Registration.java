package io.flotilla.agent.gateway;

import java.io.IOException;
import java.io.StringWriter;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/** Key and CSR of a new device (§1, §2): ECDSA P-256, subject {@code CN=<uuid>, OU=<factory>}. */
public final class Registration {

  private Registration() {}

  public record DeviceKey(KeyPair keyPair, String privateKeyPem, String csrPem) {}

  public static DeviceKey newDeviceKey(String uuid, String factory) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      KeyPair keyPair = generator.generateKeyPair();
      X500Name subject =
          new X500NameBuilder(BCStyle.INSTANCE)
              .addRDN(BCStyle.CN, uuid)
              .addRDN(BCStyle.OU, factory)
              .build();
      PKCS10CertificationRequest csr =
          new JcaPKCS10CertificationRequestBuilder(subject, keyPair.getPublic())
              .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keyPair.getPrivate()));
      return new DeviceKey(keyPair, pem(keyPair.getPrivate()), pem(csr));
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new IllegalStateException(
          "cannot create an ECDSA P-256 key and CSR: " + e.getMessage(), e);
    }
  }

  private static String pem(Object object) throws IOException {
    StringWriter text = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
      writer.writeObject(
          object instanceof java.security.PrivateKey key
              ? new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(key, null)
              : object);
    }
    return text.toString();
  }
}
