package io.flotilla.protocol.oci;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;

/** An OCI content descriptor: what a manifest says about one blob or manifest it references. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Descriptor(
    String mediaType,
    Digest digest,
    long size,
    List<String> urls,
    Map<String, String> annotations,
    String artifactType,
    Platform platform) {

  public Descriptor {
    if (digest == null) {
      throw new IllegalArgumentException("descriptor without digest");
    }
    if (size < 0) {
      throw new IllegalArgumentException("descriptor with negative size " + size);
    }
    annotations = annotations == null ? null : Map.copyOf(annotations);
  }

  public static Descriptor of(String mediaType, Digest digest, long size) {
    return new Descriptor(mediaType, digest, size, null, null, null, null);
  }

  public static Descriptor of(String mediaType, byte[] content) {
    return of(mediaType, Digest.of(content), content.length);
  }

  public Descriptor withAnnotations(Map<String, String> newAnnotations) {
    return new Descriptor(mediaType, digest, size, urls, newAnnotations, artifactType, platform);
  }

  public String annotation(String key) {
    return annotations == null ? null : annotations.get(key);
  }
}
