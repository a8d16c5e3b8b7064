package io.flotilla.protocol.device;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * The signed part of the targets role. {@code expires} is kept as the text that was signed, since
 * reformatting a timestamp would break the signature; {@link #expiresAt()} parses it.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TargetsSigned(
    @JsonProperty("_type") String type,
    String expires,
    long version,
    Map<String, TufTarget> targets) {

  public static final String TYPE = "Targets";

  public TargetsSigned {
    targets = targets == null ? Map.of() : Collections.unmodifiableMap(new TreeMap<>(targets));
  }

  public Instant expiresAt() {
    return Rfc3339.parse(expires);
  }
}
