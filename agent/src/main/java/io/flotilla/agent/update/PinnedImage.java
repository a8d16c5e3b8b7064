package io.flotilla.agent.update;

import io.flotilla.protocol.oci.Digest;

/**
 * A digest-pinned image reference from a compose file: {@code <host>/<repository>@sha256:<hex>}.
 */
public record PinnedImage(String host, String repository, Digest digest) {

  public static PinnedImage parse(String reference) {
    int at = reference.indexOf('@');
    int slash = reference.indexOf('/');
    if (at < 0 || slash < 0 || slash > at) {
      throw new IllegalArgumentException(
          "image " + reference + " is not pinned as <host>/<repository>@sha256:<hex>");
    }
    String name = reference.substring(0, at);
    int tag = name.lastIndexOf(':');
    if (tag > name.indexOf('/')) {
      name = name.substring(0, tag); // "repo:tag@digest": the digest decides, the tag is decoration
    }
    return new PinnedImage(
        name.substring(0, slash),
        name.substring(slash + 1),
        Digest.parse(reference.substring(at + 1)));
  }

  public String hostAndRepository() {
    return host + "/" + repository;
  }
}
