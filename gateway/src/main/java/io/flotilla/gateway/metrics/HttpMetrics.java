package io.flotilla.gateway.metrics;

import static org.apache.pekko.http.javadsl.server.Directives.*;

import io.flotilla.gateway.http.Errors;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.util.ByteString;

/**
 * Request timers and byte counters around a port's routes. The time is to the response's head (a
 * streamed body is not waited for); rejections and exceptions are turned into their JSON answers
 * inside, so that every request is counted with the status its client got.
 */
final class HttpMetrics {

  private HttpMetrics() {}

  static String outcome(int status) {
    if (status < 300) {
      return "success";
    }
    if (status < 400) {
      return "redirection";
    }
    return status < 500 ? "client_error" : "server_error";
  }

  static Timer timer(
      MeterRegistry registry, String name, String description, String kind, int status) {
    return Timer.builder(name)
        .description(description)
        .tag("kind", kind)
        .tag("outcome", outcome(status))
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofSeconds(30))
        .register(registry);
  }

  /**
   * Times each request under {@code name}, tagged with {@code kind.apply(request)} and its outcome.
   */
  static Route timed(
      MeterRegistry registry,
      String name,
      String description,
      Function<HttpRequest, String> kind,
      Supplier<Route> inner) {
    return extractRequest(
        request -> {
          long start = System.nanoTime();
          String k = kind.apply(request);
          return mapResponse(
              response -> {
                timer(registry, name, description, k, response.status().intValue())
                    .record(Duration.ofNanos(System.nanoTime() - start));
                return response;
              },
              () -> sealed(inner));
        });
  }

  /**
   * Counts the requests below {@code /<pathPrefix>/} by method and outcome, and the body bytes that
   * go in and out; other requests pass through uncounted.
   */
  static Route counted(
      MeterRegistry registry, String prefix, String pathPrefix, Supplier<Route> inner) {
    Counter in =
        Counter.builder(prefix + ".received")
            .baseUnit("bytes")
            .description("request body bytes read")
            .register(registry);
    Counter out =
        Counter.builder(prefix + ".sent")
            .baseUnit("bytes")
            .description("response body bytes sent")
            .register(registry);
    return extractRequest(
        request ->
            !request.getUri().path().startsWith("/" + pathPrefix + "/")
                ? inner.get()
                : mapRequest(
                    r -> {
                      var length = r.entity().getContentLengthOption();
                      if (length.isPresent()) {
                        in.increment(length.getAsLong());
                        return r;
                      }
                      return r.withEntity(
                          HttpEntities.createChunked(
                              r.entity().getContentType(),
                              r.entity().getDataBytes().via(counting(in))));
                    },
                    () ->
                        mapResponse(
                            response -> {
                              Counter.builder(prefix + ".requests")
                                  .description("requests answered, by method and outcome")
                                  .tag("method", request.method().name())
                                  .tag("outcome", outcome(response.status().intValue()))
                                  .register(registry)
                                  .increment();
                              if (request.method().name().equals("HEAD")) {
                                return response;
                              }
                              var length = response.entity().getContentLengthOption();
                              if (length.isPresent()) {
                                // the entity is left as it is: wrapping it would turn a known
                                // length
                                // into
                                // chunked transfer, which registry clients check
                                out.increment(length.getAsLong());
                                return response;
                              }
                              return response.withEntity(
                                  HttpEntities.createChunked(
                                      response.entity().getContentType(),
                                      response.entity().getDataBytes().via(counting(out))));
                            },
                            inner)));
  }

  private static Flow<ByteString, ByteString, org.apache.pekko.NotUsed> counting(Counter counter) {
    return Flow.of(ByteString.class)
        .map(
            bytes -> {
              counter.increment(bytes.size());
              return bytes;
            });
  }

  private static Route sealed(Supplier<Route> inner) {
    return handleExceptions(
        Errors.exceptionHandler(), () -> handleRejections(Errors.rejectionHandler(), inner));
  }
}
