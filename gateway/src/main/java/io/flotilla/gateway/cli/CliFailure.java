package io.flotilla.gateway.cli;

/**
 * A CLI command's failure with the exit code scripts test: the codes are part of the CLI's contract
 * (docs/operations.md "The operator CLI").
 */
public final class CliFailure extends RuntimeException {

  /** Bad arguments, or a request the server refused as invalid (400, 409, 413, ...). */
  public static final int USAGE = 2;

  /** The factory, device, target, build or token does not exist (or is not visible). */
  public static final int NOT_FOUND = 3;

  /** No token, a wrong or revoked token, or one without the scope the command needs. */
  public static final int DENIED = 4;

  /** The server failed (5xx, 503 while its database is down) or could not be reached. */
  public static final int SERVER = 5;

  private final int exitCode;

  public CliFailure(int exitCode, String message) {
    super(message);
    this.exitCode = exitCode;
  }

  public int exitCode() {
    return exitCode;
  }

  /** The exit code for an HTTP status the server answered with (never called for 2xx). */
  public static int forStatus(int status) {
    if (status == 401 || status == 403) {
      return DENIED;
    }
    if (status == 404) {
      return NOT_FOUND;
    }
    if (status >= 400 && status < 500) {
      return USAGE;
    }
    return SERVER;
  }
}
