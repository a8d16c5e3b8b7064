package io.flotilla.builder.git;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.lib.Repository;

/**
 * git's protocol v2 {@code unborn} feature, which JGit 7.5 lacks: a clone of an empty repository
 * asks {@code ls-refs} for an unborn HEAD and, told {@code unborn HEAD
 * symref-target:refs/heads/main}, starts on {@code main} instead of its own default branch ({@code
 * master} unless configured), so that {@code git push origin main} works from a fresh clone. The
 * capability is added to JGit's advertisement, the argument is taken out of the request before JGit
 * parses it (JGit refuses arguments it does not know), and the unborn line goes before JGit's
 * answer.
 */
final class UnbornHead {

  private static final int MAX_LS_REFS_REQUEST = 64 * 1024;
  private static final String LS_REFS = "command=ls-refs\n";

  private UnbornHead() {}

  /** JGit's v2 capability advertisement with {@code ls-refs=unborn} in place of {@code ls-refs}. */
  static byte[] advertise(byte[] advertisement) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    InputStream in = new ByteArrayInputStream(advertisement);
    int length;
    while ((length = packetLength(in)) >= 0) {
      if (length < 4) {
        out.write(String.format("%04x", length).getBytes(StandardCharsets.US_ASCII));
        continue;
      }
      String line = new String(in.readNBytes(length - 4), StandardCharsets.UTF_8);
      // JGit writes its capability lines without the newline git itself sends; either reads the
      // same
      writePacket(
          out, line.strip().equals("ls-refs") ? line.replace("ls-refs", "ls-refs=unborn") : line);
    }
    return out.toByteArray();
  }

  /**
   * Reads the request if it is an {@code ls-refs}: answers the request for JGit without the {@code
   * unborn} argument, having written the unborn HEAD line to {@code out} when asked for and HEAD is
   * unborn. Any other command comes back as it was.
   */
  static InputStream request(BufferedInputStream in, Repository repository, OutputStream out)
      throws IOException {
    in.mark(MAX_LS_REFS_REQUEST);
    byte[] first = in.readNBytes(4 + LS_REFS.length());
    String expected = String.format("%04x", 4 + LS_REFS.length()) + LS_REFS;
    in.reset();
    if (!new String(first, StandardCharsets.UTF_8).equals(expected)) {
      return in;
    }
    byte[] request = in.readNBytes(MAX_LS_REFS_REQUEST);
    if (in.read() != -1) {
      throw new IOException("an ls-refs request over " + MAX_LS_REFS_REQUEST + " bytes");
    }
    ByteArrayOutputStream forJgit = new ByteArrayOutputStream();
    InputStream packets = new ByteArrayInputStream(request);
    boolean unborn = false;
    boolean symrefs = false;
    int length;
    while ((length = packetLength(packets)) >= 0) {
      if (length < 4) {
        forJgit.write(String.format("%04x", length).getBytes(StandardCharsets.US_ASCII));
        continue;
      }
      String line = new String(packets.readNBytes(length - 4), StandardCharsets.UTF_8);
      unborn |= line.strip().equals("unborn");
      symrefs |= line.strip().equals("symrefs");
      if (!line.strip().equals("unborn")) {
        writePacket(forJgit, line);
      }
    }
    Ref head = repository.exactRef(Constants.HEAD);
    if (unborn && head != null && head.isSymbolic() && head.getObjectId() == null) {
      writePacket(
          out,
          "unborn HEAD" + (symrefs ? " symref-target:" + head.getTarget().getName() : "") + "\n");
    }
    return new ByteArrayInputStream(forJgit.toByteArray());
  }

  private static int packetLength(InputStream in) throws IOException {
    byte[] hex = in.readNBytes(4);
    if (hex.length < 4) {
      return -1;
    }
    try {
      return Integer.parseInt(new String(hex, StandardCharsets.US_ASCII), 16);
    } catch (NumberFormatException e) {
      throw new IOException("not a pkt-line length: " + new String(hex, StandardCharsets.US_ASCII));
    }
  }

  private static void writePacket(OutputStream out, String payload) throws IOException {
    byte[] bytes = payload.getBytes(StandardCharsets.UTF_8);
    out.write(String.format("%04x", bytes.length + 4).getBytes(StandardCharsets.US_ASCII));
    out.write(bytes);
  }
}
