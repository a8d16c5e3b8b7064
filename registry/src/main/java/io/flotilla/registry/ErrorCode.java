package io.flotilla.registry;

/**
 * The error codes of the OCI Distribution Specification, with the status each one is usually
 * answered with.
 */
public enum ErrorCode {
  BLOB_UNKNOWN(404),
  BLOB_UPLOAD_INVALID(400),
  BLOB_UPLOAD_UNKNOWN(404),
  DIGEST_INVALID(400),
  MANIFEST_BLOB_UNKNOWN(400),
  MANIFEST_INVALID(400),
  MANIFEST_UNKNOWN(404),
  NAME_INVALID(400),
  NAME_UNKNOWN(404),
  SIZE_INVALID(400),
  UNAUTHORIZED(401),
  DENIED(403),
  UNSUPPORTED(405),
  TOOMANYREQUESTS(429),
  /**
   * Not in the specification: Docker's distribution answers it when a service it depends on does
   * not answer.
   */
  UNAVAILABLE(503);

  public final int defaultStatus;

  ErrorCode(int defaultStatus) {
    this.defaultStatus = defaultStatus;
  }
}
