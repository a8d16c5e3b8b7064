package io.flotilla.protocol.device;

/**
 * The WebSocket push of §8 sent when the operator changed what the device's {@code GET /config}
 * serves (its own files, its group's or the factory's, or its tag): the device fetches its config
 * at once.
 */
public record ConfigChanged(String type) {

  public static final String TYPE = "config-changed";

  public static ConfigChanged of() {
    return new ConfigChanged(TYPE);
  }
}
