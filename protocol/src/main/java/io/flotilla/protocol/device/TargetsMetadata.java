package io.flotilla.protocol.device;

import java.util.List;

/** {@code GET /repo/targets.json} (§3): the TUF targets role as fioup reads it. */
public record TargetsMetadata(List<TufSignature> signatures, TargetsSigned signed) {

  public TargetsMetadata {
    signatures = signatures == null ? List.of() : List.copyOf(signatures);
  }
}
