package io.flotilla.registry.auth;

import io.flotilla.registry.RepositoryName;

/** An authenticated caller of a registry endpoint, by basic credentials or by a bearer token. */
public interface Caller {
  boolean allows(RepositoryName repository, RegistryAction action);

  /** Whether the catalog may list this factory's repositories to the caller. */
  boolean mayList(String factory);

  /**
   * Whether the factory is the caller's own: a refusal there is 403, elsewhere 404 as if nothing
   * existed.
   */
  boolean memberOf(String factory);

  /**
   * Bearer callers lacking a scope get a new challenge (they fetch a wider token); basic callers
   * are denied.
   */
  boolean viaToken();

  static Caller of(RegistryPrincipal principal) {
    return new Caller() {
      @Override
      public boolean allows(RepositoryName repository, RegistryAction action) {
        return principal.allows(repository.factory(), action);
      }

      @Override
      public boolean mayList(String factory) {
        return principal.allows(factory, RegistryAction.PULL);
      }

      @Override
      public boolean memberOf(String factory) {
        return principal.factories().containsKey(factory);
      }

      @Override
      public boolean viaToken() {
        return false;
      }
    };
  }
}
