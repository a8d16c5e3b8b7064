package io.flotilla.protocol.device;

/** One signature over the canonical JSON of a TUF role's {@code signed} part. */
public record TufSignature(String keyid, String method, String sig) {}
