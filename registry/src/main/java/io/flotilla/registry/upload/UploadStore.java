package io.flotilla.registry.upload;

import io.flotilla.protocol.oci.Digest;
import io.flotilla.registry.Durable;
import io.flotilla.registry.ErrorCode;
import io.flotilla.registry.RegistryError;
import io.flotilla.registry.RegistryJson;
import io.flotilla.registry.RepositoryName;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Comparator;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.IOResult;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.FileIO;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * Upload sessions under {@code uploads/<uuid>/}: {@code info.json} names the repository, {@code
 * data} holds the bytes received so far. The session's offset is the data file's size, so any node
 * sharing the storage can continue a session another node started, and a session survives a
 * restart.
 */
public final class UploadStore {
  private static final Pattern SESSION_ID =
      Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

  public record SessionInfo(String repository, String startedAt) {}

  public record Session(String id, RepositoryName repository, Path dir) {
    public Path data() {
      return dir.resolve("data");
    }
  }

  private final Path uploadsDir;

  public UploadStore(Path root) {
    this.uploadsDir = root.resolve("uploads");
  }

  public Session create(RepositoryName repository) throws IOException {
    String id = UUID.randomUUID().toString();
    Path dir = uploadsDir.resolve(id);
    // The 202 hands the client a session to continue, on any node and after a restart: it must be
    // on disk.
    Durable.createDirectories(dir);
    Durable.createFile(dir.resolve("data"));
    Durable.write(
        dir.resolve("info.json"),
        RegistryJson.MAPPER.writeValueAsBytes(
            new SessionInfo(repository.value(), Instant.now().toString())));
    Durable.syncDirectory(dir);
    return new Session(id, repository, dir);
  }

  /**
   * The session, if it exists and belongs to this repository: a session id never opens another
   * repository.
   */
  public Session find(RepositoryName repository, String id) throws IOException {
    if (SESSION_ID.matcher(id).matches()) {
      Path dir = uploadsDir.resolve(id);
      try {
        SessionInfo info =
            RegistryJson.MAPPER.readValue(dir.resolve("info.json").toFile(), SessionInfo.class);
        if (info.repository().equals(repository.value()) && Files.exists(dir.resolve("data"))) {
          return new Session(id, repository, dir);
        }
      } catch (NoSuchFileException | FileNotFoundException e) {
        // falls through to the spec's error
      }
    }
    throw new RegistryError(ErrorCode.BLOB_UPLOAD_UNKNOWN, "upload session unknown", id);
  }

  public long size(Session session) throws IOException {
    return Files.size(session.data());
  }

  /**
   * Appends a request body to the session, streaming. When {@code hasher} is given it sees every
   * byte, which spares re-reading the file when the whole blob came in one request. Bytes received
   * before a client disconnects stay in the session, so the client can resume from the offset it
   * reads back. Call {@link #syncedSize} before acknowledging.
   */
  public CompletionStage<IOResult> append(
      Session session,
      Source<ByteString, ?> body,
      Optional<MessageDigest> hasher,
      Attributes ioAttributes,
      Materializer materializer) {
    Source<ByteString, ?> hashed =
        hasher
            .<Source<ByteString, ?>>map(
                md ->
                    body.map(
                        chunk -> {
                          md.update(chunk.asByteBuffer());
                          return chunk;
                        }))
            .orElse(body);
    return hashed.runWith(
        FileIO.toPath(session.data(), Set.of(StandardOpenOption.WRITE, StandardOpenOption.APPEND))
            .withAttributes(ioAttributes),
        materializer);
  }

  /**
   * Forces what the session received to disk and returns its size: the offset a client continues
   * from.
   */
  public long syncedSize(Session session) throws IOException {
    Durable.sync(session.data());
    return size(session);
  }

  /** Hashes what a session holds, streaming, for uploads that arrived in several requests. */
  public CompletionStage<Digest> digestOf(
      Session session, Attributes ioAttributes, Materializer materializer) {
    return FileIO.fromPath(session.data(), 256 * 1024)
        .withAttributes(ioAttributes)
        .runWith(
            Sink.fold(
                Digest.sha256(),
                (md, chunk) -> {
                  md.update(chunk.asByteBuffer());
                  return md;
                }),
            materializer)
        .thenApply(Digest::of);
  }

  public void delete(Session session) throws IOException {
    deleteDir(session.dir());
  }

  /** Every session directory, for purging abandoned ones. */
  public Stream<Path> allSessionDirs() throws IOException {
    if (!Files.isDirectory(uploadsDir)) {
      return Stream.empty();
    }
    return Files.list(uploadsDir);
  }

  public static void deleteDir(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
