package io.flotilla.builder.git;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.eclipse.jgit.errors.MissingObjectException;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.treewalk.TreeWalk;

/**
 * Writes a commit's tree into a directory (regular and executable files; symbolic links and
 * submodules are left out, since neither a bundle nor the in-process builder may follow them out of
 * the repository).
 */
public final class CommitCheckout {

  private CommitCheckout() {}

  /**
   * @return the paths skipped (links, submodules), for the build log
   */
  public static java.util.List<String> extract(Repository repository, String commit, Path target)
      throws IOException {
    java.util.List<String> skipped = new java.util.ArrayList<>();
    ObjectId id;
    try {
      id = ObjectId.fromString(commit);
    } catch (IllegalArgumentException e) {
      throw new IOException("not a commit id: " + commit);
    }
    try (RevWalk walk = new RevWalk(repository);
        TreeWalk tree = new TreeWalk(repository)) {
      RevCommit revCommit;
      try {
        revCommit = walk.parseCommit(id);
      } catch (MissingObjectException e) {
        throw new IOException("commit " + commit + " is not in the repository");
      }
      tree.addTree(revCommit.getTree());
      tree.setRecursive(true);
      while (tree.next()) {
        FileMode mode = tree.getFileMode(0);
        String path = tree.getPathString();
        if (mode != FileMode.REGULAR_FILE && mode != FileMode.EXECUTABLE_FILE) {
          skipped.add(path);
          continue;
        }
        Path file = target.resolve(path).normalize();
        if (!file.startsWith(target)) {
          throw new IOException("path " + path + " escapes the checkout");
        }
        Files.createDirectories(file.getParent());
        Files.write(file, repository.open(tree.getObjectId(0)).getBytes());
        if (mode == FileMode.EXECUTABLE_FILE) {
          Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
      }
    }
    return skipped;
  }
}
