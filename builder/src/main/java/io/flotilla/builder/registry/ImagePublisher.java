package io.flotilla.builder.registry;

import io.flotilla.protocol.oci.Digest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Our own registry as a build sees it: where it publishes blobs and manifests, and where it reads
 * back bases and images pushed earlier. {@link StoreImagePublisher} writes straight into the node's
 * registry storage; {@link ProtocolImagePublisher} speaks the registry protocol, for a node that
 * does not serve the registry. Either way, a call that returns has stored what it was given,
 * durably. Blocking: call it from the builder's dispatcher.
 */
public interface ImagePublisher {

  /** A manifest or index by tag or digest; empty when the repository has none. */
  Optional<RegistryClient.Manifest> manifest(String repository, String reference)
      throws IOException;

  byte[] blob(String repository, Digest digest) throws IOException;

  /** Copies a blob into a file, for layers, which may be large. */
  void blobToFile(String repository, Digest digest, Path file) throws IOException;

  boolean hasBlob(String repository, Digest digest) throws IOException;

  /** Stores a blob the repository does not have yet; one it has is left as it is. */
  void pushBlob(String repository, Digest digest, byte[] content) throws IOException;

  void pushBlob(String repository, Digest digest, Path file) throws IOException;

  /** Stores a manifest under a tag or its digest; returns its digest. */
  Digest pushManifest(String repository, String reference, String mediaType, byte[] bytes)
      throws IOException;
}
