package io.flotilla.gateway.http;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.protocol.Json;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import org.apache.pekko.http.javadsl.marshallers.jackson.Jackson;
import org.apache.pekko.http.javadsl.marshalling.Marshaller;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.RequestEntity;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;

/**
 * The one JSON configuration of the HTTP API: ISO-8601 times, unknown request fields ignored, and
 * request bodies held to a shape every route can rely on: an object (never {@code null}), no null
 * inside a list or map, and no nesting deeper than any request needs. A body that breaks one is a
 * malformed body (400) before any route sees it.
 */
public final class JsonSupport {

  /**
   * Deeper than any request or device report (lshw inventories nest about 15 levels), far from a
   * stack overflow.
   */
  public static final int MAX_NESTING = 100;

  /** The protocol's shared settings, plus: absent fields are left out of API answers. */
  public static final ObjectMapper MAPPER = newMapper();

  private JsonSupport() {}

  private static ObjectMapper newMapper() {
    ObjectMapper mapper = Json.newMapper().setSerializationInclusion(JsonInclude.Include.NON_NULL);
    mapper.setDefaultSetterInfo(JsonSetter.Value.forContentNulls(Nulls.FAIL));
    mapper
        .getFactory()
        .setStreamReadConstraints(
            StreamReadConstraints.builder().maxNestingDepth(MAX_NESTING).build());
    return mapper;
  }

  public static <T> Marshaller<T, RequestEntity> marshaller() {
    return Jackson.marshaller(MAPPER);
  }

  /**
   * Reads the bytes, not a decoded string: Jackson's own UTF-8 decoder refuses a malformed byte,
   * where decoding to a string first would replace it and accept the body.
   */
  public static <T> Unmarshaller<HttpEntity, T> unmarshaller(Class<T> type) {
    return Unmarshaller.forMediaType(MediaTypes.APPLICATION_JSON, Unmarshaller.entityToByteArray())
        .thenApply(
            bytes -> {
              T value;
              try {
                value = MAPPER.readValue(bytes, type);
              } catch (IOException e) {
                throw new IllegalArgumentException(e.getMessage(), e);
              }
              if (value == null) {
                throw new IllegalArgumentException("the body must be a JSON object, not null");
              }
              return value;
            });
  }

  /** The bytes as UTF-8 text, or null when they are not UTF-8. */
  public static String utf8(byte[] bytes) {
    try {
      return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }
}
