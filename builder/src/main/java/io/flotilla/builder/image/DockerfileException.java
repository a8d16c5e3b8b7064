package io.flotilla.builder.image;

/**
 * A Dockerfile the builder cannot build as written; the message is for the developer who wrote it.
 */
public final class DockerfileException extends RuntimeException {
  public DockerfileException(String message) {
    super(message);
  }
}
