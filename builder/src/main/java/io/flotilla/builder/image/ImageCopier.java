package io.flotilla.builder.image;

import io.flotilla.builder.registry.RegistryClient;
import io.flotilla.protocol.oci.Descriptor;
import io.flotilla.protocol.oci.Digest;
import io.flotilla.protocol.oci.ImageIndex;
import io.flotilla.protocol.oci.ImageManifest;
import io.flotilla.protocol.oci.MediaTypes;
import io.flotilla.protocol.oci.OciManifests;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Copies an image (a manifest or a whole index) between repositories, blob by blob, keeping every
 * manifest byte for byte so that its digest, which compose files pin, stays the same.
 */
public final class ImageCopier {

  private final RegistryClient registry;

  public ImageCopier(RegistryClient registry) {
    this.registry = registry;
  }

  /**
   * Copies {@code manifest} (fetched from {@code fromHost/fromRepository}) into our {@code
   * toRepository}; returns its digest.
   */
  public Digest copy(
      String fromHost,
      String fromRepository,
      RegistryClient.Manifest manifest,
      String toRepository,
      List<String> tags)
      throws IOException {
    String ownHost = registry.endpoints().ownHost();
    String mediaType = mediaTypeOf(manifest);
    if (MediaTypes.isIndex(mediaType)) {
      ImageIndex index = OciManifests.readIndex(manifest.bytes());
      for (Descriptor child : index.manifests()) {
        if (!MediaTypes.isManifestOrIndex(child.mediaType())) {
          continue;
        }
        RegistryClient.Manifest childManifest =
            registry
                .manifest(fromHost, fromRepository, child.digest().toString())
                .orElseThrow(
                    () ->
                        new IOException(
                            fromHost
                                + "/"
                                + fromRepository
                                + " lacks "
                                + child.digest()
                                + " that its index lists"));
        copy(fromHost, fromRepository, childManifest, toRepository, List.of());
      }
    } else {
      ImageManifest image = OciManifests.readManifest(manifest.bytes());
      copyBlob(fromHost, fromRepository, image.config().digest(), toRepository);
      for (Descriptor layer : image.layers()) {
        copyBlob(fromHost, fromRepository, layer.digest(), toRepository);
      }
    }
    registry.pushManifest(
        ownHost, toRepository, manifest.digest().toString(), mediaType, manifest.bytes());
    for (String tag : tags) {
      registry.pushManifest(ownHost, toRepository, tag, mediaType, manifest.bytes());
    }
    return manifest.digest();
  }

  /** Makes a blob present in our repository, downloading it only when it is not there yet. */
  public void copyBlob(String fromHost, String fromRepository, Digest digest, String toRepository)
      throws IOException {
    String ownHost = registry.endpoints().ownHost();
    if (registry.hasBlob(ownHost, toRepository, digest)) {
      return;
    }
    Path file = Files.createTempFile("flotilla-blob-", ".bin");
    try {
      registry.blobToFile(fromHost, fromRepository, digest, file);
      registry.pushBlob(ownHost, toRepository, digest, file);
    } finally {
      Files.deleteIfExists(file);
    }
  }

  public static String mediaTypeOf(RegistryClient.Manifest manifest) {
    String declared = OciManifests.declaredMediaType(manifest.bytes());
    if (declared != null) {
      return declared;
    }
    if (MediaTypes.isManifestOrIndex(manifest.mediaType())) {
      return manifest.mediaType();
    }
    return manifest.bytes().length > 0
            && new String(manifest.bytes(), java.nio.charset.StandardCharsets.UTF_8)
                .contains("\"manifests\"")
        ? MediaTypes.OCI_INDEX
        : MediaTypes.OCI_MANIFEST;
  }
}
