package io.flotilla.agent.gateway;

import java.io.IOException;

/**
 * The gateway answered with an unexpected status; {@link #status()} is 0 when it could not be
 * reached at all.
 */
public class GatewayException extends IOException {

  private final int status;

  public GatewayException(int status, String message) {
    super(message);
    this.status = status;
  }

  public GatewayException(String message, Throwable cause) {
    super(message, cause);
    this.status = 0;
  }

  public int status() {
    return status;
  }
}
