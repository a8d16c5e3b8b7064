package io.flotilla.registry.repository;

import io.flotilla.protocol.oci.Digest;
import io.flotilla.registry.Digests;
import io.flotilla.registry.Durable;
import io.flotilla.registry.RepositoryName;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Repository metadata as small files under {@code repositories/<name>/}, in the layout of the
 * reference distribution registry:
 *
 * <pre>
 *   _layers/sha256/&lt;hex&gt;                      blob linked into this repository (pushed or mounted)
 *   _manifests/revisions/sha256/&lt;hex&gt;          manifest in this repository; content: its media type
 *   _manifests/tags/&lt;tag&gt;                      content: the digest the tag points at
 *   _referrers/sha256/&lt;subject hex&gt;/&lt;hex&gt;     manifest whose subject is the given digest
 * </pre>
 *
 * Repository name components never start with '_', so these directories cannot clash with nested
 * names. Every write is a rename of a complete temp file, so readers on any node see the old or the
 * new value, and every write and delete is durable before it returns ({@link Durable}). Methods
 * block: call them on the registry's blocking dispatcher.
 */
public final class RepositoryStore {
  private final Path repositoriesDir;
  private final Path tmpDir;

  public RepositoryStore(Path root) {
    this.repositoriesDir = root.resolve("repositories");
    this.tmpDir = root.resolve("tmp");
  }

  private Path repoDir(RepositoryName name) {
    return repositoriesDir.resolve(name.value());
  }

  private Path layerLink(RepositoryName name, Digest digest) {
    return repoDir(name).resolve("_layers").resolve("sha256").resolve(digest.hex());
  }

  private Path revision(RepositoryName name, Digest digest) {
    return repoDir(name)
        .resolve("_manifests")
        .resolve("revisions")
        .resolve("sha256")
        .resolve(digest.hex());
  }

  private Path tagsDir(RepositoryName name) {
    return repoDir(name).resolve("_manifests").resolve("tags");
  }

  private Path referrersDir(RepositoryName name, Digest subject) {
    return repoDir(name).resolve("_referrers").resolve("sha256").resolve(subject.hex());
  }

  public boolean exists(RepositoryName name) {
    return Files.isDirectory(repoDir(name).resolve("_manifests"))
        || Files.isDirectory(repoDir(name).resolve("_layers"));
  }

  public void linkBlob(RepositoryName name, Digest digest) throws IOException {
    writeAtomically(layerLink(name, digest), new byte[0]);
  }

  public boolean hasBlobLink(RepositoryName name, Digest digest) {
    return Files.exists(layerLink(name, digest));
  }

  public boolean unlinkBlob(RepositoryName name, Digest digest) throws IOException {
    return Durable.delete(layerLink(name, digest));
  }

  public List<Digest> linkedBlobs(RepositoryName name) throws IOException {
    return digestsIn(repoDir(name).resolve("_layers").resolve("sha256"));
  }

  public void putRevision(RepositoryName name, Digest digest, String mediaType) throws IOException {
    writeAtomically(revision(name, digest), mediaType.getBytes(StandardCharsets.UTF_8));
  }

  /** The media type the manifest was pushed with, if the manifest is in this repository. */
  public Optional<String> revisionMediaType(RepositoryName name, Digest digest) throws IOException {
    try {
      return Optional.of(Files.readString(revision(name, digest)));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  public boolean deleteRevision(RepositoryName name, Digest digest) throws IOException {
    return Durable.delete(revision(name, digest));
  }

  public List<Digest> revisions(RepositoryName name) throws IOException {
    return digestsIn(repoDir(name).resolve("_manifests").resolve("revisions").resolve("sha256"));
  }

  public void putTag(RepositoryName name, String tag, Digest digest) throws IOException {
    writeAtomically(tagsDir(name).resolve(tag), digest.toString().getBytes(StandardCharsets.UTF_8));
  }

  public Optional<Digest> resolveTag(RepositoryName name, String tag) throws IOException {
    try {
      return Optional.of(Digests.parse(Files.readString(tagsDir(name).resolve(tag)).strip()));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  public boolean deleteTag(RepositoryName name, String tag) throws IOException {
    return Durable.delete(tagsDir(name).resolve(tag));
  }

  /** Tags in lexical order, as the spec requires for paging. */
  public List<String> tags(RepositoryName name) throws IOException {
    Path dir = tagsDir(name);
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  public void addReferrer(RepositoryName name, Digest subject, Digest referrer) throws IOException {
    writeAtomically(referrersDir(name, subject).resolve(referrer.hex()), new byte[0]);
  }

  public void removeReferrer(RepositoryName name, Digest subject, Digest referrer)
      throws IOException {
    Durable.delete(referrersDir(name, subject).resolve(referrer.hex()));
  }

  public List<Digest> referrers(RepositoryName name, Digest subject) throws IOException {
    return digestsIn(referrersDir(name, subject));
  }

  /** Every repository, in lexical order. */
  public List<RepositoryName> repositories() throws IOException {
    if (!Files.isDirectory(repositoriesDir)) {
      return List.of();
    }
    List<RepositoryName> names = new ArrayList<>();
    try (Stream<Path> dirs = Files.walk(repositoriesDir)) {
      dirs.filter(p -> p.getFileName().toString().equals("_manifests") && Files.isDirectory(p))
          .map(p -> repositoriesDir.relativize(p.getParent()).toString())
          .sorted()
          .forEach(n -> names.add(new RepositoryName(n)));
    }
    return names;
  }

  private static List<Digest> digestsIn(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files
          .map(p -> p.getFileName().toString())
          .filter(n -> n.length() == 64)
          .map(Digest::new)
          .toList();
    }
  }

  private void writeAtomically(Path target, byte[] content) throws IOException {
    Durable.createDirectories(target.getParent());
    Durable.createDirectories(tmpDir);
    Path tmp = tmpDir.resolve(UUID.randomUUID().toString());
    Durable.write(tmp, content);
    Durable.publish(tmp, target);
  }
}
