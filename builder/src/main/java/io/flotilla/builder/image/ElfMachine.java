package io.flotilla.builder.image;

import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The architecture an ELF program or library was built for, read from its header ({@code
 * e_machine}, with {@code EI_CLASS} telling 32-bit ARM from arm64): enough to warn that a binary
 * copied into an image cannot run on a platform the image is published for. A {@code FROM scratch}
 * image has no other trace of the architecture than its files.
 */
public final class ElfMachine {

  private static final int HEADER = 20;

  private ElfMachine() {}

  /**
   * The GOARCH name of the machine an executable or shared object is for ({@code machine <n>} for
   * one this table does not name); empty for anything else, relocatable objects and core files
   * included.
   */
  public static Optional<String> architecture(byte[] content) {
    if (content == null
        || content.length < HEADER
        || content[0] != 0x7f
        || content[1] != 'E'
        || content[2] != 'L'
        || content[3] != 'F') {
      return Optional.empty();
    }
    boolean bigEndian = content[5] == 2;
    int type = half(content, 16, bigEndian);
    if (type != 2 && type != 3) {
      return Optional.empty();
    }
    boolean wide = content[4] == 2;
    int machine = half(content, 18, bigEndian);
    return Optional.of(
        switch (machine) {
          case 3 -> "386";
          case 8 -> wide ? "mips64" : "mips";
          case 20 -> "ppc";
          case 21 -> bigEndian ? "ppc64" : "ppc64le";
          case 22 -> "s390x";
          case 40 -> "arm";
          case 62 -> "amd64";
          case 183 -> "arm64";
          case 243 -> wide ? "riscv64" : "riscv";
          case 258 -> "loong64";
          default -> "machine " + machine;
        });
  }

  /** Each ELF program or library of a layer's files, by path, with its architecture. */
  public static Map<String, String> of(Map<String, ReproducibleLayer.Entry> entries) {
    Map<String, String> found = new TreeMap<>();
    entries.forEach(
        (path, entry) -> architecture(entry.content()).ifPresent(arch -> found.put(path, arch)));
    return found;
  }

  private static int half(byte[] bytes, int offset, boolean bigEndian) {
    int a = bytes[offset] & 0xff;
    int b = bytes[offset + 1] & 0xff;
    return bigEndian ? (a << 8) | b : (b << 8) | a;
  }
}
