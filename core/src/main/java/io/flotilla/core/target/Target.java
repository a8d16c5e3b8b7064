package io.flotilla.core.target;

import io.flotilla.core.CborSerializable;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * One target: what a device of one hardware id should run. Its name is {@code
 * <hardwareId>-<version>}; {@code apps} maps each app name to its digest-pinned URI.
 */
public record Target(
    String name,
    String hardwareId,
    long version,
    List<String> tags,
    Map<String, String> apps,
    String containersSha,
    Instant createdAt)
    implements CborSerializable {

  public static String name(String hardwareId, long version) {
    return hardwareId + "-" + version;
  }

  public boolean hasTag(String tag) {
    return tags.contains(tag);
  }

  Target withTags(List<String> newTags) {
    return new Target(name, hardwareId, version, newTags, apps, containersSha, createdAt);
  }
}
