package io.flotilla.core;

import org.apache.pekko.pattern.StatusReply;

/**
 * Why an entity refused a command. Entities answer with {@code StatusReply.error(String)} (the only
 * error form Pekko serializes across nodes without extra bindings), so the kind travels as a prefix
 * of the message and the HTTP layer turns it back into a status code.
 */
public record Rejection(Kind kind, String detail) {

  public enum Kind {
    INVALID("invalid"),
    NOT_FOUND("not-found"),
    CONFLICT("conflict"),
    FORBIDDEN("forbidden");

    private final String prefix;

    Kind(String prefix) {
      this.prefix = prefix;
    }
  }

  private static final String SEPARATOR = ": ";

  public static <T> StatusReply<T> invalid(String detail) {
    return reply(Kind.INVALID, detail);
  }

  public static <T> StatusReply<T> notFound(String detail) {
    return reply(Kind.NOT_FOUND, detail);
  }

  public static <T> StatusReply<T> conflict(String detail) {
    return reply(Kind.CONFLICT, detail);
  }

  public static <T> StatusReply<T> forbidden(String detail) {
    return reply(Kind.FORBIDDEN, detail);
  }

  private static <T> StatusReply<T> reply(Kind kind, String detail) {
    return StatusReply.error(kind.prefix + SEPARATOR + detail);
  }

  /**
   * The rejection carried by an ask's failure, or empty when the failure is not one (a timeout, a
   * crash).
   */
  public static java.util.Optional<Rejection> of(Throwable failure) {
    Throwable cause = failure;
    while (cause instanceof java.util.concurrent.CompletionException && cause.getCause() != null) {
      cause = cause.getCause();
    }
    if (!(cause instanceof StatusReply.ErrorMessage) || cause.getMessage() == null) {
      return java.util.Optional.empty();
    }
    String message = cause.getMessage();
    for (Kind kind : Kind.values()) {
      if (message.startsWith(kind.prefix + SEPARATOR)) {
        return java.util.Optional.of(
            new Rejection(kind, message.substring(kind.prefix.length() + SEPARATOR.length())));
      }
    }
    return java.util.Optional.empty();
  }
}
