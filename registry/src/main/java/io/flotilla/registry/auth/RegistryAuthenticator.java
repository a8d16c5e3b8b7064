package io.flotilla.registry.auth;

import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * Checks the HTTP basic credentials a client presents to the token endpoint (or directly on a
 * registry call). The gateway implements it: a factory API token with scopes {@code
 * containers:read}/{@code containers:push} maps to {@link RegistryAction#PULL}/{@link
 * RegistryAction#PUSH} (which deletes too) on its factory; a device's {@code /hub-creds/}
 * credentials map to PULL on the device's factory.
 */
@FunctionalInterface
public interface RegistryAuthenticator {
  /**
   * Completes with empty when the credentials are unknown or wrong; never fails for bad
   * credentials.
   */
  CompletionStage<Optional<RegistryPrincipal>> authenticate(String username, String password);
}
