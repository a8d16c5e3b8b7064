package io.flotilla.registry.blob;

import io.flotilla.protocol.oci.Digest;
import io.flotilla.registry.Durable;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.javadsl.FileIO;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * Content-addressed blobs at {@code blobs/sha256/<aa>/<hex>}. A blob only ever appears by an atomic
 * rename of a fully written and verified file, so a reader (or a crash) never sees half a blob.
 * Methods block: call them on the registry's blocking dispatcher.
 */
public final class BlobStore {
  private static final int READ_CHUNK = 1024 * 1024;

  private final Path root;
  private final Path blobsDir;
  private final Path tmpDir;

  public BlobStore(Path root) {
    this.root = root;
    this.blobsDir = root.resolve("blobs").resolve("sha256");
    this.tmpDir = root.resolve("tmp");
  }

  public Path root() {
    return root;
  }

  public Path pathOf(Digest digest) {
    return blobsDir.resolve(digest.hex().substring(0, 2)).resolve(digest.hex());
  }

  public Optional<Long> size(Digest digest) throws IOException {
    try {
      return Optional.of(Files.size(pathOf(digest)));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  /**
   * Marks a blob as just used, so garbage collection running concurrently keeps it for its grace
   * period even when the manifest that references it is not written yet.
   */
  public boolean touch(Digest digest) throws IOException {
    try {
      Files.setLastModifiedTime(pathOf(digest), FileTime.from(Instant.now()));
      return true;
    } catch (NoSuchFileException e) {
      return false;
    }
  }

  /**
   * Moves a verified file into place. Concurrent ingests of the same digest are harmless: same
   * content.
   */
  public void ingest(Path verifiedFile, Digest digest) throws IOException {
    Path target = pathOf(digest);
    if (touch(digest)) {
      Files.deleteIfExists(verifiedFile);
      return;
    }
    Durable.createDirectories(target.getParent());
    try {
      Durable.publish(verifiedFile, target);
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException("upload and blob directories must be on one file system: " + root, e);
    }
  }

  /** Stores small content such as a manifest; returns its digest. */
  public Digest put(byte[] content) throws IOException {
    Digest digest = Digest.of(content);
    if (touch(digest)) {
      return digest;
    }
    Path tmp = newTempFile();
    Durable.write(tmp, content);
    ingest(tmp, digest);
    return digest;
  }

  public byte[] readAll(Digest digest) throws IOException {
    return Files.readAllBytes(pathOf(digest));
  }

  public Path newTempFile() throws IOException {
    Durable.createDirectories(tmpDir);
    return tmpDir.resolve(UUID.randomUUID().toString());
  }

  public boolean delete(Digest digest) throws IOException {
    return Files.deleteIfExists(pathOf(digest));
  }

  /** Streams the whole blob; the file is read chunk by chunk as the client consumes. */
  public Source<ByteString, ?> stream(Digest digest, Attributes ioAttributes) {
    return FileIO.fromPath(pathOf(digest), READ_CHUNK).withAttributes(ioAttributes);
  }

  /** Streams {@code length} bytes from {@code offset}, for Range requests. */
  public Source<ByteString, ?> streamRange(
      Digest digest, long offset, long length, Attributes ioAttributes) {
    return FileIO.fromPath(pathOf(digest), READ_CHUNK, offset)
        .withAttributes(ioAttributes)
        .statefulMap(
            () -> length,
            (remaining, chunk) -> {
              ByteString kept =
                  chunk.size() > remaining ? chunk.take((int) (long) remaining) : chunk;
              return Pair.create(remaining - kept.size(), kept);
            },
            remaining -> Optional.empty())
        .takeWhile(chunk -> !chunk.isEmpty());
  }

  /** Every stored blob, for garbage collection. */
  public Stream<Path> allBlobFiles() throws IOException {
    if (!Files.isDirectory(blobsDir)) {
      return Stream.empty();
    }
    return Files.walk(blobsDir, 2).filter(Files::isRegularFile);
  }

  /** Temp files left behind by a crash between write and rename. */
  public Stream<Path> tempFiles() throws IOException {
    if (!Files.isDirectory(tmpDir)) {
      return Stream.empty();
    }
    return Files.list(tmpDir);
  }
}
