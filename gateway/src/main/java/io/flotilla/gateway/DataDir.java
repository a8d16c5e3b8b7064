package io.flotilla.gateway;

import io.flotilla.core.files.PrivateModes;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The node's data dir is readable by the user that runs the node only: it holds token hashes, key
 * material, device configuration and the factories' sources. Directories are 0700 and files lose
 * every group and other permission (0600; 0400 for files git keeps read-only). The directory is
 * created so, and {@link #restrict} walks an existing one at every start, which also covers files
 * the embedded database and JGit made with the process umask. A directory that is 0700 already
 * keeps whatever appears in it later from anyone else.
 *
 * <p>The contents of {@code builder/} keep their modes: build checkouts and buildah's container
 * storage hold files whose modes end up inside images, where other users of the container must
 * still read them.
 */
public final class DataDir {

  private static final String KEEP_MODES_BELOW = "builder";

  private DataDir() {}

  /** Creates the data dir (and missing parents) with mode 0700. */
  public static void create(Path dir) throws IOException {
    if (Files.isDirectory(dir) || !posix(dir.toAbsolutePath().getRoot())) {
      Files.createDirectories(dir);
      return;
    }
    Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PrivateModes.PRIVATE_DIR));
  }

  /** Takes group and other permissions away from everything under the data dir, itself included. */
  public static void restrict(Path dir) throws IOException {
    if (!posix(dir)) {
      return;
    }
    Path keepModes = dir.resolve(KEEP_MODES_BELOW);
    Files.walkFileTree(
        dir,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs)
              throws IOException {
            PrivateModes.apply(d);
            return d.equals(keepModes) ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
              throws IOException {
            if (attrs.isRegularFile()) {
              PrivateModes.apply(file);
            }
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
            if (e instanceof NoSuchFileException) {
              return FileVisitResult.CONTINUE;
            }
            throw e;
          }
        });
  }

  private static boolean posix(Path path) {
    return PrivateModes.supported(path);
  }
}
