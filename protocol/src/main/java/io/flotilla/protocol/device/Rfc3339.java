package io.flotilla.protocol.device;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;

/**
 * Device timestamps travel as RFC 3339 text and are parsed only where needed, so that one odd
 * timestamp does not make a whole document unreadable.
 */
public final class Rfc3339 {

  private Rfc3339() {}

  /**
   * Parses {@code 2026-11-27T10:00:00Z} or with an offset; throws IllegalArgumentException on
   * anything else.
   */
  public static Instant parse(String text) {
    if (text == null) {
      throw new IllegalArgumentException("missing timestamp");
    }
    try {
      return OffsetDateTime.parse(text).toInstant();
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("not an RFC 3339 timestamp: " + text);
    }
  }

  public static boolean isValid(String text) {
    try {
      parse(text);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** Second precision, UTC, {@code Z}: the form fioup sends. */
  public static String format(Instant instant) {
    return instant.truncatedTo(ChronoUnit.SECONDS).toString();
  }
}
