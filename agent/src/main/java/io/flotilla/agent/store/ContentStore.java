package io.flotilla.agent.store;

import io.flotilla.protocol.oci.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HashSet;
import java.util.Set;
import java.util.function.LongConsumer;
import java.util.stream.Stream;

/**
 * Content-addressed blobs under {@code blobs/sha256/<hex>}. A blob becomes visible there only after
 * its size and sha256 were verified; until then its bytes live in {@code blobs/partial/<hex>},
 * which survives a crash or a lost connection and is resumed from where it stopped.
 */
public final class ContentStore {

  private static final int BUFFER = 64 * 1024;

  private final Path blobs;
  private final Path partial;

  public ContentStore(Path root) {
    this.blobs = root.resolve("blobs").resolve(Digest.ALGORITHM);
    this.partial = root.resolve("blobs").resolve("partial");
  }

  public boolean has(Digest digest) {
    return Files.isRegularFile(blobPath(digest));
  }

  /** Path of a verified blob; the file is never modified once there. */
  public Path blobPath(Digest digest) {
    return blobs.resolve(digest.hex());
  }

  public long partialSize(Digest digest) throws IOException {
    Path file = partial.resolve(digest.hex());
    return Files.exists(file) ? Files.size(file) : 0;
  }

  public byte[] read(Digest digest) throws IOException {
    return Files.readAllBytes(blobPath(digest));
  }

  /** Stores content held in memory (manifests, indexes) after checking it against its digest. */
  public Path put(Digest digest, byte[] content) throws IOException {
    if (!Digest.of(content).equals(digest)) {
      throw new BlobVerificationException("content does not match " + digest);
    }
    if (!has(digest)) {
      Files.createDirectories(blobs);
      AtomicFiles.write(blobPath(digest), content);
    }
    return blobPath(digest);
  }

  /**
   * Makes the blob present: nothing to do if it is, else downloads what is missing from {@code
   * source} (resuming a partial download), verifies size and sha256 and moves it into place. {@code
   * progress} receives the byte count written so far, including bytes from an earlier attempt.
   */
  public Path fetch(Digest digest, long size, BlobSource source, LongConsumer progress)
      throws IOException {
    if (has(digest)) {
      return blobPath(digest);
    }
    Files.createDirectories(partial);
    Path part = partial.resolve(digest.hex());
    long have = Files.exists(part) ? Files.size(part) : 0;
    if (have > size) {
      Files.delete(part);
      have = 0;
    }
    MessageDigest sha256 = Digest.sha256();
    if (have == size && size > 0) {
      hashInto(part, sha256);
    } else {
      try (BlobSource.Body body = source.open(have)) {
        if (body.startsAt() != have) {
          if (body.startsAt() != 0) {
            throw new IOException(
                "source resumed at " + body.startsAt() + " although " + have + " was asked");
          }
          have = 0; // the source cannot resume: start over
        }
        try (FileChannel channel =
            FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
          channel.truncate(have);
        }
        if (have > 0) {
          hashInto(part, sha256);
        }
        progress.accept(have);
        append(body.stream(), part, sha256, size, have, digest, progress);
      }
    }
    long written = Files.size(part);
    Digest actual = Digest.of(sha256);
    if (written != size || !actual.equals(digest)) {
      Files.deleteIfExists(part);
      throw new BlobVerificationException(
          "downloaded "
              + written
              + " bytes with "
              + actual
              + ", expected "
              + size
              + " bytes with "
              + digest
              + "; discarded");
    }
    Files.createDirectories(blobs);
    try (FileChannel channel = FileChannel.open(part, StandardOpenOption.WRITE)) {
      channel.force(true);
    }
    AtomicFiles.moveDurably(part, blobPath(digest));
    return blobPath(digest);
  }

  public Set<Digest> list() throws IOException {
    Set<Digest> all = new HashSet<>();
    if (Files.isDirectory(blobs)) {
      try (Stream<Path> files = Files.list(blobs)) {
        files
            .map(p -> p.getFileName().toString())
            .filter(n -> n.length() == 64)
            .forEach(hex -> all.add(new Digest(hex)));
      }
    }
    return all;
  }

  public void remove(Digest digest) throws IOException {
    Files.deleteIfExists(blobPath(digest));
    Files.deleteIfExists(partial.resolve(digest.hex()));
  }

  private static void append(
      InputStream in,
      Path part,
      MessageDigest sha256,
      long size,
      long have,
      Digest digest,
      LongConsumer progress)
      throws IOException {
    byte[] buffer = new byte[BUFFER];
    long total = have;
    try (OutputStream out = Files.newOutputStream(part, StandardOpenOption.APPEND)) {
      for (int n; (n = in.read(buffer)) > 0; ) {
        if (total + n > size) {
          // a source that sends more than the descriptor says must not fill the disk
          out.close();
          Files.deleteIfExists(part);
          throw new BlobVerificationException(
              "source sent more than the " + size + " bytes of " + digest);
        }
        out.write(buffer, 0, n);
        sha256.update(buffer, 0, n);
        total += n;
        progress.accept(total);
      }
    }
  }

  private static void hashInto(Path file, MessageDigest sha256) throws IOException {
    byte[] buffer = new byte[BUFFER];
    try (InputStream in = Files.newInputStream(file)) {
      for (int n; (n = in.read(buffer)) > 0; ) {
        sha256.update(buffer, 0, n);
      }
    }
  }
}
