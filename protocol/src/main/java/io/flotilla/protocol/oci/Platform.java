package io.flotilla.protocol.oci;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** The platform of an index entry (GOARCH/GOOS names: amd64, arm64, linux). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Platform(
    String architecture,
    String os,
    @JsonProperty("os.version") String osVersion,
    @JsonProperty("os.features") List<String> osFeatures,
    String variant) {

  public static Platform of(String os, String architecture) {
    return new Platform(architecture, os, null, null, null);
  }

  public boolean matches(String wantedOs, String wantedArchitecture, String wantedVariant) {
    return wantedOs.equals(os)
        && wantedArchitecture.equals(architecture)
        && (wantedVariant == null || variant == null || wantedVariant.equals(variant));
  }
}
