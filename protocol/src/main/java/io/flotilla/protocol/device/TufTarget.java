package io.flotilla.protocol.device;

import java.util.Map;

/**
 * One entry of {@code signed.targets}. Container-only targets have no OS image: {@code
 * hashes.sha256} is the sha256 of the empty string and {@code length} is 0.
 */
public record TufTarget(Map<String, String> hashes, long length, TargetCustom custom) {

  public static final String EMPTY_SHA256 =
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

  public TufTarget {
    hashes = hashes == null ? Map.of() : Map.copyOf(hashes);
  }

  public static TufTarget containersOnly(TargetCustom custom) {
    return new TufTarget(Map.of("sha256", EMPTY_SHA256), 0, custom);
  }
}
