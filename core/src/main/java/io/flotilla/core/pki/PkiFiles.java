package io.flotilla.core.pki;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Files that hold key material. Each secret is one file (key and certificate together), so that it
 * appears atomically and complete: a reader never sees a key without its certificate, and two
 * writers racing to create the same secret (two threads, or two nodes sharing the data dir) agree
 * on a single winner.
 */
public final class PkiFiles {

  /** Factory names become directory names, so only a conservative alphabet is accepted. */
  private static final Pattern FACTORY_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

  private static final Set<PosixFilePermission> OWNER_ONLY_FILE =
      PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> OWNER_ONLY_DIR =
      PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> PUBLIC_FILE =
      PosixFilePermissions.fromString("rw-r--r--");

  private PkiFiles() {}

  public static boolean isValidFactoryName(String factory) {
    return factory != null && FACTORY_NAME.matcher(factory).matches();
  }

  /** The directory of one factory's secrets; refuses names that could escape the PKI dir. */
  public static Path factoryDir(Path pkiDir, String factory) {
    if (!isValidFactoryName(factory)) {
      throw new IllegalArgumentException("invalid factory name: " + factory);
    }
    return pkiDir.resolve("factories").resolve(factory);
  }

  public static Optional<String> readIfExists(Path file) {
    try {
      return Optional.of(Files.readString(file, StandardCharsets.US_ASCII));
    } catch (java.nio.file.NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }

  /**
   * Creates {@code file} with mode 0600 unless it already exists. Returns false when another writer
   * got there first; the caller then reads the winner's content. The hard link is what makes
   * creation exclusive: unlike a rename it fails instead of replacing an existing file.
   */
  public static boolean createSecretIfAbsent(Path file, String content) {
    return createIfAbsent(file, content, OWNER_ONLY_FILE);
  }

  /**
   * As {@link #createSecretIfAbsent} for a public file (mode 0644) that must never change once
   * written, such as a signed TUF root version.
   */
  public static boolean createPublicIfAbsent(Path file, String content) {
    return createIfAbsent(file, content, PUBLIC_FILE);
  }

  private static boolean createIfAbsent(Path file, String content, Set<PosixFilePermission> mode) {
    Path tmp = writeTemp(file, content, mode);
    try {
      Files.createLink(file, tmp);
      return true;
    } catch (FileAlreadyExistsException e) {
      return false;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + file, e);
    } finally {
      deleteQuietly(tmp);
    }
  }

  /**
   * Replaces {@code file} (mode 0600) atomically, for secrets that are renewed, like the server TLS
   * key.
   */
  public static void replaceSecret(Path file, String content) {
    replace(file, content, OWNER_ONLY_FILE);
  }

  /**
   * Replaces a public file (mode 0644), such as the copy of {@code root.crt} an operator hands to
   * devices.
   */
  public static void replacePublic(Path file, String content) {
    replace(file, content, PUBLIC_FILE);
  }

  private static void replace(Path file, String content, Set<PosixFilePermission> mode) {
    Path tmp = writeTemp(file, content, mode);
    try {
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      deleteQuietly(tmp);
      throw new UncheckedIOException("cannot replace " + file, e);
    }
  }

  private static Path writeTemp(Path file, String content, Set<PosixFilePermission> mode) {
    try {
      Path dir = file.toAbsolutePath().getParent();
      createPrivateDirectories(dir);
      Path tmp = dir.resolve("." + file.getFileName() + "." + UUID.randomUUID() + ".tmp");
      // The mode is set at creation so the key is never readable by others, not even for an
      // instant.
      try (FileChannel channel =
          FileChannel.open(
              tmp,
              Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
              permissions(dir, mode))) {
        ByteBuffer bytes = ByteBuffer.wrap(content.getBytes(StandardCharsets.US_ASCII));
        while (bytes.hasRemaining()) {
          channel.write(bytes);
        }
        // A certificate may be handed out right after this; its key must survive a crash.
        channel.force(true);
      }
      return tmp;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write next to " + file, e);
    }
  }

  private static void createPrivateDirectories(Path dir) throws IOException {
    if (Files.isDirectory(dir)) {
      return;
    }
    createPrivateDirectories(dir.getParent());
    try {
      Files.createDirectory(dir, permissions(dir.getParent(), OWNER_ONLY_DIR));
    } catch (FileAlreadyExistsException e) {
      // created concurrently: fine
    }
  }

  private static FileAttribute<?>[] permissions(
      Path dirOnSameFileSystem, Set<PosixFilePermission> mode) {
    boolean posix =
        dirOnSameFileSystem.getFileSystem().supportedFileAttributeViews().contains("posix");
    return posix
        ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(mode)}
        : new FileAttribute<?>[0];
  }

  private static void deleteQuietly(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException ignored) {
      // a stray temp file is harmless; it never has a name that is read back
    }
  }
}
