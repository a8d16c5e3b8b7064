package io.flotilla.protocol.composeapp;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.flotilla.protocol.Json;
import java.io.IOException;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * The optional layers-meta blob (layer 1 of an app manifest): per architecture ({@code amd64},
 * {@code arm64}, ...), each image layer digest → its compressed size and the disk space it takes
 * once unpacked, so a device can predict the space an update needs before downloading anything.
 * JSON: {@code {"amd64": {"sha256:..": {"size": 1, "usage": 2}}}}.
 */
public record LayersMeta(Map<String, Map<String, LayerUsage>> architectures) {

  public record LayerUsage(long size, long usage) {}

  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  public LayersMeta {
    TreeMap<String, Map<String, LayerUsage>> copy = new TreeMap<>();
    if (architectures != null) {
      architectures.forEach(
          (arch, layers) ->
              copy.put(
                  arch,
                  Collections.unmodifiableMap(new TreeMap<>(layers == null ? Map.of() : layers))));
    }
    architectures = Collections.unmodifiableMap(copy);
  }

  @JsonValue
  public Map<String, Map<String, LayerUsage>> architectures() {
    return architectures;
  }

  public byte[] toBytes() {
    return Json.canonical(this);
  }

  public static LayersMeta parse(byte[] json) {
    try {
      return Json.mapper().readValue(json, LayersMeta.class);
    } catch (IOException e) {
      throw new ComposeAppException("invalid layers meta: " + e.getMessage(), e);
    }
  }
}
