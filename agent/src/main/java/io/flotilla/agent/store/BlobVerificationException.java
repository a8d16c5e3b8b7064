package io.flotilla.agent.store;

import java.io.IOException;

/**
 * Downloaded bytes that do not match the digest or size they were asked for; they were discarded.
 */
public class BlobVerificationException extends IOException {
  public BlobVerificationException(String message) {
    super(message);
  }
}
