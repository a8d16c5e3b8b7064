package io.flotilla.protocol.device;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** Body of the device-initiated {@code PATCH /config} (§5), answered 201. */
public record ConfigPatch(String reason, List<File> files) {

  public ConfigPatch {
    files = files == null ? List.of() : List.copyOf(files);
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record File(
      String name,
      String value,
      boolean unencrypted,
      @JsonProperty("on-changed") List<String> onChanged) {
    public File {
      onChanged = onChanged == null ? List.of() : List.copyOf(onChanged);
    }
  }
}
