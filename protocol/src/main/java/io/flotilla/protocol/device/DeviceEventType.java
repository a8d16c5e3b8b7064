package io.flotilla.protocol.device;

import java.util.Optional;

/**
 * The event types of §4, in the order a good update reports them (after {@link
 * #MetadataUpdateCompleted}).
 */
public enum DeviceEventType {
  MetadataUpdateCompleted,
  UpdateInitStarted,
  UpdateInitCompleted,
  EcuDownloadStarted,
  EcuDownloadCompleted,
  EcuInstallationStarted,
  EcuInstallationApplied,
  EcuInstallationCompleted;

  /** The {@code eventType.version} fioup sends. */
  public static final int WIRE_VERSION = 2;

  /** Only the *Completed events carry {@code success} true/false; the others carry null. */
  public boolean reportsSuccess() {
    return name().endsWith("Completed");
  }

  public static Optional<DeviceEventType> fromWire(String id) {
    for (DeviceEventType type : values()) {
      if (type.name().equals(id)) {
        return Optional.of(type);
      }
    }
    return Optional.empty();
  }
}
