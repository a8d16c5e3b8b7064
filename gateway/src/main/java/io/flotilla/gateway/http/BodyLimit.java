package io.flotilla.gateway.http;

import static org.apache.pekko.http.javadsl.server.Directives.extractMaterializer;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequestEntity;
import static org.apache.pekko.http.javadsl.server.Directives.onComplete;
import static org.apache.pekko.http.javadsl.server.Directives.withSizeLimit;

import java.time.Duration;
import java.util.OptionalLong;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * pekko-http's {@code withSizeLimit}, plus: a body whose declared length is over the limit is read
 * to its end and dropped before the 413. An answer sent while the client is still sending makes
 * pekko-http close the connection with bytes unread; the kernel then resets it, and the reset can
 * destroy the 413 before the client reads it (a 2 MiB body to the device port's 1 MiB limit lost
 * its answer that way in a bad-input run). Bodies declared larger than {@link #DRAIN_LIMIT} are
 * refused at once: reading them would cost more than a lost answer.
 */
public final class BodyLimit {

  private static final long DRAIN_LIMIT = 64L * 1024 * 1024;
  private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(60);

  /**
   * A client that sent only the headers (and waits for an early answer) gets its 413 after this
   * pause.
   */
  private static final Duration DRAIN_IDLE = Duration.ofSeconds(1);

  private BodyLimit() {}

  public static Route of(long limit, Supplier<Route> inner) {
    return extractRequestEntity(
        entity -> {
          OptionalLong declared = entity.getContentLengthOption();
          if (declared.isEmpty() || declared.getAsLong() <= limit) {
            return withSizeLimit(limit, inner);
          }
          if (declared.getAsLong() > DRAIN_LIMIT) {
            return tooLarge();
          }
          return extractMaterializer(
              materializer ->
                  onComplete(
                      entity
                          .getDataBytes()
                          .idleTimeout(DRAIN_IDLE)
                          .completionTimeout(DRAIN_TIMEOUT)
                          .runWith(Sink.ignore(), materializer),
                      drained -> tooLarge()));
        });
  }

  private static Route tooLarge() {
    return Errors.error(
        StatusCodes.PAYLOAD_TOO_LARGE, "payload_too_large", "request body is over the limit");
  }
}
