package io.flotilla.core.pki;

/**
 * A device certificate just issued at registration.
 *
 * @param certificatePem the {@code client.pem} file of the registration answer
 * @param identity what the certificate will say when the device presents it
 */
public record IssuedDeviceCertificate(String certificatePem, DeviceIdentity identity) {}
