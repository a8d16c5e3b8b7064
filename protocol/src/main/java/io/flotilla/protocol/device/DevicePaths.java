package io.flotilla.protocol.device;

/** Request paths of the device gateway, exactly as fioup sends them. */
public final class DevicePaths {
  /** Registration, on the API port (not mTLS), with a factory token. */
  public static final String REGISTER = "/ota/devices/";

  /**
   * Registration without a token, on the API port: the OAuth 2.0 device authorization grant (RFC
   * 8628) under fioup's {@code OAUTH_BASE} = {@code <api>/oauth}.
   */
  public static final String OAUTH_DEVICE_AUTHORIZATION = "/oauth/authorization/device/";

  public static final String OAUTH_TOKEN = "/oauth/token/";

  public static final String TARGETS = "/repo/targets.json";
  public static final String TIMESTAMP = "/repo/timestamp.json";
  public static final String SNAPSHOT = "/repo/snapshot.json";
  public static final String EVENTS = "/events";
  public static final String APPS_STATES = "/apps-states";
  public static final String SYSTEM_INFO = "/system_info";
  public static final String NETWORK_INFO = "/system_info/network";
  public static final String CONFIG_INFO = "/system_info/config";
  public static final String DEVICE = "/device";
  public static final String CONFIG = "/config";
  public static final String HUB_CREDS = "/hub-creds/";

  /** Flotilla's WebSocket extension (§8). */
  public static final String WEBSOCKET = "/ws";

  private DevicePaths() {}

  /** {@code /repo/<N>.root.json}: clients probe N+1 to detect a root rotation. */
  public static String root(int version) {
    return "/repo/" + version + ".root.json";
  }
}
