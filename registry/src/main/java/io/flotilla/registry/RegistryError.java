package io.flotilla.registry;

import java.util.List;
import java.util.Map;

/**
 * A client error answered in the spec's JSON form. Thrown from anywhere in request handling (also
 * inside futures); the routes turn it into the response, so handlers never build error responses
 * themselves.
 */
public final class RegistryError extends RuntimeException {
  public final ErrorCode code;
  public final int status;
  public final Object detail;
  public final Map<String, String> headers;

  public RegistryError(
      ErrorCode code, int status, String message, Object detail, Map<String, String> headers) {
    super(message, null, false, false);
    this.code = code;
    this.status = status;
    this.detail = detail;
    this.headers = headers;
  }

  public RegistryError(ErrorCode code, String message) {
    this(code, code.defaultStatus, message, null, Map.of());
  }

  public RegistryError(ErrorCode code, String message, Object detail) {
    this(code, code.defaultStatus, message, detail, Map.of());
  }

  public RegistryError(ErrorCode code, int status, String message) {
    this(code, status, message, null, Map.of());
  }

  /** The body the spec prescribes: {@code {"errors":[{"code":...,"message":...,"detail":...}]}}. */
  public Map<String, Object> body() {
    var entry = new java.util.LinkedHashMap<String, Object>();
    entry.put("code", code.name());
    entry.put("message", getMessage());
    if (detail != null) {
      entry.put("detail", detail);
    }
    return Map.of("errors", List.of(entry));
  }
}
