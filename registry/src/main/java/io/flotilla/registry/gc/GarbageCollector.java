package io.flotilla.registry.gc;

import io.flotilla.protocol.oci.Digest;
import io.flotilla.registry.Digests;
import io.flotilla.registry.RegistryError;
import io.flotilla.registry.RegistrySettings;
import io.flotilla.registry.RepositoryName;
import io.flotilla.registry.blob.BlobStore;
import io.flotilla.registry.manifest.Manifest;
import io.flotilla.registry.repository.RepositoryStore;
import io.flotilla.registry.upload.UploadStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mark and sweep of blobs that no manifest references. Every manifest in every repository is kept
 * (devices pull apps by digest, so an untagged manifest is still in use); what they reference is
 * marked; unmarked blobs are deleted.
 *
 * <p>Safe while the registry serves: a client pushes blobs before the manifest that references
 * them, so an unmarked blob younger than the grace period is kept, and every use of an existing
 * blob (a re-push, a mount, a manifest referencing it) refreshes its age. Upload sessions live
 * apart from blobs and are only purged once idle longer than the upload expiry. The remaining race
 * (a manifest referencing a blob that is older than the grace period, unreferenced, and deleted in
 * the same instant) needs an operator to run GC with a grace period shorter than a push takes.
 */
public final class GarbageCollector {
  private static final Logger log = LoggerFactory.getLogger(GarbageCollector.class);

  public record Report(
      int repositories,
      int manifests,
      int blobsMarked,
      int blobsDeleted,
      long bytesFreed,
      int linksRemoved,
      int uploadsPurged,
      boolean dryRun) {}

  private final BlobStore blobs;
  private final RepositoryStore repositories;
  private final UploadStore uploads;
  private final Duration gracePeriod;
  private final Duration uploadExpiry;
  private final Clock clock;

  public GarbageCollector(
      Path registryRoot, Duration gracePeriod, Duration uploadExpiry, Clock clock) {
    this.blobs = new BlobStore(registryRoot);
    this.repositories = new RepositoryStore(registryRoot);
    this.uploads = new UploadStore(registryRoot);
    this.gracePeriod = gracePeriod;
    this.uploadExpiry = uploadExpiry;
    this.clock = clock;
  }

  /** For {@code bin/flotilla registry gc}: the node's settings, the system clock. */
  public static GarbageCollector of(RegistrySettings settings) {
    return new GarbageCollector(
        settings.rootDir(), settings.gcGracePeriod(), settings.uploadExpiry(), Clock.systemUTC());
  }

  /** Runs one collection; with {@code dryRun} it only reports what it would delete. Blocks. */
  public Report collect(boolean dryRun) throws IOException {
    Instant now = clock.instant();
    Set<Digest> marked = new HashSet<>();
    List<RepositoryName> names = repositories.repositories();
    int manifests = 0;
    for (RepositoryName name : names) {
      for (Digest revision : repositories.revisions(name)) {
        manifests++;
        marked.add(revision);
        referencedBy(revision)
            .ifPresent(
                m -> {
                  marked.addAll(m.blobs());
                  marked.addAll(m.annotationBlobs());
                  marked.addAll(m.childManifests());
                });
      }
    }

    int deleted = 0;
    long freed = 0;
    Instant blobCutoff = now.minus(gracePeriod);
    try (Stream<Path> files = blobs.allBlobFiles()) {
      for (Path file : (Iterable<Path>) files::iterator) {
        Optional<Digest> named = Digests.ifValid(Digest.ALGORITHM + ":" + file.getFileName());
        // a file not named by a digest is none of the store's blobs: leave it alone
        if (named.isEmpty() || marked.contains(named.get()) || !olderThan(file, blobCutoff)) {
          continue;
        }
        Digest digest = named.get();
        long size = sizeOrZero(file);
        if (dryRun || blobs.delete(digest)) {
          deleted++;
          freed += size;
        }
      }
    }

    int linksRemoved = 0;
    for (RepositoryName name : names) {
      for (Digest linked : repositories.linkedBlobs(name)) {
        boolean gone = !marked.contains(linked) && blobs.size(linked).isEmpty();
        if (gone && (dryRun || repositories.unlinkBlob(name, linked))) {
          linksRemoved++;
        }
      }
    }

    int purged = 0;
    Instant uploadCutoff = now.minus(uploadExpiry);
    try (Stream<Path> sessions = uploads.allSessionDirs()) {
      for (Path dir : (Iterable<Path>) sessions::iterator) {
        Path data = dir.resolve("data");
        boolean idle =
            Files.exists(data) ? olderThan(data, uploadCutoff) : olderThan(dir, uploadCutoff);
        if (idle) {
          if (!dryRun) {
            UploadStore.deleteDir(dir);
          }
          purged++;
        }
      }
    }
    try (Stream<Path> temps = blobs.tempFiles()) {
      for (Path temp : (Iterable<Path>) temps::iterator) {
        if (!dryRun && olderThan(temp, blobCutoff)) {
          Files.deleteIfExists(temp);
        }
      }
    }
    Report report =
        new Report(
            names.size(), manifests, marked.size(), deleted, freed, linksRemoved, purged, dryRun);
    log.info("registry garbage collection: {}", report);
    return report;
  }

  private Optional<Manifest> referencedBy(Digest manifestDigest) throws IOException {
    try {
      return Optional.of(Manifest.parse(blobs.readAll(manifestDigest), Optional.empty()));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (RegistryError e) {
      // Accepted manifests always parse. Sweeping without knowing what a damaged one references
      // could delete
      // blobs still in use, so the run stops before deleting anything.
      throw new IOException(
          "manifest " + manifestDigest + " cannot be parsed; no blob was deleted", e);
    }
  }

  private static boolean olderThan(Path file, Instant cutoff) throws IOException {
    try {
      return Files.getLastModifiedTime(file).toInstant().isBefore(cutoff);
    } catch (NoSuchFileException e) {
      return false;
    }
  }

  private static long sizeOrZero(Path file) throws IOException {
    try {
      return Files.size(file);
    } catch (NoSuchFileException e) {
      return 0;
    }
  }
}
