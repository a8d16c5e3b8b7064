package io.flotilla.core.auth;

/**
 * The answer of {@link Access} for one request: allowed, with who the caller is, or denied with the
 * detail to show. Each edge only translates a denial into its wire form (a JSON error, git's Basic
 * challenge, a registry error).
 */
public sealed interface Decision {

  record Allowed(Principal principal) implements Decision {}

  record Denied(Denial denial, String detail) implements Decision {}

  enum Denial {
    /**
     * No credentials, malformed ones, unknown or revoked ones, or a kind this edge does not take.
     */
    UNAUTHENTICATED(401),
    /** Outside the caller's factory: the same answer whether or not the factory exists. */
    NOT_VISIBLE(404),
    /** A missing scope in one's own factory, or a server-admin action for a factory token. */
    FORBIDDEN(403),
    /** The owner of the credentials did not answer in time. */
    UNAVAILABLE(503),
    /** The database does not answer, so neither do the entities that hold the credentials. */
    DATABASE_UNAVAILABLE(503);

    private final int status;

    Denial(int status) {
      this.status = status;
    }

    public int status() {
      return status;
    }
  }
}
