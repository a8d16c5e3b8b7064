package io.flotilla.builder.build;

/**
 * Why a build step failed. Deterministic failures (a bad Dockerfile, a missing base image, a
 * failing RUN) fail the build at once; the others (registry unreachable, a crashed process) are
 * retried with backoff.
 */
public final class BuildFailure extends Exception {

  private final boolean deterministic;

  private BuildFailure(String message, boolean deterministic, Throwable cause) {
    super(message, cause);
    this.deterministic = deterministic;
  }

  public static BuildFailure deterministic(String message) {
    return new BuildFailure(message, true, null);
  }

  public static BuildFailure deterministic(String message, Throwable cause) {
    return new BuildFailure(message, true, cause);
  }

  public static BuildFailure transientFailure(String message, Throwable cause) {
    return new BuildFailure(message, false, cause);
  }

  public boolean deterministic() {
    return deterministic;
  }
}
