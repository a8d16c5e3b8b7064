package io.flotilla.builder.image;

import io.flotilla.protocol.oci.Digest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.TreeMap;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipParameters;

/**
 * An image layer written so that the same files always give the same digest: entries sorted by
 * path, timestamps zero, numeric owners without names, gzip without name or time.
 */
public record ReproducibleLayer(byte[] compressed, Digest digest, Digest diffId) {

  /**
   * A file ({@code content} non-null) or a directory at an absolute-less path such as {@code
   * app/index.html}.
   */
  public record Entry(byte[] content, int mode, int uid, int gid) {
    boolean directory() {
      return content == null;
    }
  }

  public static ReproducibleLayer write(Map<String, Entry> entries) {
    TreeMap<String, Entry> sorted = new TreeMap<>(entries);
    ByteArrayOutputStream tarBytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(tarBytes)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
      for (Map.Entry<String, Entry> e : sorted.entrySet()) {
        Entry entry = e.getValue();
        TarArchiveEntry tarEntry =
            new TarArchiveEntry(entry.directory() ? e.getKey() + "/" : e.getKey(), true);
        tarEntry.setMode((entry.directory() ? 040000 : 0100000) | entry.mode());
        tarEntry.setSize(entry.directory() ? 0 : entry.content().length);
        tarEntry.setModTime(FileTime.fromMillis(0));
        tarEntry.setUserId(entry.uid());
        tarEntry.setGroupId(entry.gid());
        tarEntry.setUserName("");
        tarEntry.setGroupName("");
        tar.putArchiveEntry(tarEntry);
        if (!entry.directory()) {
          tar.write(entry.content());
        }
        tar.closeArchiveEntry();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("writing a layer in memory", e);
    }
    byte[] tar = tarBytes.toByteArray();
    ByteArrayOutputStream gz = new ByteArrayOutputStream();
    GzipParameters parameters = new GzipParameters();
    parameters.setModificationTime(0);
    parameters.setOperatingSystem(255);
    try (GzipCompressorOutputStream out = new GzipCompressorOutputStream(gz, parameters)) {
      out.write(tar);
    } catch (IOException e) {
      throw new UncheckedIOException("compressing a layer in memory", e);
    }
    byte[] compressed = gz.toByteArray();
    return new ReproducibleLayer(compressed, Digest.of(compressed), Digest.of(tar));
  }
}
