package io.flotilla.registry.auth;

import java.util.Locale;

/** What a caller may do in a factory's repositories. */
public enum RegistryAction {
  /**
   * Fetch manifests, blobs, tags, referrers (scope {@code containers:read}, or device credentials).
   */
  PULL,
  /** Upload and tag; implies {@link #PULL} (scope {@code containers:push}). */
  PUSH,
  /**
   * Delete manifests, tags and blob links. Granted with {@link #PUSH}: whoever may push may already
   * move or overwrite every tag, and the CI token that pushes is the one that cleans up. A bearer
   * token names it separately ({@code repository:<name>:delete}), as distribution's clients ask for
   * it.
   */
  DELETE;

  /** The action's name in a token scope. */
  public String scopeName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
