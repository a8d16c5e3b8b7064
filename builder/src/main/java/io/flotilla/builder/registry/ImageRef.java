package io.flotilla.builder.registry;

import io.flotilla.protocol.oci.Digest;
import java.util.Optional;

/**
 * A parsed image reference {@code [host/]path[:tag][@sha256:..]}. A reference without a host means
 * the default host the caller supplies: Docker Hub for compose images, our own registry for
 * Dockerfile {@code FROM} lines.
 */
public record ImageRef(String host, String repository, String tag, Digest digest) {

  public static final String DOCKER_HUB = "registry-1.docker.io";

  /**
   * Parses a reference; {@code defaultHost} stands in for a missing host. Throws
   * IllegalArgumentException.
   */
  public static ImageRef parse(String reference, String defaultHost) {
    if (reference == null
        || reference.isBlank()
        || reference.chars().anyMatch(Character::isWhitespace)) {
      throw new IllegalArgumentException("invalid image reference '" + reference + "'");
    }
    String rest = reference;
    Digest digest = null;
    int at = rest.indexOf('@');
    if (at >= 0) {
      digest = Digest.parse(rest.substring(at + 1));
      rest = rest.substring(0, at);
    }
    String host = null;
    int slash = rest.indexOf('/');
    if (slash > 0) {
      String first = rest.substring(0, slash);
      if (first.contains(".") || first.contains(":") || first.equals("localhost")) {
        host = first;
        rest = rest.substring(slash + 1);
      }
    }
    String tag = null;
    int colon = rest.lastIndexOf(':');
    if (colon > rest.lastIndexOf('/')) {
      tag = rest.substring(colon + 1);
      rest = rest.substring(0, colon);
    }
    if (rest.isEmpty()
        || !rest.matches(
            "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*)*")) {
      throw new IllegalArgumentException(
          "invalid repository in image reference '" + reference + "'");
    }
    if (tag != null && !tag.matches("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")) {
      throw new IllegalArgumentException("invalid tag in image reference '" + reference + "'");
    }
    if (host == null) {
      host = defaultHost;
      if (DOCKER_HUB.equals(host) && !rest.contains("/")) {
        rest = "library/" + rest;
      }
    } else if (host.equals("docker.io") || host.equals("index.docker.io")) {
      host = DOCKER_HUB;
      if (!rest.contains("/")) {
        rest = "library/" + rest;
      }
    }
    return new ImageRef(host, rest, tag, digest);
  }

  /** The tag or digest to fetch: the digest wins, as with docker; no tag means {@code latest}. */
  public String reference() {
    return digest != null ? digest.toString() : tag != null ? tag : "latest";
  }

  /**
   * Pinned means a digest or an explicit tag other than {@code latest}: the same reference always
   * names the same build.
   */
  public boolean pinned() {
    return digest != null || (tag != null && !tag.equals("latest"));
  }

  public Optional<Digest> pinnedDigest() {
    return Optional.ofNullable(digest);
  }

  /** The last path component, e.g. {@code nginx} for {@code library/nginx}. */
  public String name() {
    return repository.substring(repository.lastIndexOf('/') + 1);
  }

  @Override
  public String toString() {
    return host
        + "/"
        + repository
        + (tag != null ? ":" + tag : "")
        + (digest != null ? "@" + digest : "");
  }
}
