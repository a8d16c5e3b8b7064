package io.flotilla.builder.git;

import io.flotilla.core.factory.Factory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.stream.Stream;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.lib.StoredConfig;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The factories' bare containers.git repositories under {@code <data-dir>/git/<factory>.git}. A
 * repository is created on first use by an existing factory (callers check that), with {@code main}
 * as its HEAD so that a clone of the empty repository starts on the branch that builds by default.
 */
public final class ContainerRepos {

  private static final Logger log = LoggerFactory.getLogger(ContainerRepos.class);
  private static final String CORE = "core";
  private static final String FSYNC_OBJECTS = "fsyncObjectFiles";
  private static final String FSYNC_REFS = "fsyncRefFiles";

  private final Path root;
  private final ConcurrentMap<String, Object> creationLocks = new ConcurrentHashMap<>();

  /**
   * Made once per node at start, before the API port opens: it releases what a killed process left
   * behind (see {@link #releaseCrashLeftovers}). A node owns its data dir, so no other process can
   * be holding those locks.
   */
  public ContainerRepos(Path root) {
    this.root = root;
    try {
      releaseCrashLeftovers();
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot release the git locks a killed server left in " + root + ": " + e.getMessage(),
          e);
    }
  }

  /**
   * JGit updates a ref by writing {@code <ref>.lock} and renaming it into place; a process killed
   * in between leaves the lock, and every later push to that branch is refused ("failed to lock")
   * until it is removed. The push that held it was never answered, so dropping the lock drops
   * nothing acknowledged; the same holds for {@code packed-refs.lock}, {@code HEAD.lock}, {@code
   * config.lock} and a half-made repository's temp directory.
   */
  private void releaseCrashLeftovers() throws IOException {
    if (!Files.isDirectory(root)) {
      return;
    }
    try (Stream<Path> entries = Files.list(root)) {
      for (Path entry : entries.toList()) {
        String name = entry.getFileName().toString();
        if (name.contains(".git.init-")) {
          GitFiles.deleteTree(entry);
          log.warn("removed {}, a repository half made when the server was killed", entry);
        } else if (name.endsWith(".git") && Files.isDirectory(entry)) {
          releaseLocks(entry);
        }
      }
    }
  }

  private static void releaseLocks(Path repository) throws IOException {
    List<Path> locks = new ArrayList<>();
    for (String top : List.of("HEAD.lock", "config.lock", "packed-refs.lock")) {
      if (Files.exists(repository.resolve(top))) {
        locks.add(repository.resolve(top));
      }
    }
    Path refs = repository.resolve("refs");
    if (Files.isDirectory(refs)) {
      try (Stream<Path> files = Files.walk(refs)) {
        files
            .filter(
                file ->
                    file.getFileName().toString().endsWith(".lock") && Files.isRegularFile(file))
            .forEach(locks::add);
      }
    }
    for (Path lock : locks) {
      Files.delete(lock);
      GitFiles.settleDirectory(lock.getParent());
      log.warn(
          "removed {}, a git lock left when the server was killed mid-push (that push was never acknowledged)",
          lock);
    }
  }

  public Path directory(String factory) {
    if (!Factory.NAME.matcher(factory).matches()) {
      throw new IllegalArgumentException("invalid factory name " + factory);
    }
    return root.resolve(factory + ".git");
  }

  /**
   * Opens (creating if needed) the factory's repository; the caller closes it. Blocking. Its config
   * makes JGit force objects and refs to disk before a push is answered (see {@link
   * DurableReceivePack}); repositories made before that setting get it here.
   */
  public Repository open(String factory) throws IOException {
    Path dir = directory(factory);
    if (!Files.isDirectory(dir)) {
      synchronized (creationLocks.computeIfAbsent(factory, f -> new Object())) {
        if (!Files.isDirectory(dir)) {
          create(dir, factory);
        }
      }
    }
    Repository repository =
        new FileRepositoryBuilder().setGitDir(dir.toFile()).setBare().setMustExist(true).build();
    StoredConfig config = repository.getConfig();
    if (!config.getBoolean(CORE, FSYNC_OBJECTS, false)
        || !config.getBoolean(CORE, FSYNC_REFS, false)) {
      synchronized (creationLocks.computeIfAbsent(factory, f -> new Object())) {
        config.setBoolean(CORE, null, FSYNC_OBJECTS, true);
        config.setBoolean(CORE, null, FSYNC_REFS, true);
        config.save();
        GitFiles.settleFilesIn(dir);
      }
    }
    return repository;
  }

  /** Made in a private temp directory and renamed into place once complete and on disk. */
  private void create(Path dir, String factory) throws IOException {
    if (!Files.isDirectory(root)) {
      Files.createDirectories(
          root, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      GitFiles.settleDirectory(root.toAbsolutePath().getParent());
    }
    Path temp = Files.createTempDirectory(root, factory + ".git.init-");
    try (Git git =
        Git.init().setBare(true).setInitialBranch("main").setDirectory(temp.toFile()).call()) {
      StoredConfig config = git.getRepository().getConfig();
      config.setBoolean(CORE, null, FSYNC_OBJECTS, true);
      config.setBoolean(CORE, null, FSYNC_REFS, true);
      config.save();
    } catch (GitAPIException e) {
      throw new IOException("cannot create " + dir + ": " + e.getMessage(), e);
    }
    GitFiles.settleTree(temp);
    Files.move(temp, dir, StandardCopyOption.ATOMIC_MOVE);
    GitFiles.settleDirectory(root);
  }
}
