package io.flotilla.registry.auth;

/** What a caller may do in a factory's repositories. */
public enum RegistryAction {
    /** Fetch manifests, blobs, tags, referrers (scope {@code containers:read}, or device credentials). */
    PULL,
    /** Upload, tag and delete; implies {@link #PULL} (scope {@code containers:push}). */
    PUSH
}
