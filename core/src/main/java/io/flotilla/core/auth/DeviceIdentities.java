package io.flotilla.core.auth;

import java.util.Optional;

/**
 * Checks the credentials a device presents on its own behalf (its registry credentials of {@code
 * /hub-creds/}). The device gateway holds their key, so it implements this; nodes without it
 * recognise no device.
 */
@FunctionalInterface
public interface DeviceIdentities {

  DeviceIdentities NONE = (username, secret) -> Optional.empty();

  /**
   * The device, when the credentials are genuine, unexpired and the device is not decommissioned.
   */
  Optional<Principal> identify(String username, String secret);
}
