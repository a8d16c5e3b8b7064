package io.flotilla.core.auth;

import java.util.List;

/**
 * Who a request comes from, as {@link Access} established it: the server admin, a factory API token
 * with its scopes, or a device of a factory (by its registry credentials), which may read that
 * factory's containers and nothing else.
 *
 * @param factory the factory the caller belongs to; null for the server admin
 * @param id the token id or the device uuid; null for the server admin
 * @param scopes wire names of the scopes granted in {@code factory}
 */
public record Principal(Kind kind, String factory, String id, List<String> scopes) {

  public enum Kind {
    SERVER_ADMIN,
    FACTORY_TOKEN,
    DEVICE
  }

  public Principal {
    scopes = List.copyOf(scopes);
  }

  public static Principal serverAdmin() {
    return new Principal(Kind.SERVER_ADMIN, null, null, List.of());
  }

  public static Principal factoryToken(String factory, String tokenId, List<String> scopes) {
    return new Principal(Kind.FACTORY_TOKEN, factory, tokenId, scopes);
  }

  public static Principal device(String factory, String uuid) {
    return new Principal(Kind.DEVICE, factory, uuid, List.of(Scope.CONTAINERS_READ.wireName()));
  }

  public boolean admin() {
    return kind == Kind.SERVER_ADMIN;
  }

  /** Looking at another factory: answered 404, as if that factory did not exist. */
  public boolean outside(String factoryName) {
    return !admin() && !factory.equals(factoryName);
  }

  public boolean mayAccess(String factoryName, Scope scope) {
    if (admin()) {
      return true;
    }
    return factory.equals(factoryName)
        && (scopes.contains(scope.wireName()) || scopes.contains(Scope.ADMIN.wireName()));
  }
}
