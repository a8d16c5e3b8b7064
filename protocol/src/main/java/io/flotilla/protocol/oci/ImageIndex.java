package io.flotilla.protocol.oci;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** An OCI image index or Docker manifest list: one manifest per platform. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ImageIndex(
    int schemaVersion,
    String mediaType,
    String artifactType,
    List<Descriptor> manifests,
    Descriptor subject,
    Map<String, String> annotations) {

  public ImageIndex {
    manifests = manifests == null ? List.of() : List.copyOf(manifests);
  }

  /**
   * The manifest for a platform; entries without a platform (attestations and the like) never
   * match.
   */
  public Optional<Descriptor> forPlatform(String os, String architecture, String variant) {
    return manifests.stream()
        .filter(d -> d.platform() != null && d.platform().matches(os, architecture, variant))
        .findFirst();
  }
}
