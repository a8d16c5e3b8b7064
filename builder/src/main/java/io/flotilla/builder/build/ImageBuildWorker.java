package io.flotilla.builder.build;

import io.flotilla.builder.image.BuiltImage;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Builds one image. A transient failure is thrown from the actor, so that its supervisor restarts
 * it with backoff, which starts the build over; a deterministic one is reported and the worker
 * stops. When the restarts are used up the worker stops, and its parent learns of it by watching.
 */
public final class ImageBuildWorker {

  public sealed interface Message {}

  private record Finished(BuiltImage image) implements Message {}

  private record Failed(BuildFailure failure) implements Message {}

  /** Thrown to make the supervisor restart the worker. */
  public static final class TransientImageFailure extends RuntimeException {
    TransientImageFailure(String message, Throwable cause) {
      super(message, cause);
    }
  }

  public record Outcome(String image, BuiltImage built, String failure) {}

  public record Backoff(Duration min, Duration max, int maxRestarts) {}

  public static Behavior<Message> create(
      String image,
      BuildWork.Job job,
      BuildLog log,
      ActorRef<Outcome> parent,
      Executor blocking,
      Backoff backoff) {
    Behavior<Message> worker =
        Behaviors.setup(
            ctx -> {
              log.line("-- building image " + image);
              CompletableFuture.supplyAsync(
                      () -> {
                        try {
                          return (Message) new Finished(job.buildImage(image));
                        } catch (BuildFailure failure) {
                          return new Failed(failure);
                        } catch (RuntimeException e) {
                          return new Failed(BuildFailure.transientFailure(image + ": " + e, e));
                        }
                      },
                      blocking)
                  .thenAccept(ctx.getSelf()::tell);
              return Behaviors.receive(Message.class)
                  .onMessage(
                      Finished.class,
                      finished -> {
                        parent.tell(new Outcome(image, finished.image(), null));
                        return Behaviors.stopped();
                      })
                  .onMessage(
                      Failed.class,
                      failed -> {
                        if (failed.failure().deterministic()) {
                          parent.tell(new Outcome(image, null, failed.failure().getMessage()));
                          return Behaviors.stopped();
                        }
                        log.line(
                            "!! "
                                + failed.failure().getMessage()
                                + " (transient; retrying with backoff)");
                        throw new TransientImageFailure(
                            failed.failure().getMessage(), failed.failure());
                      })
                  .build();
            });
    return Behaviors.supervise(worker)
        .onFailure(
            TransientImageFailure.class,
            SupervisorStrategy.restartWithBackoff(backoff.min(), backoff.max(), 0.2)
                .withMaxRestarts(backoff.maxRestarts())
                .withLogLevel(org.slf4j.event.Level.WARN));
  }
}
