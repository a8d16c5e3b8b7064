package io.flotilla.protocol;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The one JSON configuration that server and agent share, so both sides read and write the wire
 * formats the same way: unknown fields are ignored (the other side may be newer), dates are
 * ISO-8601 text, never numbers.
 */
public final class Json {

  private static final ObjectMapper SHARED = newMapper();

  private Json() {}

  /** A fresh mapper with the shared settings, for callers that need to add their own modules. */
  public static ObjectMapper newMapper() {
    return configure(new ObjectMapper());
  }

  /** Applies the shared settings to a mapper of another data format (YAML, TOML, CBOR). */
  public static <M extends ObjectMapper> M configure(M mapper) {
    mapper.registerModule(new JavaTimeModule());
    mapper.registerModule(new Jdk8Module());
    mapper.configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    mapper.configure(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS, false);
    mapper.configure(SerializationFeature.FAIL_ON_EMPTY_BEANS, false);
    return mapper;
  }

  /** The shared, thread-safe mapper; do not reconfigure it. */
  public static ObjectMapper mapper() {
    return SHARED;
  }

  public static byte[] toBytes(Object value) {
    try {
      return SHARED.writeValueAsBytes(value);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("cannot serialize " + value.getClass().getSimpleName(), e);
    }
  }

  /**
   * Canonical JSON: object keys sorted by code point, no insignificant whitespace. Signatures (TUF)
   * and content digests (bundle index) are computed over these bytes, so equal content always gives
   * equal bytes.
   */
  public static byte[] canonical(Object value) {
    JsonNode tree = SHARED.valueToTree(value);
    try {
      return SHARED.writeValueAsString(sorted(tree)).getBytes(StandardCharsets.UTF_8);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("cannot serialize " + value.getClass().getSimpleName(), e);
    }
  }

  private static JsonNode sorted(JsonNode node) {
    if (node.isObject()) {
      List<String> names = new ArrayList<>();
      node.fieldNames().forEachRemaining(names::add);
      names.sort(String::compareTo);
      ObjectNode out = JsonNodeFactory.instance.objectNode();
      for (String name : names) {
        out.set(name, sorted(node.get(name)));
      }
      return out;
    }
    if (node.isArray()) {
      var out = JsonNodeFactory.instance.arrayNode();
      for (Iterator<JsonNode> it = node.elements(); it.hasNext(); ) {
        out.add(sorted(it.next()));
      }
      return out;
    }
    return node;
  }

  /** Reads a JSON object whose values are all strings (registration answer, bundle index). */
  public static Map<String, String> stringMap(byte[] json) {
    try {
      return SHARED.readValue(
          json, SHARED.getTypeFactory().constructMapType(Map.class, String.class, String.class));
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("not a JSON object of strings: " + e.getMessage(), e);
    }
  }
}
