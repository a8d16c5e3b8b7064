package io.flotilla.core.pki;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.KeyPurposeId;

/**
 * The per-factory device CAs, kept as {@code <pki-dir>/factories/<factory>/device-ca.pem} (key and
 * certificate, mode 0600). The in-memory map only saves re-reading files: the files are the truth,
 * so a CA that another node created in a shared data dir is found too.
 */
public final class DeviceCertificateAuthorities {

  static final String CA_FILE = "device-ca.pem";

  private final Path pkiDir;
  private final PkiSettings settings;
  private final ConcurrentMap<String, CertificateAuthority> loaded = new ConcurrentHashMap<>();

  DeviceCertificateAuthorities(Path pkiDir, PkiSettings settings) {
    this.pkiDir = pkiDir;
    this.settings = settings;
  }

  /** The factory's CA, created on first use; concurrent callers all get the same CA. */
  public CertificateAuthority forFactory(String factory) {
    // computeIfAbsent serialises the threads of this JVM; the exclusive file create settles it
    // between JVMs.
    return loaded.computeIfAbsent(
        factory,
        f -> {
          Path file = caFile(f);
          return PkiFiles.readIfExists(file)
              .map(CertificateAuthority::fromPem)
              .orElseGet(
                  () -> {
                    CertificateAuthority created =
                        CertificateAuthority.create(caSubject(f), settings.caValidity());
                    if (PkiFiles.createSecretIfAbsent(file, created.toPem())) {
                      return created;
                    }
                    return CertificateAuthority.fromPem(PkiFiles.readIfExists(file).orElseThrow());
                  });
        });
  }

  /**
   * The factory's CA if it exists; never creates one, so untrusted input can look up but not
   * create.
   */
  public Optional<CertificateAuthority> find(String factory) {
    if (!PkiFiles.isValidFactoryName(factory)) {
      return Optional.empty();
    }
    CertificateAuthority known = loaded.get(factory);
    if (known != null) {
      return Optional.of(known);
    }
    return PkiFiles.readIfExists(caFile(factory))
        .map(pem -> loaded.computeIfAbsent(factory, f -> CertificateAuthority.fromPem(pem)));
  }

  /**
   * Signs a device certificate for a CSR that names this device of this factory.
   *
   * @throws CsrRejectedException if the CSR is malformed, badly signed, not P-256, or names another
   *     device
   */
  public IssuedDeviceCertificate issue(
      String factory, String uuid, String csrPem, boolean production) {
    return issue(factory, uuid, DeviceCsr.parse(csrPem), production);
  }

  /**
   * For a CSR the caller has parsed (and so signature-checked) already: the ECDSA verify is not
   * repeated.
   */
  public IssuedDeviceCertificate issue(
      String factory, String uuid, DeviceCsr parsed, boolean production) {
    DeviceCsr csr = parsed.requireSubject(uuid, factory);
    CertificateAuthority ca = forFactory(factory);
    Instant notBefore = Certificates.backdatedNow();
    X509Certificate certificate =
        Certificates.issueLeaf(
            ca.certificate(),
            ca.privateKey(),
            deviceSubject(uuid, factory, production),
            csr.publicKey(),
            KeyPurposeId.id_kp_clientAuth,
            List.of(),
            notBefore,
            Instant.now().plus(settings.deviceCertValidity()));
    DeviceIdentity identity =
        new DeviceIdentity(
            factory,
            uuid,
            production,
            certificate.getSerialNumber(),
            certificate.getNotAfter().toInstant(),
            Pem.encode(csr.publicKey()));
    return new IssuedDeviceCertificate(Pem.encode(certificate), identity);
  }

  private Path caFile(String factory) {
    return PkiFiles.factoryDir(pkiDir, factory).resolve(CA_FILE);
  }

  static X500Name caSubject(String factory) {
    return new X500NameBuilder(BCStyle.INSTANCE)
        .addRDN(BCStyle.CN, factory + " device CA")
        .addRDN(BCStyle.OU, factory)
        .addRDN(BCStyle.O, "Flotilla")
        .build();
  }

  static X500Name deviceSubject(String uuid, String factory, boolean production) {
    X500NameBuilder name =
        new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, uuid).addRDN(BCStyle.OU, factory);
    if (production) {
      name.addRDN(Certificates.BUSINESS_CATEGORY, Certificates.PRODUCTION);
    }
    return name.build();
  }
}
