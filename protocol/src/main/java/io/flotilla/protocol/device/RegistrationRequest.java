package io.flotilla.protocol.device;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/**
 * Body of {@code POST /ota/devices/} (§2). {@code overrides} maps a TOML section to keys whose
 * values are literal TOML values, so strings carry their own quotes: {@code {"pacman": {"tags":
 * "\"main\""}}}.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RegistrationRequest(
    String name,
    String uuid,
    @JsonProperty("hardware-id") String hardwareId,
    String csr,
    @JsonProperty("sota-config-dir") String sotaConfigDir,
    String group,
    Map<String, Map<String, String>> overrides) {

  /** Quotes a string as a TOML basic string, for {@link #overrides}. */
  public static String tomlString(String value) {
    return '"' + value.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
  }
}
