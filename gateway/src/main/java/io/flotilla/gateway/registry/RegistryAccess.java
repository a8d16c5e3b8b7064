package io.flotilla.gateway.registry;

import io.flotilla.core.auth.Access;
import io.flotilla.core.auth.Credentials;
import io.flotilla.core.auth.Decision;
import io.flotilla.core.auth.DeviceIdentities;
import io.flotilla.core.auth.Principal;
import io.flotilla.core.auth.Scope;
import io.flotilla.gateway.device.DeviceHubCredentials;
import io.flotilla.gateway.http.Errors;
import io.flotilla.registry.ErrorCode;
import io.flotilla.registry.RegistryError;
import io.flotilla.registry.auth.RegistryAction;
import io.flotilla.registry.auth.RegistryAuthenticator;
import io.flotilla.registry.auth.RegistryPrincipal;
import java.util.EnumSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * The registry's side of {@link Access}, over HTTP basic as registry clients send it:
 *
 * <ul>
 *   <li>a factory API token as the password (any user name, as with {@code docker login}): {@code
 *       containers:read} pulls and {@code containers:push} pushes and deletes in that factory's
 *       repositories, {@code admin} does all;
 *   <li>a device's {@code /hub-creds/} credentials: pull in the device's own factory, until they
 *       expire or the device is decommissioned.
 * </ul>
 *
 * Nothing else opens a repository. A valid token of a factory without those scopes is recognised
 * with no actions, so that the registry answers it 403 in its own factory and 404 elsewhere, as the
 * management API does. When the token's owner does not answer, the registry answers 503 with {@code
 * Retry-After}.
 */
public final class RegistryAccess implements RegistryAuthenticator {

  private final Access access;

  public RegistryAccess(Access access, DeviceIdentities devices) {
    this.access = access.withDevices(devices);
  }

  @Override
  public CompletionStage<Optional<RegistryPrincipal>> authenticate(
      String username, String password) {
    return access
        .authenticate(new Credentials.Basic(username, password), Access.FACTORY_TOKENS_AND_DEVICES)
        .thenApply(RegistryAccess::principal);
  }

  private static Optional<RegistryPrincipal> principal(Decision decision) {
    if (decision instanceof Decision.Denied denied) {
      if (denied.denial() == Decision.Denial.UNAVAILABLE
          || denied.denial() == Decision.Denial.DATABASE_UNAVAILABLE) {
        throw new RegistryError(
            ErrorCode.UNAVAILABLE,
            503,
            denied.detail(),
            null,
            Map.of("Retry-After", String.valueOf(Errors.DATABASE_RETRY_AFTER_SECONDS)));
      }
      return Optional.empty();
    }
    Principal principal = ((Decision.Allowed) decision).principal();
    Set<RegistryAction> actions = EnumSet.noneOf(RegistryAction.class);
    if (Access.decide(principal, principal.factory(), Scope.CONTAINERS_READ)
        instanceof Decision.Allowed) {
      actions.add(RegistryAction.PULL);
    }
    if (Access.decide(principal, principal.factory(), Scope.CONTAINERS_PUSH)
        instanceof Decision.Allowed) {
      actions.add(RegistryAction.PUSH);
    }
    return Optional.of(
        new RegistryPrincipal(subject(principal), Map.of(principal.factory(), actions)));
  }

  private static String subject(Principal principal) {
    return principal.kind() == Principal.Kind.DEVICE
        ? "device:"
            + DeviceHubCredentials.USERNAME_PREFIX
            + principal.factory()
            + "/"
            + principal.id()
        : "token:" + principal.factory() + "/" + principal.id();
  }
}
