package io.flotilla.fleetsim;

import java.net.ConnectException;
import javax.net.ssl.SSLException;

/** A failed request, by the kind the report counts errors under. */
final class Failure extends RuntimeException {

  enum Kind {
    CONNECT("connect"),
    TLS("tls"),
    TIMEOUT("timeout"),
    CLOSED("closed"),
    IO("io"),
    PROTOCOL("protocol"),
    HTTP("http");

    final String label;

    Kind(String label) {
      this.label = label;
    }
  }

  private final Kind kind;
  private final String label;

  Failure(Kind kind, String message) {
    this(kind, kind.label, message);
  }

  private Failure(Kind kind, String label, String message) {
    super(message);
    this.kind = kind;
    this.label = label;
  }

  /**
   * Thousands of failures a second in an overloaded run: the stack would say nothing the kind does
   * not.
   */
  @Override
  public synchronized Throwable fillInStackTrace() {
    return this;
  }

  /** An unexpected status: counted per status code, so a 503 storm and a 404 are told apart. */
  static Failure http(int status, String what) {
    return new Failure(Kind.HTTP, "http-" + status, what + " answered " + status);
  }

  static Failure of(Kind fallback, Throwable cause) {
    if (cause instanceof Failure failure) {
      return failure;
    }
    Kind kind =
        cause instanceof SSLException
            ? Kind.TLS
            : cause instanceof ConnectException ? Kind.CONNECT : fallback;
    return new Failure(kind, cause.getClass().getSimpleName() + ": " + cause.getMessage());
  }

  /** Unwraps the completion wrappers of a failed future. */
  static Failure from(Throwable thrown) {
    Throwable cause = thrown;
    while (cause instanceof java.util.concurrent.CompletionException && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return of(Kind.IO, cause);
  }

  Kind kind() {
    return kind;
  }

  /** The key under which the report counts this error. */
  String label() {
    return label;
  }
}
