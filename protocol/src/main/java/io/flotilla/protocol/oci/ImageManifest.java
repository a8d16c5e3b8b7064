package io.flotilla.protocol.oci;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;

/**
 * An OCI image manifest (also the shape of a Docker schema-2 manifest, whose extra fields are
 * ignored).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ImageManifest(
    int schemaVersion,
    String mediaType,
    String artifactType,
    Descriptor config,
    List<Descriptor> layers,
    Descriptor subject,
    Map<String, String> annotations) {

  public ImageManifest {
    layers = layers == null ? List.of() : List.copyOf(layers);
  }

  public String annotation(String key) {
    return annotations == null ? null : annotations.get(key);
  }
}
