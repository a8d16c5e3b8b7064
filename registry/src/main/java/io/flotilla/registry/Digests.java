package io.flotilla.registry;

import io.flotilla.protocol.oci.Digest;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Digests as the registry's requests carry them: a refusal is the OCI error {@code DIGEST_INVALID}.
 */
public final class Digests {
  private static final Pattern ANY =
      Pattern.compile("[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+");

  private Digests() {}

  public static Digest parse(String value) {
    Optional<Digest> valid = ifValid(value);
    if (valid.isPresent()) {
      return valid.get();
    }
    if (value != null && ANY.matcher(value).matches()) {
      throw new RegistryError(
          ErrorCode.DIGEST_INVALID, "unsupported digest algorithm, only sha256 is accepted", value);
    }
    throw new RegistryError(ErrorCode.DIGEST_INVALID, "invalid digest", value);
  }

  /** Empty where {@link #parse} would refuse the value. */
  public static Optional<Digest> ifValid(String value) {
    return Digest.isValid(value) ? Optional.of(Digest.parse(value)) : Optional.empty();
  }

  /** A manifest reference with a colon is a digest (tags cannot hold one). */
  public static boolean looksLikeDigest(String reference) {
    return reference.indexOf(':') >= 0;
  }
}
