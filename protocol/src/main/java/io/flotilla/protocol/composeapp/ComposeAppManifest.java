package io.flotilla.protocol.composeapp;

import io.flotilla.protocol.Json;
import io.flotilla.protocol.oci.Descriptor;
import io.flotilla.protocol.oci.Digest;
import io.flotilla.protocol.oci.ImageManifest;
import io.flotilla.protocol.oci.MediaTypes;
import io.flotilla.protocol.oci.OciManifests;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An app manifest (compose-app v1) read into what a client needs: the bundle layer, the index it is
 * verified against, and the optional layers meta.
 */
public record ComposeAppManifest(
    ImageManifest manifest,
    Descriptor bundle,
    Descriptor bundleIndex,
    Optional<Descriptor> layersMeta) {

  /** Builds the manifest the builder pushes; {@code layersMeta} may be null. */
  public static ImageManifest create(
      Digest bundleDigest, long bundleSize, BundleIndex index, Descriptor layersMeta) {
    byte[] indexBytes = index.toBytes();
    Descriptor bundle =
        Descriptor.of(MediaTypes.OCTET_STREAM, bundleDigest, bundleSize)
            .withAnnotations(
                Map.of(
                    ComposeAppFormat.BUNDLE_INDEX_DIGEST, Digest.of(indexBytes).toString(),
                    ComposeAppFormat.BUNDLE_INDEX_SIZE, Long.toString(indexBytes.length)));
    List<Descriptor> layers = new ArrayList<>();
    layers.add(bundle);
    if (layersMeta != null) {
      layers.add(
          layersMeta.withAnnotations(
              Map.of(
                  ComposeAppFormat.LAYERS_META_ANNOTATION, ComposeAppFormat.LAYERS_META_VERSION)));
    }
    return new ImageManifest(
        2,
        MediaTypes.OCI_MANIFEST,
        ComposeAppFormat.ARTIFACT_TYPE,
        ComposeAppFormat.EMPTY_CONFIG_DESCRIPTOR,
        layers,
        null,
        Map.of(ComposeAppFormat.APP_ANNOTATION, ComposeAppFormat.APP_VERSION));
  }

  /** The manifest bytes as pushed; their sha256 is the digest in the app URI. */
  public static byte[] toBytes(ImageManifest manifest) {
    byte[] bytes = Json.toBytes(manifest);
    requireManifestSize(bytes.length);
    return bytes;
  }

  /**
   * Reads and checks an app manifest; every problem is a {@link ComposeAppException} that names it.
   */
  public static ComposeAppManifest parse(byte[] bytes) {
    requireManifestSize(bytes.length);
    ImageManifest manifest;
    try {
      manifest = OciManifests.readManifest(bytes);
    } catch (IllegalArgumentException e) {
      throw new ComposeAppException("app manifest: " + e.getMessage(), e);
    }
    if (manifest.mediaType() != null && !MediaTypes.OCI_MANIFEST.equals(manifest.mediaType())) {
      throw new ComposeAppException(
          "app manifest has media type "
              + manifest.mediaType()
              + ", expected "
              + MediaTypes.OCI_MANIFEST);
    }
    boolean markedAsApp =
        ComposeAppFormat.ARTIFACT_TYPE.equals(manifest.artifactType())
            || ComposeAppFormat.APP_VERSION.equals(
                manifest.annotation(ComposeAppFormat.APP_ANNOTATION));
    if (!markedAsApp) {
      throw new ComposeAppException(
          "not a compose app: neither artifactType "
              + ComposeAppFormat.ARTIFACT_TYPE
              + " nor annotation "
              + ComposeAppFormat.APP_ANNOTATION
              + "="
              + ComposeAppFormat.APP_VERSION);
    }
    if (manifest.layers().isEmpty()) {
      throw new ComposeAppException("app manifest has no bundle layer");
    }
    Descriptor bundle = manifest.layers().get(0);
    Descriptor index = indexDescriptor(bundle);
    Optional<Descriptor> layersMeta =
        manifest.layers().stream()
            .skip(1)
            .filter(
                d ->
                    ComposeAppFormat.LAYERS_META_VERSION.equals(
                        d.annotation(ComposeAppFormat.LAYERS_META_ANNOTATION)))
            .findFirst();
    return new ComposeAppManifest(manifest, bundle, index, layersMeta);
  }

  private static Descriptor indexDescriptor(Descriptor bundle) {
    String digest = bundle.annotation(ComposeAppFormat.BUNDLE_INDEX_DIGEST);
    String size = bundle.annotation(ComposeAppFormat.BUNDLE_INDEX_SIZE);
    if (digest == null || size == null) {
      throw new ComposeAppException(
          "bundle layer lacks the annotations "
              + ComposeAppFormat.BUNDLE_INDEX_DIGEST
              + " and "
              + ComposeAppFormat.BUNDLE_INDEX_SIZE);
    }
    try {
      long length = Long.parseLong(size);
      if (length <= 0) {
        throw new NumberFormatException("not positive");
      }
      return Descriptor.of(MediaTypes.JSON, Digest.parse(digest), length);
    } catch (IllegalArgumentException e) {
      throw new ComposeAppException(
          "bundle index annotations are invalid (" + digest + ", " + size + "): " + e.getMessage(),
          e);
    }
  }

  private static void requireManifestSize(int size) {
    if (size >= ComposeAppFormat.MAX_MANIFEST_BYTES) {
      throw new ComposeAppException(
          "app manifest is "
              + size
              + " bytes; it must be smaller than "
              + ComposeAppFormat.MAX_MANIFEST_BYTES);
    }
  }
}
