package io.flotilla.builder.registry;

import io.flotilla.protocol.oci.Digest;
import io.flotilla.registry.LocalRegistry;
import io.flotilla.registry.RegistryError;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Publishes into the node's own registry storage, in process: no HTTP, no token. The registry's
 * code checks and stores what it is given exactly as for a push over {@code /v2/}; its refusals
 * become non-retryable {@link RegistryException}s, and file-system trouble a retryable one.
 */
public final class StoreImagePublisher implements ImagePublisher {

  private final LocalRegistry registry;

  public StoreImagePublisher(LocalRegistry registry) {
    this.registry = registry;
  }

  @Override
  public Optional<RegistryClient.Manifest> manifest(String repository, String reference)
      throws IOException {
    return call(
        "reading manifest " + repository + ":" + reference,
        () ->
            registry
                .manifest(repository, reference)
                .map(
                    m ->
                        new RegistryClient.Manifest(
                            m.mediaType(), m.content(), Digest.parse(m.digest().toString()))));
  }

  @Override
  public byte[] blob(String repository, Digest digest) throws IOException {
    return call(
        "reading blob " + repository + "@" + digest,
        () -> registry.readBlob(repository, digest.toString()));
  }

  @Override
  public void blobToFile(String repository, Digest digest, Path file) throws IOException {
    call(
        "reading blob " + repository + "@" + digest,
        () -> {
          registry.copyBlob(repository, digest.toString(), file);
          return null;
        });
  }

  @Override
  public boolean hasBlob(String repository, Digest digest) throws IOException {
    return call(
        "looking for blob " + repository + "@" + digest,
        () -> registry.hasBlob(repository, digest.toString()));
  }

  @Override
  public void pushBlob(String repository, Digest digest, byte[] content) throws IOException {
    push(repository, digest, new ByteArrayInputStream(content));
  }

  @Override
  public void pushBlob(String repository, Digest digest, Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      push(repository, digest, in);
    }
  }

  private void push(String repository, Digest digest, InputStream content) throws IOException {
    call(
        "pushing blob " + repository + "@" + digest,
        () -> {
          registry.pushBlob(repository, digest.toString(), content);
          return null;
        });
  }

  @Override
  public Digest pushManifest(String repository, String reference, String mediaType, byte[] bytes)
      throws IOException {
    return Digest.parse(
        call(
            "pushing manifest " + repository + ":" + reference,
            () -> registry.pushManifest(repository, reference, mediaType, bytes)));
  }

  private interface StoreCall<T> {
    T run() throws IOException;
  }

  private static <T> T call(String what, StoreCall<T> call) throws RegistryException {
    try {
      return call.run();
    } catch (RegistryError e) {
      throw new RegistryException(
          what + ": " + e.code + " " + e.getMessage() + (e.detail == null ? "" : " " + e.detail),
          false,
          e);
    } catch (IOException e) {
      throw new RegistryException(what + ": " + e, true, e);
    }
  }
}
