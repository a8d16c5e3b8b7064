package io.flotilla.gateway;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;

/**
 * The node's data dir is readable by the user that runs the node only: it holds token hashes, key material,
 * device configuration and the factories' sources. Directories are 0700 and files lose every group and other
 * permission (0600; 0400 for files git keeps read-only). The directory is created so, and {@link #restrict} walks
 * an existing one at every start, which also covers files the embedded database and JGit made with the process
 * umask. A directory that is 0700 already keeps whatever appears in it later from anyone else.
 *
 * <p>The contents of {@code builder/} keep their modes: build checkouts and buildah's container storage hold
 * files whose modes end up inside images, where other users of the container must still read them.
 */
public final class DataDir {

  static final Set<PosixFilePermission> PRIVATE_DIR = PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> GROUP_AND_OTHERS =
      EnumSet.of(
          PosixFilePermission.GROUP_READ,
          PosixFilePermission.GROUP_WRITE,
          PosixFilePermission.GROUP_EXECUTE,
          PosixFilePermission.OTHERS_READ,
          PosixFilePermission.OTHERS_WRITE,
          PosixFilePermission.OTHERS_EXECUTE);
  private static final String KEEP_MODES_BELOW = "builder";

  private DataDir() {}

  /** Creates the data dir (and missing parents) with mode 0700. */
  public static void create(Path dir) throws IOException {
    if (Files.isDirectory(dir) || !posix(dir.toAbsolutePath().getRoot())) {
      Files.createDirectories(dir);
      return;
    }
    Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PRIVATE_DIR));
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
          public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) throws IOException {
            set(d, PRIVATE_DIR);
            return d.equals(keepModes) ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
            if (attrs.isRegularFile()) {
              Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
              if (mode.removeAll(GROUP_AND_OTHERS)) {
                set(file, mode);
              }
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

  private static void set(Path path, Set<PosixFilePermission> mode) throws IOException {
    try {
      if (!Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS).equals(mode)) {
        Files.setPosixFilePermissions(path, mode);
      }
    } catch (NoSuchFileException e) {
      // removed while walking (a temp file): nothing left to protect
    }
  }

  private static boolean posix(Path path) {
    return Files.getFileAttributeView(path, PosixFileAttributeView.class) != null;
  }
}
