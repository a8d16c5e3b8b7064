package io.flotilla.core;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import io.flotilla.protocol.Json;
import java.util.Map;
import java.util.TreeMap;

/** Maps stored as JSON text in read-side columns (app URIs, branch mappings). */
public final class JsonColumns {

  private static final TypeReference<TreeMap<String, String>> STRING_MAP = new TypeReference<>() {};

  private JsonColumns() {}

  public static String write(Map<String, String> map) {
    try {
      return Json.mapper().writeValueAsString(new TreeMap<>(map));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a map of strings always serializes", e);
    }
  }

  public static Map<String, String> readMap(String json) {
    try {
      return json == null || json.isBlank() ? Map.of() : Json.mapper().readValue(json, STRING_MAP);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(
          "read-side column holds invalid JSON: " + e.getOriginalMessage(), e);
    }
  }
}
