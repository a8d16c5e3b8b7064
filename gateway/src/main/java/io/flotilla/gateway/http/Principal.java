package io.flotilla.gateway.http;

import io.flotilla.core.auth.Scope;
import java.util.List;

/** Who made a request: the server admin, or a factory token with its scopes. */
public record Principal(boolean admin, String factory, List<String> scopes) {

  public static Principal serverAdmin() {
    return new Principal(true, null, List.of());
  }

  /** A factory token looking at another factory: answered 404, as if that factory did not exist. */
  public boolean outside(String factoryName) {
    return !admin && !factory.equals(factoryName);
  }

  public boolean mayAccess(String factoryName, Scope scope) {
    if (admin) {
      return true;
    }
    return factory.equals(factoryName) && (scopes.contains(scope.wireName()) || scopes.contains(Scope.ADMIN.wireName()));
  }
}
