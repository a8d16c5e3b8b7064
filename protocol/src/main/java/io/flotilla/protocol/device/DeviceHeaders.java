package io.flotilla.protocol.device;

/**
 * HTTP header names of the device protocol (§1, §3). A present header updates the device record, an
 * absent one means "unchanged".
 */
public final class DeviceHeaders {
  /** The one tag the device follows; {@code GET /repo/targets.json} is 404 without it. */
  public static final String TAGS = "x-ats-tags";

  /** Name of the target the device runs. */
  public static final String TARGET = "x-ats-target";

  /** Comma list of the app names the device runs. */
  public static final String DOCKER_APPS = "x-ats-dockerapps";

  /** sha256 hex of the targets.json body. */
  public static final String ROLE_CHECKSUM = "x-ats-role-checksum";

  /**
   * Factory token header accepted by {@code POST /ota/devices/}, besides {@code Authorization:
   * Bearer}.
   */
  public static final String OSF_TOKEN = "OSF-TOKEN";

  private DeviceHeaders() {}
}
