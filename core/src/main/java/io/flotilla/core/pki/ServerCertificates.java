package io.flotilla.core.pki;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.util.IPAddress;

/**
 * The server CA that devices trust ({@code root.crt}) and the device port's TLS certificate it
 * signs. The CA is created once and kept forever, since every registered device holds a copy; the
 * server certificate is renewed (by the same CA) when the configured names change or it nears its
 * end, which devices never notice. Files: {@code <pki-dir>/server-ca.pem}, {@code server-tls.pem}
 * (mode 0600) and {@code root.crt} (a public copy of the CA certificate for operators, e.g. for
 * {@code curl --cacert}).
 */
public final class ServerCertificates {

  static final String CA_FILE = "server-ca.pem";
  static final String TLS_FILE = "server-tls.pem";
  public static final String ROOT_CRT = "root.crt";
  private static final Duration RENEW_BEFORE_EXPIRY = Duration.ofDays(30);

  private final CertificateAuthority ca;
  private final ServerCredentials credentials;

  private ServerCertificates(CertificateAuthority ca, ServerCredentials credentials) {
    this.ca = ca;
    this.credentials = credentials;
  }

  static ServerCertificates loadOrCreate(Path pkiDir, PkiSettings settings) {
    Path caFile = pkiDir.resolve(CA_FILE);
    CertificateAuthority ca =
        PkiFiles.readIfExists(caFile)
            .map(CertificateAuthority::fromPem)
            .orElseGet(
                () -> {
                  CertificateAuthority created =
                      CertificateAuthority.create(caSubject(), settings.caValidity());
                  return PkiFiles.createSecretIfAbsent(caFile, created.toPem())
                      ? created
                      : CertificateAuthority.fromPem(PkiFiles.readIfExists(caFile).orElseThrow());
                });
    PkiFiles.replacePublic(pkiDir.resolve(ROOT_CRT), ca.certificatePem());

    Path tlsFile = pkiDir.resolve(TLS_FILE);
    ServerCredentials credentials =
        PkiFiles.readIfExists(tlsFile)
            .map(
                pem ->
                    new ServerCredentials(
                        Pem.privateKey(pem, "EC"), List.of(Pem.certificate(pem), ca.certificate())))
            .filter(existing -> stillFits(existing.certificate(), ca, settings.serverSans()))
            .orElseGet(
                () -> {
                  ServerCredentials issued = issue(ca, settings);
                  PkiFiles.replaceSecret(
                      tlsFile, Pem.encode(issued.privateKey()) + Pem.encode(issued.certificate()));
                  return issued;
                });
    return new ServerCertificates(ca, credentials);
  }

  /** The {@code root.crt} devices receive at registration. */
  public String rootCertificatePem() {
    return ca.certificatePem();
  }

  public X509Certificate rootCertificate() {
    return ca.certificate();
  }

  public ServerCredentials credentials() {
    return credentials;
  }

  private static ServerCredentials issue(CertificateAuthority ca, PkiSettings settings) {
    KeyPair keys = Certificates.newP256KeyPair();
    List<GeneralName> sans =
        settings.serverSans().stream().map(ServerCertificates::generalName).toList();
    X500Name subject =
        new X500NameBuilder(BCStyle.INSTANCE)
            .addRDN(BCStyle.CN, settings.serverSans().get(0))
            .addRDN(BCStyle.O, "Flotilla")
            .build();
    X509Certificate certificate =
        Certificates.issueLeaf(
            ca.certificate(),
            ca.privateKey(),
            subject,
            keys.getPublic(),
            KeyPurposeId.id_kp_serverAuth,
            sans,
            Certificates.backdatedNow(),
            Instant.now().plus(settings.serverCertValidity()));
    PrivateKey key = keys.getPrivate();
    return new ServerCredentials(key, List.of(certificate, ca.certificate()));
  }

  private static boolean stillFits(
      X509Certificate certificate, CertificateAuthority ca, List<String> wantedSans) {
    try {
      certificate.verify(ca.certificate().getPublicKey());
    } catch (GeneralSecurityException e) {
      return false; // signed by a CA that has since been replaced by hand
    }
    boolean fresh =
        certificate.getNotAfter().toInstant().isAfter(Instant.now().plus(RENEW_BEFORE_EXPIRY));
    Set<String> wanted = new HashSet<>();
    wantedSans.forEach(name -> wanted.add(normalized(name)));
    return fresh && sansOf(certificate).equals(wanted);
  }

  private static Set<String> sansOf(X509Certificate certificate) {
    Set<String> names = new HashSet<>();
    try {
      Collection<List<?>> entries = certificate.getSubjectAlternativeNames();
      if (entries != null) {
        entries.forEach(entry -> names.add(String.valueOf(entry.get(1))));
      }
    } catch (CertificateParsingException e) {
      names.clear();
    }
    return names;
  }

  /**
   * IP addresses in the form the JDK reports them in a certificate, so "::1" matches
   * "0:0:0:0:0:0:0:1".
   */
  private static String normalized(String name) {
    if (!IPAddress.isValid(name)) {
      return name;
    }
    try {
      return InetAddress.getByName(name).getHostAddress(); // a literal: no lookup happens
    } catch (UnknownHostException e) {
      return name;
    }
  }

  private static GeneralName generalName(String name) {
    boolean ip = IPAddress.isValid(name);
    return new GeneralName(ip ? GeneralName.iPAddress : GeneralName.dNSName, name);
  }

  private static X500Name caSubject() {
    return new X500NameBuilder(BCStyle.INSTANCE)
        .addRDN(BCStyle.CN, "Flotilla server CA")
        .addRDN(BCStyle.O, "Flotilla")
        .build();
  }
}
