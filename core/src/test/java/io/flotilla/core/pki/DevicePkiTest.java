package io.flotilla.core.pki;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DevicePkiTest {

  private static final PkiSettings SETTINGS =
      PkiSettings.defaults().withServerSans(List.of("localhost", "127.0.0.1"));

  @TempDir Path dir;

  @Test
  void factoryCaIsCreatedOnDemandPrivateAndKeptAcrossRestarts() throws Exception {
    DevicePki pki = DevicePki.open(dir, SETTINGS);
    assertTrue(pki.deviceCas().find("acme").isEmpty(), "no CA before the factory asks for one");

    CertificateAuthority ca = pki.ensureFactory("acme");
    X500Name subject = ca.subject();
    assertEquals("acme device CA", Certificates.single(subject, BCStyle.CN).orElseThrow());
    assertEquals("acme", Certificates.single(subject, BCStyle.OU).orElseThrow());
    assertTrue(ca.certificate().getBasicConstraints() >= 0, "is a CA");
    Path file = dir.resolve("factories/acme/device-ca.pem");
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));

    DevicePki restarted = DevicePki.open(dir, SETTINGS);
    assertEquals(ca.certificate(), restarted.deviceCas().find("acme").orElseThrow().certificate());
    assertEquals(ca.certificate(), restarted.ensureFactory("acme").certificate());
  }

  @Test
  void concurrentCreationAgreesOnOneCa() throws Exception {
    // Two PKI objects on one dir stand for two nodes sharing it; the threads race inside and across
    // them.
    DevicePki first = DevicePki.open(dir, SETTINGS);
    DevicePki second = DevicePki.open(dir, SETTINGS);
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Callable<X509Certificate>> tasks = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        DevicePki pki = i % 2 == 0 ? first : second;
        tasks.add(() -> pki.ensureFactory("race").certificate());
      }
      Set<X509Certificate> distinct = new HashSet<>();
      for (Future<X509Certificate> result : pool.invokeAll(tasks, 30, TimeUnit.SECONDS)) {
        distinct.add(result.get());
      }
      assertEquals(1, distinct.size());
    } finally {
      pool.shutdownNow();
    }
    try (var files = Files.list(dir.resolve("factories/race"))) {
      assertEquals(
          List.of("device-ca.pem"),
          files.map(p -> p.getFileName().toString()).toList(),
          "no temp files left behind");
    }
  }

  @Test
  void issuesDeviceCertificateFromCsr() throws Exception {
    DevicePki pki = DevicePki.open(dir, SETTINGS.withDeviceCertValidity(Duration.ofDays(30)));
    String uuid = UUID.randomUUID().toString();
    KeyPair device = PkiTestSupport.deviceKey();

    IssuedDeviceCertificate issued =
        pki.registerDevice(
            "acme", uuid, PkiTestSupport.csr(device, "CN=" + uuid + ",OU=acme"), false);

    X509Certificate cert = Pem.certificate(issued.certificatePem());
    X500Name subject = Certificates.subjectOf(cert);
    assertEquals(uuid, Certificates.single(subject, BCStyle.CN).orElseThrow());
    assertEquals("acme", Certificates.single(subject, BCStyle.OU).orElseThrow());
    assertTrue(Certificates.single(subject, BCStyle.BUSINESS_CATEGORY).isEmpty());
    assertEquals(device.getPublic(), cert.getPublicKey());
    assertTrue(cert.getExtendedKeyUsage().contains("1.3.6.1.5.5.7.3.2"), "clientAuth");
    assertEquals(-1, cert.getBasicConstraints(), "not a CA");
    cert.verify(pki.deviceCas().find("acme").orElseThrow().certificate().getPublicKey());
    Instant expected = Instant.now().plus(Duration.ofDays(30));
    assertTrue(Duration.between(cert.getNotAfter().toInstant(), expected).abs().toMinutes() < 5);

    assertEquals(
        new DeviceIdentity(
            "acme",
            uuid,
            false,
            cert.getSerialNumber(),
            cert.getNotAfter().toInstant(),
            Pem.encode(device.getPublic())),
        issued.identity());
    assertEquals(
        issued.identity(), pki.verifier(RevocationCheck.NONE).verify(new X509Certificate[] {cert}));
  }

  @Test
  void productionDevicesCarryBusinessCategoryAndSerialsDiffer() throws Exception {
    DevicePki pki = DevicePki.open(dir, SETTINGS);
    KeyPair device = PkiTestSupport.deviceKey();
    String csr = PkiTestSupport.csr(device, "CN=dev-1,OU=acme,businessCategory=production");
    assertTrue(DeviceCsr.parse(csr).requestsProduction());

    IssuedDeviceCertificate prod = pki.registerDevice("acme", "dev-1", csr, true);
    IssuedDeviceCertificate again = pki.registerDevice("acme", "dev-1", csr, true);

    X509Certificate cert = Pem.certificate(prod.certificatePem());
    assertEquals(
        "production",
        Certificates.single(Certificates.subjectOf(cert), BCStyle.BUSINESS_CATEGORY).orElseThrow());
    assertTrue(
        pki.verifier(RevocationCheck.NONE).verify(new X509Certificate[] {cert}).production());
    assertNotEquals(prod.identity().serial(), again.identity().serial());
  }

  @Test
  void csrProblemsAreDistinctRejections() {
    DevicePki pki = DevicePki.open(dir, SETTINGS);
    KeyPair device = PkiTestSupport.deviceKey();
    String good = PkiTestSupport.csr(device, "CN=dev-1,OU=acme");

    assertReason(
        CsrRejectedException.Reason.CN_MISMATCH,
        () -> pki.registerDevice("acme", "dev-2", good, false));
    assertReason(
        CsrRejectedException.Reason.OU_MISMATCH,
        () -> pki.registerDevice("other", "dev-1", good, false));
    assertReason(
        CsrRejectedException.Reason.MALFORMED,
        () -> pki.registerDevice("acme", "dev-1", "hello", false));
    assertReason(
        CsrRejectedException.Reason.MALFORMED,
        () -> pki.registerDevice("acme", "dev-1", (String) null, false));
    assertReason(
        CsrRejectedException.Reason.MALFORMED,
        () ->
            pki.registerDevice(
                "acme",
                "dev-1",
                Pem.encode(Pem.CERTIFICATE_REQUEST, new byte[] {0x30, 0x03, 0x02, 0x01, 0x01}),
                false));
    assertReason(
        CsrRejectedException.Reason.UNSUPPORTED_KEY,
        () ->
            pki.registerDevice(
                "acme",
                "dev-1",
                PkiTestSupport.csr(PkiTestSupport.ecKeyPair("secp384r1"), "CN=dev-1,OU=acme"),
                false));
    assertReason(
        CsrRejectedException.Reason.UNSUPPORTED_KEY,
        () ->
            pki.registerDevice(
                "acme", "dev-1", PkiTestSupport.csr(rsaKey(), "CN=dev-1,OU=acme"), false));
    assertReason(
        CsrRejectedException.Reason.BAD_SIGNATURE,
        () -> pki.registerDevice("acme", "dev-1", tamperedSignature(good), false));
    assertTrue(pki.deviceCas().find("other").isEmpty(), "a refused CSR creates no CA");
  }

  @Test
  void verifierRefusesForeignForgedRevokedAndExpiredCertificates() throws Exception {
    DevicePki pki = DevicePki.open(dir, SETTINGS);
    CertificateAuthority acme = pki.ensureFactory("acme");
    pki.ensureFactory("beta");
    KeyPair device = PkiTestSupport.deviceKey();
    DeviceCertificateVerifier verifier = pki.verifier(RevocationCheck.NONE);

    DevicePki stranger = DevicePki.open(dir.resolve("elsewhere"), SETTINGS);
    X509Certificate foreign =
        Pem.certificate(
            stranger
                .registerDevice(
                    "acme", "dev-1", PkiTestSupport.csr(device, "CN=dev-1,OU=acme"), false)
                .certificatePem());
    assertRefused(verifier, foreign, "unknown CA with a known factory name");

    X509Certificate crossFactory =
        PkiTestSupport.forge(acme, "CN=dev-1,OU=beta", device.getPublic());
    assertRefused(verifier, crossFactory, "acme's CA vouching for a beta device");

    X509Certificate unknownFactory =
        PkiTestSupport.forge(acme, "CN=dev-1,OU=nobody", device.getPublic());
    assertRefused(verifier, unknownFactory, "factory without CA");

    X509Certificate expired =
        PkiTestSupport.forge(
            acme,
            "CN=dev-1,OU=acme",
            device.getPublic(),
            Instant.now().minus(Duration.ofDays(2)),
            Instant.now().minus(Duration.ofDays(1)));
    assertRefused(verifier, expired, "expired");

    X509Certificate good = PkiTestSupport.forge(acme, "CN=dev-1,OU=acme", device.getPublic());
    assertEquals("dev-1", verifier.verify(new X509Certificate[] {good}).uuid());
    DeviceCertificateVerifier revoking =
        pki.verifier(
            (factory, uuid, serial) ->
                factory.equals("acme")
                    && uuid.equals("dev-1")
                    && serial.equals(good.getSerialNumber()));
    assertRefused(revoking, good, "revoked");
    assertThrows(CertificateException.class, () -> verifier.verify(new X509Certificate[0]));
  }

  @Test
  void serverCertificateIsSignedByRootAndRenewedOnlyWhenNamesChange() throws Exception {
    DevicePki pki = DevicePki.open(dir, SETTINGS);
    ServerCredentials credentials = pki.server().credentials();
    X509Certificate root = pki.server().rootCertificate();
    credentials.certificate().verify(root.getPublicKey());
    assertEquals(List.of(credentials.certificate(), root), credentials.chain());
    assertEquals(Set.of("localhost", "127.0.0.1"), sans(credentials.certificate()));
    assertTrue(
        credentials.certificate().getExtendedKeyUsage().contains("1.3.6.1.5.5.7.3.1"),
        "serverAuth");
    assertEquals(root, Pem.certificate(Files.readString(dir.resolve("root.crt"))));
    assertEquals(pki.rootCertificatePem(), Files.readString(dir.resolve("root.crt")));
    assertEquals(
        "rw-------",
        PosixFilePermissions.toString(
            Files.getPosixFilePermissions(dir.resolve("server-tls.pem"))));
    assertEquals(
        "rw-------",
        PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("server-ca.pem"))));

    DevicePki restarted = DevicePki.open(dir, SETTINGS);
    assertEquals(credentials.certificate(), restarted.server().credentials().certificate());
    assertEquals(credentials.privateKey(), restarted.server().credentials().privateKey());

    DevicePki renamed =
        DevicePki.open(dir, SETTINGS.withServerSans(List.of("gw.example.com", "::1")));
    X509Certificate renewed = renamed.server().credentials().certificate();
    assertEquals(root, renamed.server().rootCertificate(), "devices keep trusting the same root");
    assertEquals(Set.of("gw.example.com", "0:0:0:0:0:0:0:1"), sans(renewed));
    renewed.verify(root.getPublicKey());
    assertEquals(
        renewed,
        DevicePki.open(dir, SETTINGS.withServerSans(List.of("gw.example.com", "::1")))
            .server()
            .credentials()
            .certificate(),
        "an IPv6 SAN does not cause a renewal at every start");
  }

  @Test
  void privateKeysNeverAppearInToString() {
    DevicePki pki = DevicePki.open(dir, SETTINGS);
    CertificateAuthority ca = pki.ensureFactory("acme");
    String caKey = Base64.getEncoder().encodeToString(ca.privateKey().getEncoded());
    String serverKey =
        Base64.getEncoder().encodeToString(pki.server().credentials().privateKey().getEncoded());
    for (String text :
        List.of(ca.toString(), pki.toString(), pki.server().credentials().toString())) {
      assertFalse(text.contains("PRIVATE"), text);
      assertFalse(text.contains(caKey.substring(0, 40)), text);
      assertFalse(text.contains(serverKey.substring(0, 40)), text);
    }
  }

  @Test
  void settingsComeFromConfigWithDefaults() {
    PkiSettings settings =
        PkiSettings.fromConfig(
            ConfigFactory.parseString(
                "flotilla.pki { device-cert-validity = 365d, server-sans = [\"gw.local\"] }"));
    assertEquals(Duration.ofDays(365), settings.deviceCertValidity());
    assertEquals(List.of("gw.local"), settings.serverSans());
    assertEquals(PkiSettings.defaults().caValidity(), settings.caValidity());
    assertTrue(PkiSettings.fromConfig(ConfigFactory.empty()).serverSans().contains("localhost"));
  }

  @Test
  void factoryNamesCannotEscapeThePkiDir() {
    DevicePki pki = DevicePki.open(dir, SETTINGS);
    assertThrows(IllegalArgumentException.class, () -> pki.ensureFactory("../evil"));
    assertTrue(pki.deviceCas().find("../../server-ca").isEmpty());
    assertTrue(pki.deviceCas().find("..").isEmpty());
  }

  private static void assertReason(CsrRejectedException.Reason reason, Runnable action) {
    CsrRejectedException e = assertThrows(CsrRejectedException.class, action::run);
    assertEquals(reason, e.reason(), e.getMessage());
    assertFalse(e.getMessage().isBlank());
  }

  private static void assertRefused(
      DeviceCertificateVerifier verifier, X509Certificate cert, String why) {
    assertThrows(
        CertificateException.class, () -> verifier.verify(new X509Certificate[] {cert}), why);
  }

  private static KeyPair rsaKey() {
    try {
      var generator = java.security.KeyPairGenerator.getInstance("RSA");
      generator.initialize(2048);
      return generator.generateKeyPair();
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The same CSR with the last byte of its signature flipped. */
  private static String tamperedSignature(String csrPem) {
    byte[] der = Pem.blocks(csrPem).get(0).getContent();
    byte[] copy = der.clone();
    copy[copy.length - 1] ^= 0x01;
    assertFalse(java.util.Arrays.equals(der, copy));
    return Pem.encode(Pem.CERTIFICATE_REQUEST, copy);
  }

  private static Set<String> sans(X509Certificate certificate) throws Exception {
    Set<String> names = new HashSet<>();
    certificate
        .getSubjectAlternativeNames()
        .forEach(entry -> names.add(String.valueOf(entry.get(1))));
    return names;
  }
}
