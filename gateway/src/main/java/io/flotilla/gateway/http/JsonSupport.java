package io.flotilla.gateway.http;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.type.LogicalType;
import io.flotilla.protocol.Json;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.List;
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

  /**
   * {@link #MAPPER} that refuses what it would otherwise guess at: an unknown field (a misspelt
   * optional field would silently take its default), and a value of another JSON type converted
   * ({@code "2"} or {@code 2.5} for an integer, {@code 1} for a boolean, {@code 42} for a string).
   * For requests where a guess is dangerous (a rollout's thresholds).
   */
  private static final ObjectMapper STRICT = newStrictMapper();

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

  private static ObjectMapper newStrictMapper() {
    ObjectMapper mapper = newMapper();
    mapper.enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    mapper.disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT);
    for (LogicalType type : List.of(LogicalType.Integer, LogicalType.Float, LogicalType.Boolean)) {
      mapper
          .coercionConfigFor(type)
          .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
          .setCoercion(CoercionInputShape.EmptyString, CoercionAction.Fail);
    }
    mapper
        .coercionConfigFor(LogicalType.Boolean)
        .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Float, CoercionAction.Fail);
    mapper
        .coercionConfigFor(LogicalType.Textual)
        .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail);
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
    return unmarshaller(MAPPER, type);
  }

  /** As {@link #unmarshaller}, refusing unknown fields and converted values ({@link #STRICT}). */
  public static <T> Unmarshaller<HttpEntity, T> strictUnmarshaller(Class<T> type) {
    return unmarshaller(STRICT, type);
  }

  private static <T> Unmarshaller<HttpEntity, T> unmarshaller(ObjectMapper mapper, Class<T> type) {
    return Unmarshaller.forMediaType(MediaTypes.APPLICATION_JSON, Unmarshaller.entityToByteArray())
        .thenApply(
            bytes -> {
              T value;
              try {
                value = mapper.readValue(bytes, type);
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
