package io.flotilla.registry;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/** Small helpers for the registry's answers. */
public final class Responses {
  public static final ContentType OCTET_STREAM = ContentTypes.APPLICATION_OCTET_STREAM;

  private Responses() {}

  /**
   * Manifest media types are vendor types pekko does not know; they are binary so no charset is
   * appended.
   */
  public static ContentType contentType(String mediaType) {
    int slash = mediaType.indexOf('/');
    if (slash <= 0) {
      return OCTET_STREAM;
    }
    return ContentTypes.create(
        MediaTypes.customBinary(
            mediaType.substring(0, slash), mediaType.substring(slash + 1), false));
  }

  public static HttpResponse status(int status, Map<String, String> headers) {
    return HttpResponse.create().withStatus(status).addHeaders(headers(headers));
  }

  public static HttpResponse json(
      int status, Object body, ContentType contentType, Map<String, String> headers) {
    try {
      return HttpResponse.create()
          .withStatus(status)
          .addHeaders(headers(headers))
          .withEntity(
              HttpEntities.create(contentType, RegistryJson.MAPPER.writeValueAsBytes(body)));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("registry responses always serialize", e);
    }
  }

  public static HttpResponse json(int status, Object body, Map<String, String> headers) {
    return json(status, body, ContentTypes.APPLICATION_JSON, headers);
  }

  public static HttpResponse error(RegistryError error) {
    return json(error.status, error.body(), error.headers);
  }

  public static List<HttpHeader> headers(Map<String, String> headers) {
    List<HttpHeader> list = new ArrayList<>(headers.size());
    headers.forEach((name, value) -> list.add(RawHeader.create(name, value)));
    return list;
  }
}
