package io.flotilla.core.pki;

import java.math.BigInteger;
import java.time.Instant;

/**
 * Who a device is, as its verified client certificate says: {@code CN=<uuid>, OU=<factory>}, and
 * {@code businessCategory=production} for production devices.
 *
 * @param publicKeyPem the device's public key, for the {@code pubkey} field of {@code GET /device}
 */
public record DeviceIdentity(
    String factory,
    String uuid,
    boolean production,
    BigInteger serial,
    Instant notAfter,
    String publicKeyPem) {}
