package io.flotilla.protocol.composeapp;

/** Paths inside a bundle are relative, '/' separated and never climb out of the app directory. */
final class BundlePaths {

  private BundlePaths() {}

  /** Strips a leading "./" and a trailing "/" that tar writers commonly add. */
  static String normalize(String tarName) {
    String name = tarName;
    while (name.startsWith("./")) {
      name = name.substring(2);
    }
    while (name.endsWith("/")) {
      name = name.substring(0, name.length() - 1);
    }
    return name;
  }

  static void requireSafe(String path) {
    if (path == null || path.isEmpty()) {
      throw new IllegalArgumentException("empty path in bundle");
    }
    if (path.startsWith("/") || path.contains("\\") || path.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("unsafe path in bundle: " + path);
    }
    for (String part : path.split("/", -1)) {
      if (part.isEmpty() || part.equals(".") || part.equals("..")) {
        throw new IllegalArgumentException("unsafe path in bundle: " + path);
      }
    }
  }
}
