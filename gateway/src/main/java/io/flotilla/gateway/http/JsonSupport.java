package io.flotilla.gateway.http;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.protocol.Json;
import org.apache.pekko.http.javadsl.marshallers.jackson.Jackson;
import org.apache.pekko.http.javadsl.marshalling.Marshaller;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.RequestEntity;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;

/** The one JSON configuration of the HTTP API: ISO-8601 times, unknown request fields ignored. */
public final class JsonSupport {

  /** The protocol's shared settings, plus: absent fields are left out of API answers. */
  public static final ObjectMapper MAPPER = Json.newMapper().setSerializationInclusion(JsonInclude.Include.NON_NULL);

  private JsonSupport() {}

  public static <T> Marshaller<T, RequestEntity> marshaller() {
    return Jackson.marshaller(MAPPER);
  }

  public static <T> Unmarshaller<HttpEntity, T> unmarshaller(Class<T> type) {
    return Jackson.unmarshaller(MAPPER, type);
  }
}
