package io.flotilla.core.pki;

import java.nio.file.Path;

/**
 * The node's device PKI: the per-factory device CAs and the device port's server certificate, all
 * kept under one directory (the server passes {@code <data-dir>/pki}). Create one per node at start
 * and share it; every method is thread-safe.
 */
public final class DevicePki {

  private final DeviceCertificateAuthorities deviceCas;
  private final ServerCertificates server;

  private DevicePki(DeviceCertificateAuthorities deviceCas, ServerCertificates server) {
    this.deviceCas = deviceCas;
    this.server = server;
  }

  /** Loads the PKI from {@code pkiDir}, creating the server CA and certificate on first start. */
  public static DevicePki open(Path pkiDir, PkiSettings settings) {
    return new DevicePki(
        new DeviceCertificateAuthorities(pkiDir, settings),
        ServerCertificates.loadOrCreate(pkiDir, settings));
  }

  public DeviceCertificateAuthorities deviceCas() {
    return deviceCas;
  }

  public ServerCertificates server() {
    return server;
  }

  /** Creates the factory's device CA if it is missing; call when a factory is created. */
  public CertificateAuthority ensureFactory(String factory) {
    return deviceCas.forFactory(factory);
  }

  /**
   * Registration: checks the CSR (CN = uuid, OU = factory, P-256, valid signature) and signs it.
   *
   * @throws CsrRejectedException for any problem with the CSR (answer 400 with its code and
   *     message)
   */
  public IssuedDeviceCertificate registerDevice(
      String factory, String uuid, String csrPem, boolean production) {
    return deviceCas.issue(factory, uuid, csrPem, production);
  }

  public IssuedDeviceCertificate registerDevice(
      String factory, String uuid, DeviceCsr csr, boolean production) {
    return deviceCas.issue(factory, uuid, csr, production);
  }

  /** The {@code root.crt} of the registration answer. */
  public String rootCertificatePem() {
    return server.rootCertificatePem();
  }

  public DeviceCertificateVerifier verifier(RevocationCheck revocation) {
    return new DeviceCertificateVerifier(deviceCas, revocation);
  }

  @Override
  public String toString() {
    return "DevicePki[server=" + server.credentials() + "]";
  }
}
