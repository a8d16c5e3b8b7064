package io.flotilla.protocol.oci;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.protocol.Json;
import java.io.IOException;

/**
 * Reads manifest bytes whose kind is known only from their media type (header or the {@code
 * mediaType} field).
 */
public final class OciManifests {

  private OciManifests() {}

  /** The media type a manifest declares in its body, or null when it declares none. */
  public static String declaredMediaType(byte[] manifest) {
    try {
      JsonNode node = Json.mapper().readTree(manifest);
      if (node == null || !node.isObject()) {
        throw new IllegalArgumentException("manifest is not a JSON object");
      }
      JsonNode mediaType = node.get("mediaType");
      return mediaType != null && mediaType.isTextual() ? mediaType.asText() : null;
    } catch (IOException e) {
      throw new IllegalArgumentException("manifest is not valid JSON: " + e.getMessage(), e);
    }
  }

  public static ImageManifest readManifest(byte[] bytes) {
    return read(bytes, ImageManifest.class);
  }

  public static ImageIndex readIndex(byte[] bytes) {
    return read(bytes, ImageIndex.class);
  }

  private static <T> T read(byte[] bytes, Class<T> type) {
    try {
      return Json.mapper().readValue(bytes, type);
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "invalid " + type.getSimpleName() + ": " + e.getMessage(), e);
    }
  }
}
