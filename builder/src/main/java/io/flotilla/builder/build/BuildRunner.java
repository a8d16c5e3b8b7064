package io.flotilla.builder.build;

import io.flotilla.builder.image.BuiltImage;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * Runs one attempt of a build as a child of its {@link Build} entity: waits for a slot on its node,
 * prepares the work, supervises one {@link ImageBuildWorker} per image, then packages and
 * publishes. It reports every step and batches of log lines to the entity, enforces the build's
 * timeout, and on stopping (finished, canceled, timed out, or its entity gone) cancels whatever
 * still runs outside the actor.
 */
public final class BuildRunner {

  public static final String DISPATCHER = "flotilla-builder-dispatcher";
  private static final Duration LOG_FLUSH = Duration.ofMillis(250);

  public sealed interface Message {}

  private record SlotGranted() implements Message {}

  private record Prepared(BuildWork.Job job) implements Message {}

  private record StepFailed(BuildFailure failure) implements Message {}

  private record ImageOutcome(ImageBuildWorker.Outcome outcome) implements Message {}

  private record WorkerStopped(String image) implements Message {}

  private record Packaged(String result) implements Message {}

  private record Published(BuildWork.Published published) implements Message {}

  private enum Tick implements Message {
    FLUSH,
    TIMEOUT
  }

