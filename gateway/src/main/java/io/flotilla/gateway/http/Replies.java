package io.flotilla.gateway.http;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.onComplete;

import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Completing a route from an asynchronous answer, with failures mapped by {@link Errors#failure}.
 */
public final class Replies {

  private Replies() {}

  public static <T> Route whenDone(CompletionStage<T> answer, Function<T, Route> onSuccess) {
    return onComplete(
        answer,
        result ->
            result.isSuccess()
                ? onSuccess.apply(result.get())
                : Errors.failure(result.failed().get()));
  }

  public static <T> Route json(CompletionStage<T> answer) {
    return json(StatusCodes.OK, answer);
  }

  public static <T> Route json(StatusCode status, CompletionStage<T> answer) {
    return whenDone(answer, value -> complete(status, value, JsonSupport.marshaller()));
  }
}
