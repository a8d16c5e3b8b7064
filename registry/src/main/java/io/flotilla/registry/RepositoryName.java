package io.flotilla.registry;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A repository name as the OCI name grammar allows it, with at least two components: the first one
 * is the factory that owns the repository.
 */
public record RepositoryName(String value) {
  private static final Pattern GRAMMAR =
      Pattern.compile(
          "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*)+");
  private static final int MAX_LENGTH = 255;

  public static RepositoryName parse(String value) {
    return ifValid(value)
        .orElseThrow(
            () ->
                new RegistryError(
                    ErrorCode.NAME_INVALID,
                    "invalid repository name, expected <factory>/<name> in the OCI name grammar",
                    value));
  }

  /** Empty where {@link #parse} would refuse the name. */
  public static Optional<RepositoryName> ifValid(String value) {
    return value.length() > MAX_LENGTH || !GRAMMAR.matcher(value).matches()
        ? Optional.empty()
        : Optional.of(new RepositoryName(value));
  }

  public String factory() {
    return value.substring(0, value.indexOf('/'));
  }

  @Override
  public String toString() {
    return value;
  }
}
