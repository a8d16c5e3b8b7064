package io.flotilla.protocol.device;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * One file of {@code GET /config} (§5), which answers a JSON object of file name → this record.
 * fioconfig's field names are capitalised on the wire.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ConfigFile(
    @JsonProperty("Value") String value,
    @JsonProperty("OnChanged") List<String> onChanged,
    @JsonProperty("Unencrypted") boolean unencrypted) {

  /** The file through which the operator changes a device's tag and app shortlist. */
  public static final String FIOCTL_TOML = "z-50-fioctl.toml";

  public ConfigFile {
    onChanged = onChanged == null ? List.of() : List.copyOf(onChanged);
  }
}
