package io.flotilla.registry.manifest;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.protocol.oci.Digest;
import io.flotilla.registry.Digests;
import io.flotilla.registry.ErrorCode;
import io.flotilla.registry.RegistryError;
import io.flotilla.registry.RegistryJson;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What the registry needs from a manifest: its type, the blobs and child manifests it references,
 * its subject and what the referrers API shows of it.
 *
 * @param blobs config and layers: they must be in the repository before the manifest is accepted
 * @param annotationBlobs blobs referenced only from annotations (the compose-app bundle index);
 *     generic tools such as skopeo do not copy them, so they are not required, but garbage
 *     collection keeps them while a manifest names them
 * @param childManifests the manifests of an index or manifest list
 */
public record Manifest(
    String mediaType,
    Optional<String> artifactType,
    List<Digest> blobs,
    List<Digest> annotationBlobs,
    List<Digest> childManifests,
    Optional<Digest> subject,
    Map<String, String> annotations) {

  public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  public static final String DOCKER_MANIFEST =
      "application/vnd.docker.distribution.manifest.v2+json";
  public static final String DOCKER_MANIFEST_LIST =
      "application/vnd.docker.distribution.manifest.list.v2+json";
  private static final Set<String> IMAGE_MANIFESTS = Set.of(OCI_MANIFEST, DOCKER_MANIFEST);
  private static final Set<String> INDEXES = Set.of(OCI_INDEX, DOCKER_MANIFEST_LIST);

  /**
   * Compose-app bundles reference their file index only through this layer annotation
   * (docs/device-protocol.md §6).
   */
  static final String BUNDLE_INDEX_ANNOTATION = "org.foundries.app.bundle.index.digest";

  /** Docker foreign layers live elsewhere (their {@code urls}); the registry never holds them. */
  private static final String DOCKER_FOREIGN_LAYER =
      "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

  public boolean isIndex() {
    return INDEXES.contains(mediaType);
  }

  /**
   * Parses and validates a pushed manifest.
   *
   * @param contentType the request's Content-Type, if it names a manifest type
   */
  public static Manifest parse(byte[] content, Optional<String> contentType) {
    JsonNode root;
    try {
      root = RegistryJson.MAPPER.readTree(content);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw invalid("manifest is not valid JSON", e.getOriginalMessage());
    } catch (IOException e) {
      throw invalid("manifest is not valid JSON", e.getMessage());
    }
    if (root == null || !root.isObject()) {
      throw invalid("manifest must be a JSON object", null);
    }
    JsonNode schemaVersion = root.get("schemaVersion");
    if (schemaVersion == null || !schemaVersion.isInt() || schemaVersion.intValue() != 2) {
      throw invalid("only schemaVersion 2 manifests are accepted", String.valueOf(schemaVersion));
    }
    Optional<String> declared = text(root, "mediaType");
    Optional<String> headerType =
        contentType.filter(t -> IMAGE_MANIFESTS.contains(t) || INDEXES.contains(t));
    if (declared.isPresent() && headerType.isPresent() && !declared.equals(headerType)) {
      throw invalid(
          "mediaType in the manifest differs from Content-Type",
          Map.of("mediaType", declared.get(), "contentType", headerType.get()));
    }
    String mediaType =
        declared.or(() -> headerType).orElse(root.has("manifests") ? OCI_INDEX : OCI_MANIFEST);
    if (!IMAGE_MANIFESTS.contains(mediaType) && !INDEXES.contains(mediaType)) {
      throw invalid("unsupported manifest media type", mediaType);
    }

    List<Digest> blobs = new ArrayList<>();
    List<Digest> annotationBlobs = new ArrayList<>();
    List<Digest> children = new ArrayList<>();
    Optional<String> artifactType = text(root, "artifactType");
    if (INDEXES.contains(mediaType)) {
      JsonNode manifests = root.get("manifests");
      if (manifests == null || !manifests.isArray()) {
        throw invalid("an index needs a manifests array", null);
      }
      for (JsonNode child : manifests) {
        children.add(descriptorDigest(child, "manifests[]"));
      }
    } else {
      JsonNode config = root.get("config");
      if (config == null || !config.isObject()) {
        throw invalid("an image manifest needs a config descriptor", null);
      }
      blobs.add(descriptorDigest(config, "config"));
      if (artifactType.isEmpty() && OCI_MANIFEST.equals(mediaType)) {
        // The referrers API reports the config type for artifacts that do not set artifactType.
        artifactType = text(config, "mediaType");
      }
      JsonNode layers = root.get("layers");
      if (layers != null && !layers.isArray()) {
        throw invalid("layers must be an array", null);
      }
      if (layers != null) {
        for (JsonNode layer : layers) {
          Digest digest = descriptorDigest(layer, "layers[]");
          if (!DOCKER_FOREIGN_LAYER.equals(layer.path("mediaType").asText())) {
            blobs.add(digest);
          }
          Optional<String> bundleIndex = text(layer.path("annotations"), BUNDLE_INDEX_ANNOTATION);
          if (bundleIndex.isPresent()) {
            annotationBlobs.add(parseDigest(bundleIndex.get(), "layers[].annotations"));
          }
        }
      }
    }
    Optional<Digest> subject = Optional.empty();
    JsonNode subjectNode = root.get("subject");
    if (subjectNode != null && !subjectNode.isNull()) {
      subject = Optional.of(descriptorDigest(subjectNode, "subject"));
    }
    Map<String, String> annotations = new LinkedHashMap<>();
    JsonNode annotationsNode = root.get("annotations");
    if (annotationsNode != null && annotationsNode.isObject()) {
      annotationsNode
          .fields()
          .forEachRemaining(e -> annotations.put(e.getKey(), e.getValue().asText()));
    }
    return new Manifest(
        mediaType,
        artifactType,
        List.copyOf(blobs),
        List.copyOf(annotationBlobs),
        List.copyOf(children),
        subject,
        annotations);
  }

  private static Digest descriptorDigest(JsonNode descriptor, String where) {
    if (!descriptor.isObject()) {
      throw invalid(where + " must be a descriptor object", null);
    }
    JsonNode size = descriptor.get("size");
    if (size == null
        || !size.canConvertToLong()
        || !size.isIntegralNumber()
        || size.longValue() < 0) {
      throw invalid(where + " needs a non-negative integer size", null);
    }
    if (text(descriptor, "mediaType").isEmpty()) {
      throw invalid(where + " needs a mediaType", null);
    }
    return parseDigest(text(descriptor, "digest").orElse(null), where);
  }

  private static Digest parseDigest(String value, String where) {
    try {
      return Digests.parse(value);
    } catch (RegistryError e) {
      throw invalid(where + " has an invalid digest", value);
    }
  }

  private static Optional<String> text(JsonNode node, String field) {
    JsonNode value = node.get(field);
    return value != null && value.isTextual() ? Optional.of(value.textValue()) : Optional.empty();
  }

  private static RegistryError invalid(String message, Object detail) {
    return new RegistryError(ErrorCode.MANIFEST_INVALID, message, detail);
  }
}
