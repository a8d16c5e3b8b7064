package io.flotilla.core.files;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;

/**
 * The modes of what a node keeps under its data dir: directories 0700, files without any group or
 * other permission (0600, or 0400 for what git keeps read-only). One place for the rule, whoever
 * creates the file.
 */
public final class PrivateModes {

  public static final Set<PosixFilePermission> PRIVATE_DIR =
      PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> GROUP_AND_OTHERS =
      EnumSet.of(
          PosixFilePermission.GROUP_READ,
          PosixFilePermission.GROUP_WRITE,
          PosixFilePermission.GROUP_EXECUTE,
          PosixFilePermission.OTHERS_READ,
          PosixFilePermission.OTHERS_WRITE,
          PosixFilePermission.OTHERS_EXECUTE);

  private PrivateModes() {}

  public static boolean supported(Path path) {
    return Files.getFileAttributeView(path, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
        != null;
  }

  /**
   * Makes one directory 0700 or takes group and other permissions from one file; a path gone
   * meanwhile is skipped.
   */
  public static void apply(Path path) throws IOException {
    try {
      Set<PosixFilePermission> mode =
          Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS);
      Set<PosixFilePermission> wanted;
      if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
        wanted = PRIVATE_DIR;
      } else {
        wanted = EnumSet.noneOf(PosixFilePermission.class);
        wanted.addAll(mode);
        wanted.removeAll(GROUP_AND_OTHERS);
      }
      if (!mode.equals(wanted)) {
        Files.setPosixFilePermissions(path, wanted);
      }
    } catch (NoSuchFileException e) {
      // removed while we looked (a lock or temp file): nothing left to protect
    }
  }
}
