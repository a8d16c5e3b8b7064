package io.flotilla.core.auth;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;

/**
 * What a caller presented, as an edge read it off its wire form; {@link Access} tells who that is.
 */
public sealed interface Credentials {

  /** Nothing usable was presented; {@code hint} tells how this edge takes credentials. */
  record Missing(String hint) implements Credentials {}

  /** A bearer token: a factory API token or the server admin token. */
  record Token(String value) implements Credentials {
    @Override
    public String toString() {
      return "Token[...]";
    }
  }

  /**
   * HTTP basic: a factory API token as the password (any user name, as {@code docker login} sends
   * it), or a device's registry credentials.
   */
  record Basic(String username, String password) implements Credentials {
    @Override
    public String toString() {
      return "Basic[" + username + "]";
    }
  }

  /**
   * The credentials of an {@code Authorization: Basic} header value; a value without a colon is the
   * password alone (git sends it so when the user name is empty). Another scheme or broken base64
   * is {@link Missing}.
   */
  static Credentials basic(Optional<String> authorization, String hint) {
    if (authorization.isEmpty()
        || !authorization.get().strip().regionMatches(true, 0, "Basic ", 0, 6)) {
      return new Missing(hint);
    }
    String decoded;
    try {
      decoded =
          new String(
              Base64.getDecoder().decode(authorization.get().strip().substring(6).strip()),
              StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return new Missing(hint);
    }
    int colon = decoded.indexOf(':');
    return colon < 0
        ? new Basic("", decoded)
        : new Basic(decoded.substring(0, colon), decoded.substring(colon + 1));
  }
}
