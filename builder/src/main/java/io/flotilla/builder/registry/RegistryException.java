package io.flotilla.builder.registry;

import java.io.IOException;

/**
 * A registry answered, but not as hoped. {@code transient} marks answers worth retrying (5xx, 429,
 * connection trouble); a 404 or 401 will answer the same next time.
 */
public class RegistryException extends IOException {

  private final boolean retryable;

  public RegistryException(String message, boolean retryable) {
    super(message);
    this.retryable = retryable;
  }

  public RegistryException(String message, boolean retryable, Throwable cause) {
    super(message, cause);
    this.retryable = retryable;
  }

  public boolean retryable() {
    return retryable;
  }

  static boolean retryableStatus(int status) {
    return status >= 500 || status == 429 || status == 408;
  }
}
