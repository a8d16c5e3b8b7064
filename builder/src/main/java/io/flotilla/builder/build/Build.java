package io.flotilla.builder.build;

import io.flotilla.core.CborSerializable;
import io.flotilla.core.Rejection;
import io.flotilla.core.TaggedEntity;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * One build of a factory's containers.git commit ({@code <factory>/<number>}): queued → building
 * images → packaging apps → publishing → succeeded | failed | canceled, with each step's result and
 * the build's log.
 *
 * <p>The entity owns the work: it spawns a {@link BuildRunner} child and records what the runner
 * reports. If the entity comes back from its journal unfinished (its node died, or the shard
 * moved), nothing runs it any more, so it starts a new attempt itself, or fails the build once
 * {@code maxAttempts} attempts have been spent.
 */
public final class Build extends TaggedEntity<Build.Command, Build.Event, Build.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY =
      EntityTypeKey.create(Command.class, "Build");
  public static final String TAG = "build";
  public static final int MAX_LOG_LINES = 20_000;

  public static String entityId(String factory, long number) {
    return factory + "/" + number;
  }

  public enum Status {
    QUEUED("queued"),
    BUILDING_IMAGES("building-images"),
    PACKAGING_APPS("packaging-apps"),
    PUBLISHING("publishing"),
    SUCCEEDED("succeeded"),
    FAILED("failed"),
    CANCELED("canceled");

    private final String wireName;

    Status(String wireName) {
      this.wireName = wireName;
    }

    public String wireName() {
      return wireName;
    }

    public boolean finished() {
      return this == SUCCEEDED || this == FAILED || this == CANCELED;
    }
  }

  public enum Step {
    BUILDING_IMAGES(Status.BUILDING_IMAGES),
    PACKAGING_APPS(Status.PACKAGING_APPS),
    PUBLISHING(Status.PUBLISHING);

    private final Status status;

    Step(Status status) {
      this.status = status;
    }

    public Status status() {
      return status;
    }
  }

  public sealed interface Command extends CborSerializable {}

  public record Queue(
      String commit,
      String branch,
      String tag,
      String requestedBy,
      ActorRef<StatusReply<Summary>> replyTo)
      implements Command {}

  public record Get(ActorRef<StatusReply<Summary>> replyTo) implements Command {}

  /**
   * Log lines from {@code from} on (0-based); {@code finished} tells a streaming reader to stop
   * after them.
   */
  public record GetLog(int from, ActorRef<StatusReply<LogChunk>> replyTo) implements Command {}

  public record Cancel(String by, ActorRef<StatusReply<Summary>> replyTo) implements Command {}

  /** Brings the entity up, which resumes an unfinished build whose runner died with its node. */
  public record Wake(ActorRef<Done> replyTo) implements Command {}

  /** From the runner; {@code attempt} tells a stale runner's reports apart. */
  public record AttemptRunning(int attempt, String node) implements Command {}

  public record StepBegan(int attempt, Step step) implements Command {}

  public record AppendLog(int attempt, List<String> lines) implements Command {}

  public record StepDone(int attempt, Step step, String result) implements Command {}

  public record Succeed(int attempt, List<String> targets, Map<String, String> apps)
      implements Command {}

  public record Fail(int attempt, String reason) implements Command {}

  record RunnerStopped(int attempt) implements Command {}

  record ResumeAfterRecovery() implements Command {}

  public record StepRecord(Step step, Instant startedAt, Instant finishedAt, String result)
      implements CborSerializable {}

  public record Summary(
      String factory,
      long number,
      String status,
      String commit,
      String branch,
      String tag,
      String requestedBy,
      int attempt,
      List<StepRecord> steps,
      String reason,
      List<String> targets,
      Map<String, String> apps,
      Instant createdAt,
      Instant finishedAt)
      implements CborSerializable {}

  public record LogChunk(List<String> lines, int next, boolean finished)
      implements CborSerializable {}

  public sealed interface Event extends CborSerializable {
    String factory();

    long number();
  }

  public record Queued(
      String factory,
      long number,
      String commit,
      String branch,
      String tag,
      String requestedBy,
      Instant at)
      implements Event {}

  public record AttemptStarted(String factory, long number, int attempt, String node, Instant at)
      implements Event {}

  public record StepStarted(String factory, long number, Step step, Instant at) implements Event {}

  public record LogAppended(String factory, long number, List<String> lines) implements Event {}

  public record StepFinished(String factory, long number, Step step, String result, Instant at)
      implements Event {}

  public record Succeeded(
      String factory, long number, List<String> targets, Map<String, String> apps, Instant at)
      implements Event {}

  public record Failed(String factory, long number, String reason, Instant at) implements Event {}

  public record Canceled(String factory, long number, String by, Instant at) implements Event {}

  public record State(
      String factory,
      long number,
      String commit,
      String branch,
      String tag,
      String requestedBy,
      Status status,
      int attempt,
      List<StepRecord> steps,
      List<String> log,
      String reason,
      List<String> targets,
      Map<String, String> apps,
      Instant createdAt,
      Instant finishedAt)
      implements CborSerializable {

    static State empty() {
      return new State(
          null, 0, null, null, null, null, null, 0, List.of(), List.of(), null, List.of(), Map.of(),
          null, null);
    }

    boolean exists() {
      return factory != null;
    }

    boolean finished() {
      return status != null && status.finished();
    }

    Summary summary() {
      return new Summary(
          factory,
          number,
          status.wireName(),
          commit,
          branch,
          tag,
          requestedBy,
          attempt,
          steps,
          reason,
          targets,
          apps,
          createdAt,
          finishedAt);
    }

    State with(
        Status newStatus,
        int newAttempt,
        List<StepRecord> newSteps,
        List<String> newLog,
        String newReason,
        List<String> newTargets,
        Map<String, String> newApps,
        Instant newFinishedAt) {
      return new State(
          factory,
          number,
          commit,
          branch,
          tag,
          requestedBy,
          newStatus,
          newAttempt,
          newSteps,
          newLog,
          newReason,
          newTargets,
          newApps,
          createdAt,
          newFinishedAt);
    }

    State apply(Event event) {
      if (event instanceof Queued q) {
        return new State(
            q.factory(),
            q.number(),
            q.commit(),
            q.branch(),
            q.tag(),
            q.requestedBy(),
            Status.QUEUED,
            0,
            List.of(),
            List.of(),
            null,
            List.of(),
            Map.of(),
            q.at(),
            null);
      } else if (event instanceof AttemptStarted started) {
        return with(Status.QUEUED, started.attempt(), List.of(), log, null, targets, apps, null);
      } else if (event instanceof StepStarted started) {
        List<StepRecord> next = new ArrayList<>(steps);
        next.add(new StepRecord(started.step(), started.at(), null, null));
        return with(
            started.step().status(),
            attempt,
            List.copyOf(next),
            log,
            reason,
            targets,
            apps,
            finishedAt);
      } else if (event instanceof LogAppended appended) {
        List<String> next = new ArrayList<>(log);
        for (String line : appended.lines()) {
          if (next.size() >= MAX_LOG_LINES) {
            break;
          }
          next.add(
              next.size() == MAX_LOG_LINES - 1
                  ? "[log truncated at " + MAX_LOG_LINES + " lines]"
                  : line);
        }
        return with(status, attempt, steps, List.copyOf(next), reason, targets, apps, finishedAt);
      } else if (event instanceof StepFinished done) {
        List<StepRecord> next = new ArrayList<>();
        for (StepRecord step : steps) {
          next.add(
              step.step() == done.step() && step.finishedAt() == null
                  ? new StepRecord(step.step(), step.startedAt(), done.at(), done.result())
                  : step);
        }
        return with(status, attempt, List.copyOf(next), log, reason, targets, apps, finishedAt);
      } else if (event instanceof Succeeded s) {
        return with(Status.SUCCEEDED, attempt, steps, log, null, s.targets(), s.apps(), s.at());
      } else if (event instanceof Failed f) {
        return with(Status.FAILED, attempt, steps, log, f.reason(), targets, apps, f.at());
      } else if (event instanceof Canceled c) {
        return with(
            Status.CANCELED, attempt, steps, log, "canceled by " + c.by(), targets, apps, c.at());
      }
      throw new IllegalStateException("unknown event " + event);
    }
  }

  /** Everything a build entity needs from its node to run builds. */
  public record Runtime(
      BuildWork work,
      ActorRef<BuildSlots.Command> slots,
      Duration timeout,
      int maxAttempts,
      String node,
      ImageBuildWorker.Backoff backoff) {}

  public static Behavior<Command> create(String entityId, Runtime runtime) {
    return Behaviors.setup(ctx -> new Build(ctx, entityId, runtime));
  }

  private final ActorContext<Command> ctx;
  private final String factory;
  private final long number;
  private final Runtime runtime;
  private ActorRef<BuildRunner.Message> runner;
  private int runnerAttempt;

  private Build(ActorContext<Command> ctx, String entityId, Runtime runtime) {
    super(ENTITY_KEY, entityId, TAG, 200);
    this.ctx = ctx;
    int slash = entityId.lastIndexOf('/');
    this.factory = entityId.substring(0, slash);
    this.number = Long.parseLong(entityId.substring(slash + 1));
    this.runtime = runtime;
  }

  @Override
  public State emptyState() {
    return State.empty();
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(
            RecoveryCompleted.instance(),
            state -> {
              if (state.exists() && !state.finished()) {
                ctx.getSelf().tell(new ResumeAfterRecovery());
              }
            })
        .build();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    var builder = newCommandHandlerWithReplyBuilder();
    builder
        .forState(state -> !state.exists())
        .onCommand(Queue.class, this::onQueue)
        .onCommand(
            Get.class,
            (s, c) ->
                Effect()
                    .reply(
                        c.replyTo(),
                        Rejection.notFound(
                            "build " + number + " of " + factory + " does not exist")))
        .onCommand(
            GetLog.class,
            (s, c) ->
                Effect()
                    .reply(
                        c.replyTo(),
                        Rejection.notFound(
                            "build " + number + " of " + factory + " does not exist")))
        .onCommand(
            Cancel.class,
            (s, c) ->
                Effect()
                    .reply(
                        c.replyTo(),
                        Rejection.notFound(
                            "build " + number + " of " + factory + " does not exist")))
        .onCommand(Wake.class, (s, c) -> Effect().reply(c.replyTo(), Done.getInstance()))
        .onAnyCommand(() -> Effect().noReply());
    builder
        .forAnyState()
        .onCommand(
            Queue.class,
            (s, c) ->
                Effect()
                    .reply(
                        c.replyTo(),
                        Rejection.conflict("build " + number + " of " + factory + " exists")))
        .onCommand(
            Get.class, (s, c) -> Effect().reply(c.replyTo(), StatusReply.success(s.summary())))
        .onCommand(GetLog.class, this::onGetLog)
        .onCommand(Cancel.class, this::onCancel)
        .onCommand(Wake.class, (s, c) -> Effect().reply(c.replyTo(), Done.getInstance()))
        .onCommand(ResumeAfterRecovery.class, this::onResume)
        .onCommand(AttemptRunning.class, this::onAttemptRunning)
        .onCommand(
            StepBegan.class,
            (s, c) ->
                fromRunner(
                    s,
                    c.attempt(),
                    () -> new StepStarted(factory, number, c.step(), Instant.now())))
        .onCommand(
            AppendLog.class,
            (s, c) ->
                c.lines().isEmpty()
                    ? Effect().noReply()
                    : fromRunner(s, c.attempt(), () -> new LogAppended(factory, number, c.lines())))
        .onCommand(
            StepDone.class,
            (s, c) ->
                fromRunner(
                    s,
                    c.attempt(),
                    () -> new StepFinished(factory, number, c.step(), c.result(), Instant.now())))
        .onCommand(
            Succeed.class,
            (s, c) ->
                finish(
                    s,
                    c.attempt(),
                    new Succeeded(factory, number, c.targets(), c.apps(), Instant.now())))
        .onCommand(
            Fail.class,
            (s, c) ->
                finish(s, c.attempt(), new Failed(factory, number, c.reason(), Instant.now())))
        .onCommand(RunnerStopped.class, this::onRunnerStopped);
    return builder.build();
  }

  private ReplyEffect<Event, State> onQueue(State state, Queue command) {
    Queued queued =
        new Queued(
            factory,
            number,
            command.commit(),
            command.branch(),
            command.tag(),
            command.requestedBy(),
            Instant.now());
    return Effect()
        .persist(queued)
        .thenRun(s -> startRunner(s, 1))
        .thenReply(command.replyTo(), s -> StatusReply.success(s.summary()));
  }

  private ReplyEffect<Event, State> onGetLog(State state, GetLog command) {
    int from = Math.max(0, Math.min(command.from(), state.log().size()));
    List<String> lines = List.copyOf(state.log().subList(from, state.log().size()));
    return Effect()
        .reply(
            command.replyTo(),
            StatusReply.success(new LogChunk(lines, state.log().size(), state.finished())));
  }

  private ReplyEffect<Event, State> onCancel(State state, Cancel command) {
    if (state.finished()) {
      return Effect()
          .reply(
              command.replyTo(),
              Rejection.conflict("build " + number + " already " + state.status().wireName()));
    }
    return Effect()
        .persist(new Canceled(factory, number, command.by(), Instant.now()))
        .thenRun(s -> stopRunner())
        .thenReply(command.replyTo(), s -> StatusReply.success(s.summary()));
  }

  private ReplyEffect<Event, State> onResume(State state, ResumeAfterRecovery command) {
    if (state.finished() || runner != null) {
      return Effect().noReply();
    }
    if (state.attempt() >= runtime.maxAttempts()) {
      return Effect()
          .persist(
              new Failed(
                  factory,
                  number,
                  "the builder stopped during attempt "
                      + state.attempt()
                      + " of "
                      + runtime.maxAttempts()
                      + " (node restart or crash); giving up",
                  Instant.now()))
          .thenNoReply();
    }
    int next = state.attempt() + 1;
    String why =
        state.attempt() == 0
            ? "the build was queued when its builder stopped"
            : "attempt " + state.attempt() + " stopped with its builder node";
    return Effect()
        .persist(
            new LogAppended(
                factory, number, List.of("== resuming: " + why + "; starting attempt " + next)))
        .thenRun(s -> startRunner(s, next))
        .thenNoReply();
  }

  private ReplyEffect<Event, State> onAttemptRunning(State state, AttemptRunning command) {
    if (command.attempt() != runnerAttempt || state.finished()) {
      return Effect().noReply();
    }
    return Effect()
        .persist(
            new AttemptStarted(factory, number, command.attempt(), command.node(), Instant.now()))
        .thenNoReply();
  }

  private ReplyEffect<Event, State> fromRunner(
      State state, int attempt, java.util.function.Supplier<Event> event) {
    if (attempt != runnerAttempt || state.finished()) {
      return Effect().noReply();
    }
    return Effect().persist(event.get()).thenNoReply();
  }

  private ReplyEffect<Event, State> finish(State state, int attempt, Event event) {
    if (attempt != runnerAttempt || state.finished()) {
      return Effect().noReply();
    }
    return Effect().persist(event).thenRun(s -> stopRunner()).thenNoReply();
  }

  private ReplyEffect<Event, State> onRunnerStopped(State state, RunnerStopped command) {
    if (command.attempt() != runnerAttempt) {
      return Effect().noReply();
    }
    runner = null;
    if (state.finished()) {
      return Effect().noReply();
    }
    return Effect()
        .persist(
            new Failed(
                factory,
                number,
                "the build's runner stopped unexpectedly (see the log)",
                Instant.now()))
        .thenNoReply();
  }

  private void startRunner(State state, int attempt) {
    BuildSpec spec =
        new BuildSpec(factory, number, state.commit(), state.branch(), state.tag(), attempt);
    runnerAttempt = attempt;
    runner = ctx.spawn(BuildRunner.create(spec, ctx.getSelf(), runtime), "runner-" + attempt);
    ctx.watchWith(runner, new RunnerStopped(attempt));
  }

  private void stopRunner() {
    if (runner != null) {
      ctx.stop(runner);
    }
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }
}
