package io.flotilla.registry;

import io.flotilla.protocol.oci.Digest;
import io.flotilla.registry.blob.BlobHandler;
import io.flotilla.registry.blob.BlobStore;
import io.flotilla.registry.manifest.ManifestHandler;
import io.flotilla.registry.repository.RepositoryStore;
import io.flotilla.registry.upload.UploadHandler;
import io.flotilla.registry.upload.UploadStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.Materializer;

/**
 * The registry for a caller inside the node (the builder): reads and pushes go straight to the
 * stores, through the same handler code as the HTTP routes, so validation, durability (forced
 * before the rename that publishes) and repository metadata are what a push over {@code /v2/}
 * gives. No credentials: the caller is trusted, and decides itself which repositories it writes.
 * Methods block; a {@link RegistryError} says what is wrong with the input.
 */
public final class LocalRegistry {
  private final RegistryContext ctx;
  private final BlobHandler blobs;
  private final UploadHandler uploads;
  private final ManifestHandler manifests;

  private LocalRegistry(RegistryContext ctx) {
    this.ctx = ctx;
    this.blobs = new BlobHandler(ctx);
    this.uploads = new UploadHandler(ctx);
    this.manifests = new ManifestHandler(ctx);
  }

  /**
   * Over the storage root of {@code settings}, which the node's {@link RegistryRoutes} serve too.
   */
  public static LocalRegistry open(ActorSystem<?> system, RegistrySettings settings) {
    return new LocalRegistry(
        new RegistryContext(
            settings,
            new BlockingIo(system),
            Materializer.matFromSystem(system),
            new BlobStore(settings.rootDir()),
            new UploadStore(settings.rootDir()),
            new RepositoryStore(settings.rootDir())));
  }

  /** The manifest a tag or digest names in the repository, empty when there is none. */
  public Optional<ManifestHandler.Stored> manifest(String repository, String reference)
      throws IOException {
    return manifests.find(RepositoryName.parse(repository), reference);
  }

  /** Whether the repository may read the blob (pushed or mounted there). */
  public boolean hasBlob(String repository, String digest) throws IOException {
    return blobs.size(RepositoryName.parse(repository), Digests.parse(digest)).isPresent();
  }

  /** A blob of the repository, whole: for small ones (configs, app bundles). */
  public byte[] readBlob(String repository, String digest) throws IOException {
    Digest parsed = Digests.parse(digest);
    if (blobs.size(RepositoryName.parse(repository), parsed).isEmpty()) {
      throw new RegistryError(ErrorCode.BLOB_UNKNOWN, "blob unknown to registry", digest);
    }
    try {
      return ctx.blobs().readAll(parsed);
    } catch (NoSuchFileException e) {
      throw new RegistryError(ErrorCode.BLOB_UNKNOWN, "blob unknown to registry", digest);
    }
  }

  /** Copies a blob of the repository to {@code target}. */
  public void copyBlob(String repository, String digest, Path target) throws IOException {
    Digest parsed = Digests.parse(digest);
    if (blobs.size(RepositoryName.parse(repository), parsed).isEmpty()) {
      throw new RegistryError(ErrorCode.BLOB_UNKNOWN, "blob unknown to registry", digest);
    }
    try {
      Files.copy(ctx.blobs().pathOf(parsed), target, StandardCopyOption.REPLACE_EXISTING);
    } catch (NoSuchFileException e) {
      throw new RegistryError(ErrorCode.BLOB_UNKNOWN, "blob unknown to registry", digest);
    }
  }

  /**
   * Pushes a blob as a monolithic upload does: into an upload session, hashed while it is written,
   * then verified, moved into place and linked into the repository. A blob the repository has
   * already is only touched.
   */
  public void pushBlob(String repository, String digest, InputStream content) throws IOException {
    RepositoryName name = RepositoryName.parse(repository);
    Digest expected = Digests.parse(digest);
    if (blobs.size(name, expected).isPresent() && ctx.blobs().touch(expected)) {
      return;
    }
    UploadStore.Session session = ctx.uploads().create(name);
    MessageDigest hasher = Digest.sha256();
    try (OutputStream out =
        new DigestOutputStream(
            Files.newOutputStream(session.data(), StandardOpenOption.APPEND), hasher)) {
      content.transferTo(out);
    } catch (IOException | RuntimeException e) {
      ctx.uploads().delete(session);
      throw e;
    }
    uploads.finish(session, Digest.of(hasher), expected);
  }

  /** Pushes a manifest under a tag or its digest, as a manifest PUT does; returns its digest. */
  public String pushManifest(String repository, String reference, String mediaType, byte[] content)
      throws IOException {
    manifests.put(RepositoryName.parse(repository), reference, mediaType, content);
    return Digest.of(content).toString();
  }
}