  public static Behavior<Message> create(
      BuildSpec spec, ActorRef<Build.Command> entity, Build.Runtime runtime) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers -> new BuildRunner(ctx, timers, spec, entity, runtime).waitingForSlot()));
  }

  private final ActorContext<Message> ctx;
  private final BuildSpec spec;
  private final ActorRef<Build.Command> entity;
  private final Build.Runtime runtime;
  private final Executor blocking;
  private final BuildLog log = new BuildLog();
  private final Cancellation cancellation = new Cancellation();
  private final Map<String, BuiltImage> images = new TreeMap<>();
  private final Set<String> pending = new HashSet<>();
  private BuildWork.Job job;
  private boolean failed;

  private BuildRunner(
      ActorContext<Message> ctx,
      TimerScheduler<Message> timers,
      BuildSpec spec,
      ActorRef<Build.Command> entity,
      Build.Runtime runtime) {
    this.ctx = ctx;
    this.spec = spec;
    this.entity = entity;
    this.runtime = runtime;
    this.blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(DISPATCHER));
    timers.startTimerWithFixedDelay(Tick.FLUSH, LOG_FLUSH);
    runtime
        .slots()
        .tell(
            new BuildSlots.Acquire(
                ctx.messageAdapter(BuildSlots.Granted.class, g -> new SlotGranted())));
    log.line(
        "== build #"
            + spec.number()
            + " of "
            + spec.factory()
            + ": commit "
            + spec.commit()
            + " on branch "
            + spec.branch()
            + " (tag "
            + spec.tag()
            + "), attempt "
            + spec.attempt()
            + "; waiting for a build slot on "
            + runtime.node());
  }

  private Behavior<Message> waitingForSlot() {
    return common()
        .onMessage(
            SlotGranted.class,
            granted -> {
              entity.tell(new Build.AttemptRunning(spec.attempt(), runtime.node()));
              entity.tell(new Build.StepBegan(spec.attempt(), Build.Step.BUILDING_IMAGES));
              ctx.scheduleOnce(runtime.timeout(), ctx.getSelf(), Tick.TIMEOUT);
              step(
                  () ->
                      runtime
                          .work()
                          .prepare(spec, log, cancellation)
                          .<Message>thenApply(Prepared::new));
              return preparing();
            })
        .build();
  }

  private Behavior<Message> preparing() {
    return common()
        .onMessage(
            Prepared.class,
            prepared -> {
              job = prepared.job();
              if (job.images().isEmpty()) {
                log.line("-- no images to build");
                return packaging(Map.of());
              }
              for (String image : job.images()) {
                ActorRef<ImageBuildWorker.Outcome> replyTo =
                    ctx.messageAdapter(ImageBuildWorker.Outcome.class, ImageOutcome::new);
                var worker =
                    ctx.spawn(
                        ImageBuildWorker.create(
                            image, job, log, replyTo, blocking, runtime.backoff()),
                        "image-" + image.replaceAll("[^A-Za-z0-9_-]", "_"));
                ctx.watchWith(worker, new WorkerStopped(image));
                pending.add(image);
              }
              return buildingImages();
            })
        .build();
  }

  private Behavior<Message> buildingImages() {
    return common()
        .onMessage(
            ImageOutcome.class,
            message -> {
              ImageBuildWorker.Outcome outcome = message.outcome();
              pending.remove(outcome.image());
              if (outcome.failure() != null) {
                return fail(outcome.failure());
              }
              images.put(outcome.image(), outcome.built());
              log.line(
                  "-- image "
                      + outcome.image()
                      + " built: "
                      + outcome.built().digest()
                      + " "
                      + outcome.built().platforms());
              return pending.isEmpty() ? packaging(images) : Behaviors.same();
            })
        .onMessage(
            WorkerStopped.class,
            stopped -> {
              if (pending.contains(stopped.image())) {
                return fail(
                    stopped.image()
                        + ": gave up after "
                        + runtime.backoff().maxRestarts()
                        + " retries of transient failures (see the log)");
              }
              return Behaviors.same();
            })
        .build();
  }

  private Behavior<Message> packaging(Map<String, BuiltImage> built) {
    entity.tell(
        new Build.StepDone(
            spec.attempt(), Build.Step.BUILDING_IMAGES, built.size() + " image(s) built"));
    entity.tell(new Build.StepBegan(spec.attempt(), Build.Step.PACKAGING_APPS));
    Map<String, BuiltImage> snapshot = Map.copyOf(built);
    blockingStep(() -> new Packaged(job.packageApps(snapshot)));
    return common()
        .onMessage(
            Packaged.class,
            packaged -> {
              entity.tell(
                  new Build.StepDone(spec.attempt(), Build.Step.PACKAGING_APPS, packaged.result()));
              entity.tell(new Build.StepBegan(spec.attempt(), Build.Step.PUBLISHING));
              step(() -> job.publish().<Message>thenApply(Published::new));
              return publishing();
            })
        .build();
  }

  private Behavior<Message> publishing() {
    return common()
        .onMessage(
            Published.class,
            published -> {
              flush();
              entity.tell(
                  new Build.StepDone(
                      spec.attempt(),
                      Build.Step.PUBLISHING,
                      "targets " + published.published().targets()));
              log.line("== build #" + spec.number() + " succeeded");
              flush();
              entity.tell(
                  new Build.Succeed(
                      spec.attempt(),
                      published.published().targets(),
                      published.published().apps()));
              return done();
            })
        .build();
  }

  /**
   * After the outcome is reported the runner waits for its entity to stop it, flushing nothing
   * more.
   */
  private Behavior<Message> done() {
    return Behaviors.receive(Message.class)
        .onMessage(
            Prepared.class,
            late -> {
              job = late.job();
              return Behaviors.same();
            })
        .onSignal(PostStop.class, stop -> cleanup())
        .onAnyMessage(m -> Behaviors.same())
        .build();
  }

  private org.apache.pekko.actor.typed.javadsl.BehaviorBuilder<Message> common() {
    return Behaviors.receive(Message.class)
        .onMessageEquals(
            Tick.FLUSH,
            () -> {
              flush();
              return Behaviors.same();
            })
        .onMessageEquals(Tick.TIMEOUT, () -> fail("timed out after " + runtime.timeout()))
        .onMessage(StepFailed.class, f -> fail(f.failure().getMessage()))
        .onSignal(PostStop.class, stop -> cleanup());
  }

  private Behavior<Message> fail(String reason) {
    if (failed) {
      return Behaviors.same();
    }
    failed = true;
    cancellation.cancel(reason);
    log.line("== build #" + spec.number() + " failed: " + reason);
    flush();
    entity.tell(new Build.Fail(spec.attempt(), reason));
    return done();
  }

  private Behavior<Message> cleanup() {
    cancellation.cancel("the build was stopped");
    flush();
    if (job != null) {
      BuildWork.Job closing = job;
      CompletableFuture.runAsync(closing::close, blocking);
    }
    return Behaviors.same();
  }

  private void flush() {
    List<String> lines = log.drain();
    if (!lines.isEmpty()) {
      entity.tell(new Build.AppendLog(spec.attempt(), lines));
    }
  }

  /** A step that answers with a stage: its outcome comes back to the actor as a message. */
  private void step(Supplier<CompletionStage<Message>> step) {
    CompletionStage<Message> stage;
    try {
      stage = step.get();
    } catch (RuntimeException e) {
      stage = CompletableFuture.failedFuture(e);
    }
    ctx.pipeToSelf(
        stage,
        (message, failure) -> failure == null ? message : new StepFailed(failureOf(failure)));
  }

  private static BuildFailure failureOf(Throwable failure) {
    Throwable cause =
        failure instanceof CompletionException && failure.getCause() != null
            ? failure.getCause()
            : failure;
    return cause instanceof BuildFailure buildFailure
        ? buildFailure
        : BuildFailure.deterministic("internal error: " + cause, cause);
  }

  private interface BlockingStep {
    Message run() throws BuildFailure;
  }

  private void blockingStep(BlockingStep step) {
    CompletableFuture.supplyAsync(
            () -> {
              try {
                return step.run();
              } catch (BuildFailure failure) {
                return new StepFailed(failure);
              } catch (RuntimeException e) {
                return new StepFailed(BuildFailure.deterministic("internal error: " + e, e));
              }
            },
            blocking)
        .thenAccept(ctx.getSelf()::tell);
  }
}
