package io.flotilla.protocol.device;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;
import java.util.List;

/** {@code GET /device}: the device's own record as the gateway knows it. */
public record DeviceRecord(
    String uuid,
    String name,
    String factory,
    String tag,
    @JsonProperty("group_name") String groupName,
    @JsonProperty("is_prod") boolean isProd,
    @JsonProperty("target_name") String targetName,
    @JsonProperty("docker_apps") List<String> dockerApps,
    @JsonProperty("last_seen") Instant lastSeen,
    @JsonProperty("created_at") Instant createdAt,
    String pubkey) {

  public DeviceRecord {
    dockerApps = dockerApps == null ? List.of() : List.copyOf(dockerApps);
  }
}
