package io.flotilla.protocol.oci;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * The parts of an image config blob that tooling here needs: the platform and the uncompressed
 * layer digests ({@code rootfs.diff_ids}). The whole blob is always kept byte for byte, since its
 * digest is the image id.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ImageConfig(String architecture, String os, String variant, RootFs rootfs) {

  public record RootFs(String type, @JsonProperty("diff_ids") List<Digest> diffIds) {
    public RootFs {
      diffIds = diffIds == null ? List.of() : List.copyOf(diffIds);
    }
  }
}
