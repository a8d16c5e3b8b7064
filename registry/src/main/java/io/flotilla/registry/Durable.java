package io.flotilla.registry;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * An accepted write is on disk before it is acknowledged: file contents are forced before the
 * rename that publishes them, and the directory is forced after it, so a power loss never leaves a
 * name pointing at nothing. A directory made on the way is forced into its parent too, or the power
 * loss could take the new directory and everything in it. Files are created 0600 and directories
 * 0700: the registry's tree is readable by the user that runs it only.
 */
public final class Durable {
  private Durable() {}

  public static void sync(Path file) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
      channel.force(true);
    }
  }

  /** Renames a complete, synced file into place (replacing) and makes the new name durable. */
  public static void publish(Path complete, Path target) throws IOException {
    sync(complete);
    Files.move(
        complete, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    syncDirectory(target.getParent());
  }

  /** Writes a new file (0600) and forces it; the caller publishes or syncs its directory. */
  public static void write(Path temp, byte[] content) throws IOException {
    try (FileChannel channel =
        FileChannel.open(
            temp,
            Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
            privateFile(temp))) {
      ByteBuffer buffer = ByteBuffer.wrap(content);
      while (buffer.hasRemaining()) {
        channel.write(buffer);
      }
      channel.force(true);
    }
  }

  /** Creates a new empty file (0600). */
  public static void createFile(Path file) throws IOException {
    Files.createFile(file, privateFile(file));
  }

  /**
   * Creates {@code dir} and its missing parents (0700), each forced into its parent directory
   * before the next one is made inside it.
   */
  public static void createDirectories(Path dir) throws IOException {
    if (Files.isDirectory(dir)) {
      return;
    }
    Path parent = dir.toAbsolutePath().getParent();
    createDirectories(parent);
    try {
      Files.createDirectory(dir, privateDir(parent));
    } catch (FileAlreadyExistsException e) {
      if (Files.isDirectory(dir)) {
        return;
      }
      throw e;
    }
    syncDirectory(parent);
  }

  /** Deletes a file and makes the deletion durable; false when there was nothing to delete. */
  public static boolean delete(Path file) throws IOException {
    if (!Files.deleteIfExists(file)) {
      return false;
    }
    syncDirectory(file.toAbsolutePath().getParent());
    return true;
  }

  public static void syncDirectory(Path dir) throws IOException {
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }

  private static FileAttribute<?>[] privateFile(Path file) {
    return posix(file)
        ? new FileAttribute<?>[] {
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))
        }
        : new FileAttribute<?>[0];
  }

  private static FileAttribute<?>[] privateDir(Path dir) {
    return posix(dir)
        ? new FileAttribute<?>[] {
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"))
        }
        : new FileAttribute<?>[0];
  }

  private static boolean posix(Path path) {
    return path.getFileSystem().supportedFileAttributeViews().contains("posix");
  }
}
