package io.flotilla.protocol.device;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Map;
import java.util.TreeMap;

/**
 * The 201 answer of {@code POST /ota/devices/}: file name → content, which the agent writes
 * verbatim (§2).
 */
public record RegistrationResponse(Map<String, String> files) {

  public static final String ROOT_CRT = "root.crt";
  public static final String CLIENT_PEM = "client.pem";
  public static final String SOTA_TOML = "sota.toml";

  /**
   * The factory's newest TUF root, fiotuf's trust anchor; a base name because fioup creates no
   * directories when it writes these files.
   */
  public static final String TUF_ROOT_JSON = "tuf-root.json";

  /** Written by the agent itself: the key never leaves the device. */
  public static final String PKEY_PEM = "pkey.pem";

  @JsonCreator
  public RegistrationResponse {
    files = files == null ? Map.of() : new TreeMap<>(files);
  }

  @JsonValue
  public Map<String, String> files() {
    return files;
  }

  /**
   * A file name the agent may write into its config dir: a plain base name, nothing that climbs
   * out.
   */
  public static boolean isSafeFileName(String name) {
    return name != null
        && !name.isEmpty()
        && !name.equals(".")
        && !name.equals("..")
        && name.indexOf('/') < 0
        && name.indexOf('\\') < 0
        && name.indexOf('\0') < 0;
  }
}
