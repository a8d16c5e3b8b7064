package io.flotilla.protocol.composeapp;

/**
 * A compose app that cannot be used: malformed, over a limit, or not matching its digests. The
 * message says which.
 */
public class ComposeAppException extends RuntimeException {
  public ComposeAppException(String message) {
    super(message);
  }

  public ComposeAppException(String message, Throwable cause) {
    super(message, cause);
  }
}
