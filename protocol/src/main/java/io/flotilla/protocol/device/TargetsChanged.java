package io.flotilla.protocol.device;

import com.fasterxml.jackson.annotation.JsonIgnore;

/**
 * The WebSocket push of §8: sent on {@code GET /ws} when a target is published for the device's
 * tag.
 */
public record TargetsChanged(String type, String tag, long version) {

  public static final String TYPE = "targets-changed";

  public static TargetsChanged of(String tag, long version) {
    return new TargetsChanged(TYPE, tag, version);
  }

  @JsonIgnore
  public boolean isTargetsChanged() {
    return TYPE.equals(type);
  }
}
