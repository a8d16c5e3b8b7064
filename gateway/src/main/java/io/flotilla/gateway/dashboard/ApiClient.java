package io.flotilla.gateway.dashboard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import io.flotilla.gateway.http.JsonSupport;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpMethod;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.stream.Materializer;

/**
 * The management API, called in-process with the session's token: every action and most reads of
 * the dashboard are the API's own routes, so they check the same scopes, validate the same way and
 * wait for the read side the same way. Nothing crosses the network.
 */
final class ApiClient {

  /** An API answer: its status and JSON body (a {@code NullNode} for an empty one). */
  record Answer(int status, JsonNode body) {
    boolean ok() {
      return status >= 200 && status < 300;
    }

    /** The detail of an error answer, as the API wrote it. */
    String detail() {
      JsonNode detail = body.path("detail");
      return detail.isTextual() ? detail.asText() : "the API answered " + status;
    }
  }

  /** Far above any answer the dashboard asks for (a page of targets, builds or tokens). */
  private static final long MAX_ANSWER = 16L * 1024 * 1024;

  private static final java.time.Duration READ_TIMEOUT = java.time.Duration.ofSeconds(30);

  private final Function<HttpRequest, CompletionStage<HttpResponse>> api;
  private final Materializer materializer;

  ApiClient(Function<HttpRequest, CompletionStage<HttpResponse>> api, ActorSystem<?> system) {
    this.api = api;
    this.materializer = Materializer.matFromSystem(system);
  }

  CompletionStage<Answer> get(String token, String path) {
    return call(token, HttpRequest.GET(path));
  }

  CompletionStage<Answer> send(String token, HttpMethod method, String path, Object body) {
    HttpRequest request = HttpRequest.create(path).withMethod(method);
    if (body != null) {
      try {
        request =
            request.withEntity(
                HttpEntities.create(
                    ContentTypes.APPLICATION_JSON, JsonSupport.MAPPER.writeValueAsBytes(body)));
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalArgumentException("a request body did not serialize", e);
      }
    }
    return call(token, request);
  }

  /** The raw answer, for a streamed body (a build log). */
  CompletionStage<HttpResponse> stream(String token, String path) {
    try {
      return api.apply(HttpRequest.GET(path).addHeader(bearer(token)));
    } catch (Exception e) {
      throw new IllegalStateException("the API route failed", e);
    }
  }

  private CompletionStage<Answer> call(String token, HttpRequest request) {
    CompletionStage<HttpResponse> response;
    try {
      response = api.apply(request.addHeader(bearer(token)));
    } catch (Exception e) {
      throw new IllegalStateException("the API route failed", e);
    }
    return response.thenCompose(
        r ->
            r.entity()
                .withoutSizeLimit()
                .toStrict(READ_TIMEOUT.toMillis(), MAX_ANSWER, materializer)
                .thenApply(
                    strict -> {
                      byte[] bytes = strict.getData().toArray();
                      JsonNode body = NullNode.getInstance();
                      if (bytes.length > 0
                          && strict.getContentType().equals(ContentTypes.APPLICATION_JSON)) {
                        try {
                          body = JsonSupport.MAPPER.readTree(bytes);
                        } catch (java.io.IOException e) {
                          body = NullNode.getInstance();
                        }
                      }
                      return new Answer(r.status().intValue(), body);
                    }));
  }

  private static RawHeader bearer(String token) {
    return RawHeader.create("Authorization", "Bearer " + token);
  }
}
