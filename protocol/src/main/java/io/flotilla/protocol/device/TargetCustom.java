package io.flotilla.protocol.device;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;

/**
 * {@code custom} of a target. {@code version} is a decimal string on the wire (a build number);
 * {@link #versionNumber()} compares it as a number, so "10" is newer than "9".
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TargetCustom(
    String name,
    String version,
    List<String> hardwareIds,
    List<String> tags,
    String targetFormat,
    String createdAt,
    String updatedAt,
    @JsonProperty("containers-sha") String containersSha,
    @JsonProperty("docker_compose_apps") Map<String, ComposeAppRef> dockerComposeApps) {

  public static final String FORMAT_OSTREE = "OSTREE";

  public TargetCustom {
    hardwareIds = hardwareIds == null ? List.of() : List.copyOf(hardwareIds);
    tags = tags == null ? List.of() : List.copyOf(tags);
    dockerComposeApps =
        dockerComposeApps == null
            ? Map.of()
            : Collections.unmodifiableMap(new TreeMap<>(dockerComposeApps));
  }

  /**
   * The version as a number, or empty when it is not a decimal (such a target cannot be ordered).
   */
  public OptionalLong versionNumber() {
    if (version == null
        || version.isEmpty()
        || version.length() > 18
        || !version.chars().allMatch(Character::isDigit)) {
      return OptionalLong.empty();
    }
    return OptionalLong.of(Long.parseLong(version));
  }
}
