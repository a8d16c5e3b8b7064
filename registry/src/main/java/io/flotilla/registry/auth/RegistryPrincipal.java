package io.flotilla.registry.auth;

import java.util.Map;
import java.util.Set;

/**
 * Someone the {@link RegistryAuthenticator} recognised.
 *
 * @param subject who it is, for logs and the token's {@code sub} (e.g. a token id or a device uuid)
 * @param factories per factory, what the caller may do in that factory's repositories
 */
public record RegistryPrincipal(String subject, Map<String, Set<RegistryAction>> factories) {

  public RegistryPrincipal {
    factories = Map.copyOf(factories);
  }

  /**
   * Push implies pull (a client pushing checks which blobs exist before it uploads them) and delete
   * (see {@link RegistryAction#DELETE}).
   */
  public boolean allows(String factory, RegistryAction action) {
    Set<RegistryAction> granted = factories.getOrDefault(factory, Set.of());
    return granted.contains(action)
        || (action != RegistryAction.PUSH && granted.contains(RegistryAction.PUSH));
  }
}
