package io.flotilla.gateway.http;

import static org.apache.pekko.http.javadsl.server.Directives.complete;

import io.flotilla.core.Rejection;
import io.flotilla.core.persistence.DatabaseHealth;
import io.flotilla.protocol.ApiError;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.HttpChallenge;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.http.javadsl.model.headers.WWWAuthenticate;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.MalformedRequestContentRejection;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns every failure into a JSON error answer: rejections (bad JSON, wrong method, unknown path),
 * entity refusals and the rare unexpected exception, which is logged and answered 500 without
 * internals.
 */
public final class Errors {

  private static final Logger log = LoggerFactory.getLogger(Errors.class);

  private Errors() {}

  public static Route error(StatusCode status, String error, String detail) {
    return complete(status, new ApiError(error, detail), JsonSupport.marshaller());
  }

  public static Route badRequest(String detail) {
    return error(StatusCodes.BAD_REQUEST, "bad_request", detail);
  }

  public static Route notFound(String detail) {
    return error(StatusCodes.NOT_FOUND, "not_found", detail);
  }

  public static Route forbidden(String detail) {
    return error(StatusCodes.FORBIDDEN, "forbidden", detail);
  }

  public static Route unauthorized(String detail) {
    HttpResponse response =
        HttpResponse.create()
            .withStatus(StatusCodes.UNAUTHORIZED)
            .addHeader(WWWAuthenticate.create(HttpChallenge.createOAuth2("flotilla")))
            .withEntity(json(new ApiError("unauthorized", detail)));
    return complete(response);
  }

  /** The answer to a failed ask: an entity's refusal keeps its meaning, a timeout is 503. */
  public static Route failure(Throwable failure) {
    var rejection = Rejection.of(failure);
    if (rejection.isPresent()) {
      Rejection r = rejection.get();
      return switch (r.kind()) {
        case INVALID -> badRequest(r.detail());
        case NOT_FOUND -> notFound(r.detail());
        case CONFLICT -> error(StatusCodes.CONFLICT, "conflict", r.detail());
        case FORBIDDEN -> forbidden(r.detail());
      };
    }
    Throwable cause = unwrap(failure);
    if (cause instanceof TimeoutException) {
      return error(
          StatusCodes.SERVICE_UNAVAILABLE,
          "unavailable",
          "the service did not answer in time; try again");
    }
    if (DatabaseHealth.isConnectionFailure(cause)) {
      return databaseUnavailable();
    }
    log.error("request failed", cause);
    return error(
        StatusCodes.INTERNAL_SERVER_ERROR,
        "internal_error",
        "an unexpected error occurred; see the server log");
  }

  /**
   * Seconds a client is asked to wait before retrying while the database is away (the probe runs
   * every second).
   */
  public static final int DATABASE_RETRY_AFTER_SECONDS = 5;

  private static final HttpResponse DATABASE_UNAVAILABLE =
      HttpResponse.create()
          .withStatus(StatusCodes.SERVICE_UNAVAILABLE)
          .addHeader(RetryAfter.create((long) DATABASE_RETRY_AFTER_SECONDS))
          .withEntity(
              json(
                  new ApiError(
                      "database_unavailable", "the database is unavailable; try again later")));

  /**
   * 503 with {@code Retry-After}: the request was refused or failed because the database does not
   * answer.
   */
  public static HttpResponse databaseUnavailableResponse() {
    return DATABASE_UNAVAILABLE;
  }

  public static Route databaseUnavailable() {
    return complete(DATABASE_UNAVAILABLE);
  }

  /**
   * One instance for the life of the JVM: the Java DSL evaluates a directive's inner route for
   * every request, so a handler built there would be built again for every request (1.5 % of the
   * device port's CPU at saturation).
   */
  public static RejectionHandler rejectionHandler() {
    return REJECTION_HANDLER;
  }

  private static final RejectionHandler REJECTION_HANDLER = buildRejectionHandler();

  private static RejectionHandler buildRejectionHandler() {
    return RejectionHandler.newBuilder()
        .handle(
            MalformedRequestContentRejection.class,
            r ->
                r.getCause() instanceof EntityStreamSizeException
                    ? error(
                        StatusCodes.PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        "request body is over the limit")
                    : badRequest("malformed request body: " + firstLine(r.message())))
        .build()
        .withFallback(RejectionHandler.defaultHandler())
        .mapRejectionResponse(Errors::asJson);
  }

  /** One instance for the life of the JVM, as {@link #rejectionHandler()}. */
  public static ExceptionHandler exceptionHandler() {
    return EXCEPTION_HANDLER;
  }

  private static final ExceptionHandler EXCEPTION_HANDLER = buildExceptionHandler();

  private static ExceptionHandler buildExceptionHandler() {
    return ExceptionHandler.newBuilder()
        .match(
            EntityStreamSizeException.class,
            e ->
                error(
                    StatusCodes.PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "request body is over the limit"))
        .match(IllegalArgumentException.class, e -> badRequest(e.getMessage()))
        .matchAny(Errors::failure)
        .build();
  }

  /** Rejection answers of the default handler are plain text; callers were promised JSON. */
  private static HttpResponse asJson(HttpResponse response) {
    if (response.entity().getContentType().equals(ContentTypes.APPLICATION_JSON)) {
      return response;
    }
    String text =
        response.entity() instanceof HttpEntity.Strict strict ? strict.getData().utf8String() : "";
    String error = response.status().reason().toLowerCase().replace(' ', '_');
    return response.withEntity(
        json(new ApiError(error, text.isBlank() ? response.status().reason() : text)));
  }

  private static HttpEntity.Strict json(ApiError error) {
    try {
      return HttpEntities.create(
          ContentTypes.APPLICATION_JSON, JsonSupport.MAPPER.writeValueAsBytes(error));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("an ApiError always serializes", e);
    }
  }

  private static Throwable unwrap(Throwable failure) {
    Throwable cause = failure;
    while (cause instanceof CompletionException && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause;
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "";
    }
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }
}
