package io.flotilla.core.pki;

import java.math.BigInteger;

/**
 * Whether a device certificate must be refused although its CA signed it: the device was
 * decommissioned, or the certificate was replaced. The answer lives with the Device entity, outside
 * this package; the check runs inside the TLS handshake and again on every request, so an
 * implementation must answer from memory (for example a replicated set kept up to date by the
 * Device entity) and never block on I/O.
 */
@FunctionalInterface
public interface RevocationCheck {

  RevocationCheck NONE = (factory, uuid, serial) -> false;

  boolean isRevoked(String factory, String uuid, BigInteger serial);
}
