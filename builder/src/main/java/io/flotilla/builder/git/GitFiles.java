package io.flotilla.builder.git;

import io.flotilla.core.files.PrivateModes;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;

/**
 * What JGit leaves to us on the repositories' files: forcing directories after it renames files
 * into them (it forces file contents itself when {@code core.fsyncObjectFiles} and {@code
 * core.fsyncRefFiles} are on), and taking group and other permissions away from what it creates
 * with the process umask.
 */
final class GitFiles {

  private GitFiles() {}

  /**
   * Makes a directory private and forces its entries (files renamed into it, files deleted from
   * it).
   */
  static void settleDirectory(Path dir) throws IOException {
    makePrivate(dir);
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }

  /**
   * Files directly in {@code dir} lose group and other permissions; then the directory is settled.
   */
  static void settleFilesIn(Path dir) throws IOException {
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    List<Path> files;
    try (Stream<Path> listing = Files.list(dir)) {
      files = listing.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).toList();
    }
    for (Path file : files) {
      makePrivate(file);
    }
    settleDirectory(dir);
  }

  /**
   * A whole new tree (a repository just made): every file forced and private, then every directory
   * settled.
   */
  static void settleTree(Path root) throws IOException {
    List<Path> all;
    try (Stream<Path> walk = Files.walk(root)) {
      all = walk.toList();
    }
    for (Path path : all) {
      if (Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) {
        makePrivate(path);
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE)) {
          channel.force(true);
        }
      }
    }
    for (int i = all.size() - 1; i >= 0; i--) {
      if (Files.isDirectory(all.get(i), LinkOption.NOFOLLOW_LINKS)) {
        settleDirectory(all.get(i));
      }
    }
  }

  /** Deletes a tree, deepest entries first, and settles its parent. */
  static void deleteTree(Path root) throws IOException {
    List<Path> all;
    try (Stream<Path> walk = Files.walk(root)) {
      all = walk.toList();
    }
    for (int i = all.size() - 1; i >= 0; i--) {
      Files.delete(all.get(i));
    }
    settleDirectory(root.getParent());
  }

  private static void makePrivate(Path path) throws IOException {
    if (PrivateModes.supported(path)) {
      PrivateModes.apply(path);
    }
  }
}
