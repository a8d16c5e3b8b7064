package io.flotilla.builder.image;

import io.flotilla.protocol.oci.Digest;
import java.util.List;

/** A pushed image: {@code digest} names its index (several platforms) or its manifest (one). */
public record BuiltImage(
    String name, String repository, Digest digest, String mediaType, List<String> platforms) {}
