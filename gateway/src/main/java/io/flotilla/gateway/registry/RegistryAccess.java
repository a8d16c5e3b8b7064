package io.flotilla.gateway.registry;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.auth.ApiToken;
import io.flotilla.core.auth.Scope;
import io.flotilla.core.factory.Factory;
import io.flotilla.gateway.device.DeviceHubCredentials;
import io.flotilla.registry.auth.RegistryAction;
import io.flotilla.registry.auth.RegistryAuthenticator;
import io.flotilla.registry.auth.RegistryPrincipal;
import java.util.EnumSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Who may use the registry, over HTTP basic as registry clients send it:
 * <ul>
 *   <li>a factory API token as the password (any user name, as with {@code docker login}): {@code containers:read}
 *       pulls and {@code containers:push} pushes and deletes in that factory's repositories, {@code admin} does
 *       all;
 *   <li>a device's {@code /hub-creds/} credentials: pull in the device's own factory, until they expire or the
 *       device is decommissioned.
 * </ul>
 * Nothing else opens a repository. A valid token of a factory without those scopes is recognised with no actions,
 * so that the registry answers it 403 in its own factory and 404 elsewhere, as the management API does.
 */
public final class RegistryAccess implements RegistryAuthenticator {

  private final FlotillaCore core;
  private final DeviceHubCredentials devices;

  public RegistryAccess(FlotillaCore core, DeviceHubCredentials devices) {
    this.core = core;
    this.devices = devices;
  }

  @Override
  public CompletionStage<Optional<RegistryPrincipal>> authenticate(String username, String password) {
    Optional<ApiToken> token = ApiToken.parse(password).filter(t -> !t.isAdmin());
    if (token.isEmpty()) {
      return CompletableFuture.completedFuture(
          devices.verify(username, password).map(factory -> new RegistryPrincipal("device:" + username, Map.of(factory, Set.of(RegistryAction.PULL)))));
    }
    ApiToken presented = token.get();
    return core.factory(presented.factory())
        .<Factory.TokenCheck>ask(replyTo -> new Factory.CheckToken(presented.id(), presented.secretHash(), replyTo), core.askTimeout())
        .thenApply(check -> principal(presented, check));
  }

  private static Optional<RegistryPrincipal> principal(ApiToken token, Factory.TokenCheck check) {
    if (!check.valid()) {
      return Optional.empty();
    }
    Set<RegistryAction> actions = EnumSet.noneOf(RegistryAction.class);
    if (check.allows(Scope.CONTAINERS_READ)) {
      actions.add(RegistryAction.PULL);
    }
    if (check.allows(Scope.CONTAINERS_PUSH)) {
      actions.add(RegistryAction.PUSH);
    }
    return Optional.of(new RegistryPrincipal("token:" + token.factory() + "/" + token.id(), Map.of(token.factory(), actions)));
  }
}
