package io.flotilla.protocol.composeapp;

import io.flotilla.protocol.oci.Digest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipParameters;

/**
 * The app bundle (layer 0 of an app manifest): a gzip'd tar of the app directory with {@code
 * docker-compose.yml} at its root. Written reproducibly — entries sorted by path, timestamps zero,
 * owner 0:0 without names, only the executable bit kept from the mode, gzip without name or time —
 * so the same files always give the same digest.
 */
public final class AppBundle {

  /** A regular file to put into a bundle. */
  public record Entry(byte[] content, boolean executable) {
    public static Entry of(byte[] content) {
      return new Entry(content, false);
    }
  }

  /**
   * A written bundle with its index: what the builder pushes as the bundle layer and the index
   * blob.
   */
  public record Packed(byte[] bundle, BundleIndex index) {
    public Digest bundleDigest() {
      return Digest.of(bundle);
    }
  }

  private static final int FILE_MODE = 0100644;
  private static final int EXEC_MODE = 0100755;
  private static final int DIR_MODE = 040755;

  private AppBundle() {}

  /**
   * Bundles the regular files of an app directory; symbolic links and special files are refused.
   */
  public static Packed fromDirectory(Path appDir) throws IOException {
    SortedMap<String, Entry> files = new TreeMap<>();
    Files.walkFileTree(
        appDir,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
              throws IOException {
            String path = relative(appDir, file);
            if (!attrs.isRegularFile()) {
              throw new ComposeAppException("only regular files can be bundled, not " + path);
            }
            files.put(path, new Entry(Files.readAllBytes(file), Files.isExecutable(file)));
            return FileVisitResult.CONTINUE;
          }
        });
    return write(files);
  }

  /**
   * Bundles files given by relative path ('/' separated); the builder uses this with files from
   * git.
   */
  public static Packed write(Map<String, Entry> files) {
    TreeMap<String, Entry> sorted = new TreeMap<>(files);
    sorted.keySet().forEach(AppBundle::requireSafe);
    Entry compose = sorted.get(ComposeAppFormat.COMPOSE_FILE);
    if (compose == null) {
      throw new ComposeAppException(
          "an app needs " + ComposeAppFormat.COMPOSE_FILE + " at its root");
    }
    requireComposeSize(compose.content().length);

    TreeMap<String, Digest> index = new TreeMap<>();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    GzipParameters gzip = new GzipParameters();
    gzip.setModificationTime(0);
    gzip.setOperatingSystem(255); // "unknown": the same bytes whichever OS wrote them
    try (TarArchiveOutputStream tar =
        new TarArchiveOutputStream(new GzipCompressorOutputStream(bytes, gzip))) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
      for (String dir : directoriesOf(sorted.keySet())) {
        tar.putArchiveEntry(entry(dir + "/", DIR_MODE, 0));
        tar.closeArchiveEntry();
      }
      for (Map.Entry<String, Entry> file : sorted.entrySet()) {
        byte[] content = file.getValue().content();
        tar.putArchiveEntry(
            entry(
                file.getKey(),
                file.getValue().executable() ? EXEC_MODE : FILE_MODE,
                content.length));
        tar.write(content);
        tar.closeArchiveEntry();
        index.put(file.getKey(), Digest.of(content));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("writing a bundle in memory", e);
    }
    return new Packed(bytes.toByteArray(), new BundleIndex(index));
  }

  /**
   * Unpacks a bundle into {@code target} (created if missing, must be empty) and verifies it
   * against its index: every file's sha256 matches, no file is missing, none is extra. On failure
   * the caller removes the directory; callers unpack into a temporary directory and rename it into
   * place.
   */
  public static void extract(InputStream bundle, BundleIndex index, Path target)
      throws IOException {
    Files.createDirectories(target);
    try (var listing = Files.list(target)) {
      if (listing.findAny().isPresent()) {
        throw new ComposeAppException("refusing to unpack a bundle into non-empty " + target);
      }
    }
    Set<String> seen = new TreeSet<>();
    try (TarArchiveInputStream tar =
        new TarArchiveInputStream(new GzipCompressorInputStream(bundle))) {
      for (TarArchiveEntry entry; (entry = tar.getNextEntry()) != null; ) {
        String path = BundlePaths.normalize(entry.getName());
        if (path.isEmpty()) {
          continue; // the "./" entry of the root itself
        }
        requireSafe(path);
        Path destination = target.resolve(path);
        if (entry.isDirectory()) {
          Files.createDirectories(destination);
        } else if (isRegularFile(entry)) {
          unpackFile(tar, entry, path, index, destination);
          if (!seen.add(path)) {
            throw new ComposeAppException("bundle has " + path + " twice");
          }
        } else {
          throw new ComposeAppException(
              "bundle entry " + path + " is not a regular file or directory");
        }
      }
    } catch (IOException e) {
      throw new ComposeAppException("bundle is not a readable gzip'd tar: " + e.getMessage(), e);
    }
    Set<String> missing = new TreeSet<>(index.files().keySet());
    missing.removeAll(seen);
    if (!missing.isEmpty()) {
      throw new ComposeAppException("bundle lacks files listed in its index: " + missing);
    }
    if (!seen.contains(ComposeAppFormat.COMPOSE_FILE)) {
      throw new ComposeAppException(
          "bundle has no " + ComposeAppFormat.COMPOSE_FILE + " at its root");
    }
  }

  /**
   * Checks an installed app directory against the index: returns the differences (empty when it
   * matches), so the agent can say what was changed on the device.
   */
  public static List<String> verifyDirectory(Path appDir, BundleIndex index) throws IOException {
    List<String> problems = new ArrayList<>();
    TreeMap<String, Path> present = new TreeMap<>();
    if (!Files.isDirectory(appDir, LinkOption.NOFOLLOW_LINKS)) {
      return List.of("app directory " + appDir + " does not exist");
    }
    Files.walkFileTree(
        appDir,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
            String path = relative(appDir, file);
            if (attrs.isRegularFile()) {
              present.put(path, file);
            } else {
              problems.add(path + ": not a regular file");
            }
            return FileVisitResult.CONTINUE;
          }
        });
    for (Map.Entry<String, Digest> expected : index.files().entrySet()) {
      Path file = present.remove(expected.getKey());
      if (file == null) {
        problems.add(expected.getKey() + ": missing");
      } else if (!Digest.of(file).equals(expected.getValue())) {
        problems.add(expected.getKey() + ": content differs from the bundle index");
      }
    }
    present.keySet().forEach(extra -> problems.add(extra + ": not in the bundle index"));
    return problems;
  }

  /**
   * Reads just the compose file out of a bundle, to learn its images before anything is unpacked.
   */
  public static byte[] readComposeFile(InputStream bundle) throws IOException {
    try (TarArchiveInputStream tar =
        new TarArchiveInputStream(new GzipCompressorInputStream(bundle))) {
      for (TarArchiveEntry entry; (entry = tar.getNextEntry()) != null; ) {
        if (isRegularFile(entry)
            && BundlePaths.normalize(entry.getName()).equals(ComposeAppFormat.COMPOSE_FILE)) {
          requireComposeSize(entry.getSize());
          return tar.readNBytes(ComposeAppFormat.MAX_COMPOSE_FILE_BYTES + 1);
        }
      }
    }
    throw new ComposeAppException(
        "bundle has no " + ComposeAppFormat.COMPOSE_FILE + " at its root");
  }

  static void requireComposeSize(long size) {
    if (size > ComposeAppFormat.MAX_COMPOSE_FILE_BYTES) {
      throw new ComposeAppException(
          ComposeAppFormat.COMPOSE_FILE
              + " is "
              + size
              + " bytes, over the limit of "
              + ComposeAppFormat.MAX_COMPOSE_FILE_BYTES);
    }
  }

  private static void unpackFile(
      TarArchiveInputStream tar,
      TarArchiveEntry entry,
      String path,
      BundleIndex index,
      Path destination)
      throws IOException {
    Digest expected = index.files().get(path);
    if (expected == null) {
      throw new ComposeAppException("bundle file " + path + " is not in the bundle index");
    }
    if (path.equals(ComposeAppFormat.COMPOSE_FILE)) {
      requireComposeSize(entry.getSize());
    }
    Files.createDirectories(destination.getParent());
    MessageDigest sha256 = Digest.sha256();
    try (OutputStream out = new DigestOutputStream(Files.newOutputStream(destination), sha256)) {
      tar.transferTo(out);
    }
    Digest actual = Digest.of(sha256);
    if (!actual.equals(expected)) {
      throw new ComposeAppException(
          "bundle file " + path + " has " + actual + " but the index says " + expected);
    }
    if ((entry.getMode() & 0100) != 0) {
      try {
        Set<PosixFilePermission> permissions =
            EnumSet.copyOf(Files.getPosixFilePermissions(destination));
        permissions.addAll(
            EnumSet.of(
                PosixFilePermission.OWNER_EXECUTE,
                PosixFilePermission.GROUP_EXECUTE,
                PosixFilePermission.OTHERS_EXECUTE));
        Files.setPosixFilePermissions(destination, permissions);
      } catch (UnsupportedOperationException e) {
        // An app whose scripts lost their executable bit would fail at start; refuse the install
        // instead.
        throw new ComposeAppException(
            "bundle file "
                + path
                + " must stay executable, but "
                + destination.getParent()
                + " is not on a POSIX file system");
      }
    }
  }

  /** commons-compress calls links and devices "files" too; only plain file entries are accepted. */
  private static boolean isRegularFile(TarArchiveEntry entry) {
    byte flag = entry.getLinkFlag();
    return flag == TarArchiveEntry.LF_NORMAL || flag == TarArchiveEntry.LF_OLDNORM;
  }

  private static TarArchiveEntry entry(String name, int mode, long size) {
    TarArchiveEntry entry = new TarArchiveEntry(name, true);
    entry.setMode(mode);
    entry.setSize(size);
    entry.setModTime(FileTime.fromMillis(0));
    entry.setUserId(0);
    entry.setGroupId(0);
    entry.setUserName("");
    entry.setGroupName("");
    return entry;
  }

  private static Set<String> directoriesOf(Set<String> files) {
    TreeSet<String> dirs = new TreeSet<>();
    for (String file : files) {
      for (int slash = file.indexOf('/'); slash >= 0; slash = file.indexOf('/', slash + 1)) {
        dirs.add(file.substring(0, slash));
      }
    }
    return dirs;
  }

  private static void requireSafe(String path) {
    try {
      BundlePaths.requireSafe(path);
    } catch (IllegalArgumentException e) {
      throw new ComposeAppException(e.getMessage(), e);
    }
  }

  private static String relative(Path root, Path file) {
    return root.relativize(file).toString().replace(java.io.File.separatorChar, '/');
  }
}
