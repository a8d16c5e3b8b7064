package io.flotilla.builder.registry;

import io.flotilla.protocol.oci.Digest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Publishes over the registry protocol to {@code host}, with the credentials of the client's
 * endpoints: for a builder node that does not serve the registry itself.
 */
public final class ProtocolImagePublisher implements ImagePublisher {

  private final RegistryClient http;
  private final String host;

  /**
   * {@code http}: a client that reaches {@code host} over HTTP (one made without a publisher of its
   * own).
   */
  public ProtocolImagePublisher(RegistryClient http, String host) {
    this.http = http;
    this.host = host;
  }

  @Override
  public Optional<RegistryClient.Manifest> manifest(String repository, String reference)
      throws IOException {
    return http.manifest(host, repository, reference);
  }

  @Override
  public byte[] blob(String repository, Digest digest) throws IOException {
    return http.blob(host, repository, digest);
  }

  @Override
  public void blobToFile(String repository, Digest digest, Path file) throws IOException {
    http.blobToFile(host, repository, digest, file);
  }

  @Override
  public boolean hasBlob(String repository, Digest digest) throws IOException {
    return http.hasBlob(host, repository, digest);
  }

  @Override
  public void pushBlob(String repository, Digest digest, byte[] content) throws IOException {
    http.pushBlob(host, repository, digest, content);
  }

  @Override
  public void pushBlob(String repository, Digest digest, Path file) throws IOException {
    http.pushBlob(host, repository, digest, file);
  }

  @Override
  public Digest pushManifest(String repository, String reference, String mediaType, byte[] bytes)
      throws IOException {
    return http.pushManifest(host, repository, reference, mediaType, bytes);
  }
}
