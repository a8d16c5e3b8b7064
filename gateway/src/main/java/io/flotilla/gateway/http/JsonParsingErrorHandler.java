package io.flotilla.gateway.http;

import io.flotilla.protocol.ApiError;
import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.ParsingErrorHandler;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.scaladsl.model.ErrorInfo;
import org.apache.pekko.http.scaladsl.model.StatusCode;
import org.apache.pekko.http.scaladsl.settings.ServerSettings;

/**
 * The answer to a request too malformed to reach any route (a bad byte in a header, a header or URI
 * over the parser's limits, an unknown method), named in {@code
 * pekko.http.server.parsing.error-handler}: the same JSON error body as every other refusal. An
 * unknown method is pekko-http's 501; it is the client's mistake, so it is a 400.
 */
public final class JsonParsingErrorHandler extends ParsingErrorHandler {

  @Override
  public HttpResponse handle(
      StatusCode status, ErrorInfo info, LoggingAdapter log, ServerSettings settings) {
    int code = status.intValue() == 501 ? 400 : status.intValue();
    String detail = info.formatPretty();
    log.debug("refused a malformed request ({}): {}", code, detail);
    String error = code == 400 ? "bad_request" : status.reason().toLowerCase().replace(' ', '_');
    byte[] body;
    try {
      body =
          JsonSupport.MAPPER.writeValueAsBytes(
              new ApiError(error, detail.length() > 300 ? detail.substring(0, 300) : detail));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("an ApiError always serializes", e);
    }
    return HttpResponse.create()
        .withStatus(code)
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body));
  }
}
