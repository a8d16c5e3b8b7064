package io.flotilla.gateway.registry;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.auth.ApiToken;
import io.flotilla.core.auth.Scope;
import io.flotilla.core.factory.Factory;
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
 * Registry credentials are factory API tokens given as the password of HTTP basic (any user name, as with
 * {@code docker login}): {@code containers:read} pulls and {@code containers:push} pushes in that factory's
 * repositories, {@code admin} does both. Nothing else opens a repository.
 */
public final class FactoryTokenRegistryAccess implements RegistryAuthenticator {

  private final FlotillaCore core;

  public FactoryTokenRegistryAccess(FlotillaCore core) {
    this.core = core;
  }

  @Override
  public CompletionStage<Optional<RegistryPrincipal>> authenticate(String username, String password) {
    Optional<ApiToken> token = ApiToken.parse(password).filter(t -> !t.isAdmin());
    if (token.isEmpty()) {
      return CompletableFuture.completedFuture(Optional.empty());
    }
    ApiToken presented = token.get();
    return core.factory(presented.factory())
        .<Factory.TokenCheck>ask(replyTo -> new Factory.CheckToken(presented.id(), presented.secretHash(), replyTo), core.askTimeout())
        .thenApply(check -> principal(presented, check));
  }

  private static Optional<RegistryPrincipal> principal(ApiToken token, Factory.TokenCheck check) {
    Set<RegistryAction> actions = EnumSet.noneOf(RegistryAction.class);
    if (check.allows(Scope.CONTAINERS_READ)) {
      actions.add(RegistryAction.PULL);
    }
    if (check.allows(Scope.CONTAINERS_PUSH)) {
      actions.add(RegistryAction.PUSH);
    }
    if (actions.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(new RegistryPrincipal("token:" + token.factory() + "/" + token.id(), Map.of(token.factory(), actions)));
  }
}
