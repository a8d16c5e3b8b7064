package io.flotilla.agent.runtime;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.agent.store.ContentStore;
import io.flotilla.protocol.Json;
import io.flotilla.protocol.oci.Descriptor;
import io.flotilla.protocol.oci.Digest;
import io.flotilla.protocol.oci.ImageManifest;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Writes a docker-archive tarball ({@code docker save} layout: {@code manifest.json}, the config,
 * one file per layer) from blobs already in the content store, for {@code POST /images/load}:
 * images are installed without a second download. Layers stay compressed; both Docker and podman
 * decompress them on load.
 */
public final class ImageArchive {

  private static final Pattern LOCAL_TAG = Pattern.compile(".+:flotilla-[0-9a-f]{64}");

  private ImageArchive() {}

  /**
   * Writes the archive for one platform manifest, tagged {@code repoTag} so compose can find it
   * offline.
   */
  public static void write(ContentStore store, ImageManifest manifest, String repoTag, Path tarball)
      throws IOException {
    Digest config = manifest.config().digest();
    ObjectNode entry = Json.mapper().createObjectNode();
    entry.put("Config", config.hex() + ".json");
    entry.putArray("RepoTags").add(repoTag);
    ArrayNode layers = entry.putArray("Layers");
    for (Descriptor layer : manifest.layers()) {
      layers.add(layer.digest().hex() + "/layer.tar");
    }
    byte[] index = Json.toBytes(Json.mapper().createArrayNode().add(entry));
    try (OutputStream file = Files.newOutputStream(tarball);
        TarArchiveOutputStream tar = new TarArchiveOutputStream(file)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
      addBytes(tar, "manifest.json", index);
      addFile(tar, config.hex() + ".json", store.blobPath(config));
      for (Descriptor layer : manifest.layers()) {
        addFile(tar, layer.digest().hex() + "/layer.tar", store.blobPath(layer.digest()));
      }
    }
  }

  /**
   * The tag under which an image pinned by {@code repository@digest} is loaded: {@code docker load}
   * records no repo digest, so a digest reference would make compose try to pull. Compose is
   * pointed at this tag instead.
   */
  public static String localTag(String repositoryWithHost, Digest manifestDigest) {
    return repositoryWithHost + ":flotilla-" + manifestDigest.hex();
  }

  /**
   * Whether {@code reference} is a tag {@link #localTag} made (and so an image this agent loaded).
   */
  public static boolean isLocalTag(String reference) {
    return LOCAL_TAG.matcher(reference).matches();
  }

  private static void addBytes(TarArchiveOutputStream tar, String name, byte[] content)
      throws IOException {
    TarArchiveEntry entry = new TarArchiveEntry(name);
    entry.setSize(content.length);
    tar.putArchiveEntry(entry);
    tar.write(content);
    tar.closeArchiveEntry();
  }

  private static void addFile(TarArchiveOutputStream tar, String name, Path file)
      throws IOException {
    TarArchiveEntry entry = new TarArchiveEntry(name);
    entry.setSize(Files.size(file));
    tar.putArchiveEntry(entry);
    Files.copy(file, tar);
    tar.closeArchiveEntry();
  }
}
