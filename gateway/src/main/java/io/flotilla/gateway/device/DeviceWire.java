package io.flotilla.gateway.device;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.flotilla.core.device.Device;
import java.time.Instant;
import java.util.List;

/**
 * The device port's JSON bodies with their exact wire names (DEVICE-PROTOCOL.md §4–6). Kept apart from the
 * Device entity's events so either can change without the other.
 */
final class DeviceWire {

  private DeviceWire() {}

  /** {@code GET /device}. */
  @JsonInclude(JsonInclude.Include.ALWAYS)
  record DeviceRecord(
      @JsonProperty("uuid") String uuid,
      @JsonProperty("name") String name,
      @JsonProperty("factory") String factory,
      @JsonProperty("tag") String tag,
      @JsonProperty("group_name") String groupName,
      @JsonProperty("is_prod") boolean isProd,
      @JsonProperty("target_name") String targetName,
      @JsonProperty("docker_apps") List<String> dockerApps,
      @JsonProperty("last_seen") Instant lastSeen,
      @JsonProperty("created_at") Instant createdAt,
      @JsonProperty("pubkey") String pubkey) {

    static DeviceRecord of(Device.Summary s) {
      return new DeviceRecord(
          s.uuid(), s.name(), s.factory(), s.tag(), s.group(), s.production(), s.targetName(), s.apps(), s.lastSeen(), s.createdAt(), s.publicKeyPem());
    }
  }

  /** A value of the {@code GET /config} map. */
  record ConfigValue(
      @JsonProperty("Value") String value, @JsonProperty("OnChanged") List<String> onChanged, @JsonProperty("Unencrypted") boolean unencrypted) {}

  /** An element of {@code PATCH /config} {@code files}. */
  record ConfigFileRequest(
      @JsonProperty("name") String name,
      @JsonProperty("value") String value,
      @JsonProperty("unencrypted") Boolean unencrypted,
      @JsonProperty("on-changed") List<String> onChanged) {}

  record ConfigPatch(@JsonProperty("reason") String reason, @JsonProperty("files") List<ConfigFileRequest> files) {}

  /** {@code GET /hub-creds/}. */
  record HubCredentials(@JsonProperty("Username") String username, @JsonProperty("Secret") String secret) {}

  /** The WebSocket push message (§8). */
  record TargetsChanged(@JsonProperty("type") String type, @JsonProperty("tag") String tag, @JsonProperty("version") long version) {
    TargetsChanged(String tag, long version) {
      this("targets-changed", tag, version);
    }
  }
}
