package io.flotilla.builder.git;

import io.flotilla.core.factory.Factory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;

/**
 * The factories' bare containers.git repositories under {@code <data-dir>/git/<factory>.git}. A repository is
 * created on first use by an existing factory (callers check that), with {@code main} as its HEAD so that a
 * clone of the empty repository starts on the branch that builds by default.
 */
public final class ContainerRepos {

  private final Path root;
  private final ConcurrentMap<String, Object> creationLocks = new ConcurrentHashMap<>();

  public ContainerRepos(Path root) {
    this.root = root;
  }

  public Path directory(String factory) {
    if (!Factory.NAME.matcher(factory).matches()) {
      throw new IllegalArgumentException("invalid factory name " + factory);
    }
    return root.resolve(factory + ".git");
  }

  /** Opens (creating if needed) the factory's repository; the caller closes it. Blocking. */
  public Repository open(String factory) throws IOException {
    Path dir = directory(factory);
    if (!Files.isDirectory(dir)) {
      synchronized (creationLocks.computeIfAbsent(factory, f -> new Object())) {
        if (!Files.isDirectory(dir)) {
          Files.createDirectories(root);
          Path temp = Files.createTempDirectory(root, factory + ".git.init-");
          try (Git ignored = Git.init().setBare(true).setInitialBranch("main").setDirectory(temp.toFile()).call()) {
            // created
          } catch (GitAPIException e) {
            throw new IOException("cannot create " + dir + ": " + e.getMessage(), e);
          }
          Files.move(temp, dir);
        }
      }
    }
    return new FileRepositoryBuilder().setGitDir(dir.toFile()).setBare().setMustExist(true).build();
  }
}
