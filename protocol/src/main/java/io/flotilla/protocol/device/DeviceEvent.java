package io.flotilla.protocol.device;

import com.fasterxml.jackson.annotation.JsonIgnore;
import java.time.Instant;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * One element of the array posted to {@code POST /events} (§4). The server groups events into an
 * update by {@code event.correlationId} and ignores duplicate {@code id}s, because clients resend
 * after a lost reply.
 */
public record DeviceEvent(String id, String deviceTime, EventType eventType, EventPayload event) {

  /**
   * Correlation ids are restricted so they can be used in URLs and file names; events with others
   * are dropped.
   */
  private static final Pattern CORRELATION_ID = Pattern.compile("[A-Za-z0-9_-]+");

  /** Longest {@code details} the server keeps. */
  public static final int MAX_DETAILS = 2048;

  public record EventType(String id, int version) {}

  /**
   * {@code success} is null except on *Completed events; {@code details} is a JSON document as a
   * string.
   */
  public record EventPayload(
      String correlationId, Boolean success, String targetName, String version, String details) {}

  /**
   * A new event with a fresh id, for the agent; success is dropped for event types that do not
   * report it.
   */
  public static DeviceEvent of(
      DeviceEventType type,
      Instant now,
      String correlationId,
      String targetName,
      String version,
      Boolean success,
      String details) {
    String trimmed =
        details != null && details.length() > MAX_DETAILS
            ? details.substring(0, MAX_DETAILS)
            : details;
    return new DeviceEvent(
        UUID.randomUUID().toString(),
        Rfc3339.format(now),
        new EventType(type.name(), DeviceEventType.WIRE_VERSION),
        new EventPayload(
            correlationId, type.reportsSuccess() ? success : null, targetName, version, trimmed));
  }

  public static boolean isValidCorrelationId(String correlationId) {
    return correlationId != null && CORRELATION_ID.matcher(correlationId).matches();
  }

  /** Whether the server should keep this event: it has an id and a usable correlation id. */
  @JsonIgnore
  public boolean isAcceptable() {
    return id != null
        && !id.isBlank()
        && eventType != null
        && eventType.id() != null
        && event != null
        && isValidCorrelationId(event.correlationId());
  }
}
