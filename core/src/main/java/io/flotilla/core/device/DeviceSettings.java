package io.flotilla.core.device;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * The {@code flotilla.device} settings the Device entity and its read side need.
 *
 * @param lastSeenPersistInterval an idle check-in persists its time only when the last persisted
 *     one is older
 * @param onlineWindow a device whose read-side last-seen is older than this counts as offline
 * @param activeEntityLimit devices one node keeps in memory before passivating the least recently
 *     used
 * @param slices how many projection tags device events are spread over ({@code
 *     flotilla.projections.slices})
 */
public record DeviceSettings(
    Duration lastSeenPersistInterval, Duration onlineWindow, int activeEntityLimit, int slices) {

  public static DeviceSettings fromConfig(Config config) {
    Config device = config.getConfig("flotilla.device");
    return new DeviceSettings(
        device.getDuration("last-seen-persist-interval"),
        device.getDuration("online-window"),
        device.getInt("active-entity-limit"),
        config.getInt("flotilla.projections.slices"));
  }

  public static DeviceSettings defaults() {
    return new DeviceSettings(Duration.ofMinutes(5), Duration.ofMinutes(15), 100_000, 4);
  }
}
