package io.flotilla.core.rollout;

import io.flotilla.core.CborSerializable;
import io.flotilla.core.Limits;
import io.flotilla.core.Rejection;
import io.flotilla.core.TaggedEntity;
import io.flotilla.core.rollout.RolloutQueries.Member;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * One staged rollout (entity id {@code <factory>/<id>}): a target version of a tag offered to the
 * tag's devices phase by phase. While it runs it counts its devices on the read side every {@code
 * flotilla.rollout.evaluate-interval} ({@link RolloutQueries#members}, one query whatever the
 * fleet's size) and decides: start the next phase when the current one succeeded, complete after
 * the last, halt at once when the error threshold is crossed or a phase runs out of time. Each
 * change publishes the rollout's {@link Gate} on {@link #TOPIC_NAME}, from which every node decides
 * what each device sees.
 */
public final class Rollout extends TaggedEntity<Rollout.Command, Rollout.Event, Rollout.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY =
      EntityTypeKey.create(Command.class, "Rollout");
  public static final String TAG = "rollout";
  public static final String TOPIC_NAME = "flotilla-rollout-changed";

  /** The principal of the decisions the rollout takes itself. */
  public static final String SELF = "rollout";

  public enum Status {
    RUNNING,
    PAUSED,
    HALTED,
    CANCELED,
    COMPLETED;

    public boolean finished() {
      return this == HALTED || this == CANCELED || this == COMPLETED;
    }

    public String wireName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  public static String entityId(String factory, String id) {
    return factory + "/" + id;
  }

  public sealed interface Command extends CborSerializable {}

  public record Create(
      String tag,
      long version,
      RolloutPlan plan,
      String by,
      Instant at,
      ActorRef<StatusReply<Summary>> replyTo)
      implements Command {}

  public record Pause(String by, Instant at, ActorRef<StatusReply<Summary>> replyTo)
      implements Command {}

  public record Resume(String by, Instant at, ActorRef<StatusReply<Summary>> replyTo)
      implements Command {}

  public record Cancel(String by, Instant at, ActorRef<StatusReply<Summary>> replyTo)
      implements Command {}

  public record Get(ActorRef<StatusReply<Summary>> replyTo) implements Command {}

  /** Sent by every node's {@link RolloutGates} keeper: a running rollout evaluates again. */
  public record Wake() implements Command {}

  record Tick() implements Command {}

  record Counted(List<Member> members) implements Command {}

  record CountFailed(String reason) implements Command {}

  /** The rollout as it stands; {@code gate} tells which devices see its target. */
  public record Summary(
      String factory,
      String id,
      String tag,
      long version,
      String status,
      RolloutPlan plan,
      int startedPhases,
      String haltReason,
      boolean rolledBack,
      Instant thresholdCrossedAt,
      Instant haltedAt,
      String createdBy,
      Instant createdAt,
      Instant updatedAt,
      Gate gate)
      implements CborSerializable {}

  public sealed interface Event extends CborSerializable {
    String factory();

    String id();

    /** Who did it: the operator's principal, or {@link #SELF} for the rollout's own decisions. */
    String by();

    Instant at();
  }

  public record Created(
      String factory, String id, String tag, long version, RolloutPlan plan, String by, Instant at)
      implements Event {}

  /** {@code limit}: the phase's bucket bound (count and percent phases), fixed from then on. */
  public record PhaseStarted(
      String factory, String id, int index, long limit, String by, Instant at) implements Event {}

  public record Paused(String factory, String id, String by, Instant at) implements Event {}

  public record Resumed(String factory, String id, String by, Instant at) implements Event {}

  public record Canceled(String factory, String id, String by, Instant at) implements Event {}

  /**
   * {@code thresholdCrossedAt}: when the server received the failure that crossed the error
   * threshold (null for a phase that ran out of time).
   */
  public record Halted(
      String factory,
      String id,
      String reason,
      boolean rolledBack,
      Instant thresholdCrossedAt,
      String by,
      Instant at)
      implements Event {}

  public record Completed(String factory, String id, String by, Instant at) implements Event {}

  public record State(
      String factory,
      String id,
      String tag,
      long version,
      RolloutPlan plan,
      Status status,
      List<Long> limits,
      Instant phaseStartedAt,
      String haltReason,
      boolean rolledBack,
      Instant thresholdCrossedAt,
      Instant haltedAt,
      long revision,
      String createdBy,
      Instant createdAt,
      Instant updatedAt)
      implements CborSerializable {

    static final State EMPTY =
        new State(
            null, null, null, 0, null, null, List.of(), null, null, false, null, null, 0, null,
            null, null);

    public boolean exists() {
      return factory != null;
    }

    public int started() {
      return limits.size();
    }

    public Gate gate() {
      return new Gate(
          factory, id, tag, version, status, plan.phases(), limits, rolledBack, revision);
    }

    public Summary summary() {
      return new Summary(
          factory,
          id,
          tag,
          version,
          status.wireName(),
          plan,
          started(),
          haltReason,
          rolledBack,
          thresholdCrossedAt,
          haltedAt,
          createdBy,
          createdAt,
          updatedAt,
          gate());
    }

    State apply(Event event) {
      long next = revision + 1;
      if (event instanceof Created c) {
        return new State(
            c.factory(),
            c.id(),
            c.tag(),
            c.version(),
            c.plan(),
            Status.RUNNING,
            List.of(),
            c.at(),
            null,
            false,
            null,
            null,
            next,
            c.by(),
            c.at(),
            c.at());
      }
      Status status = this.status;
      List<Long> limits = this.limits;
      Instant phaseStartedAt = this.phaseStartedAt;
      String haltReason = this.haltReason;
      boolean rolledBack = this.rolledBack;
      Instant crossedAt = this.thresholdCrossedAt;
      Instant haltedAt = this.haltedAt;
      if (event instanceof PhaseStarted p) {
        List<Long> grown = new ArrayList<>(limits);
        grown.add(p.limit());
        limits = List.copyOf(grown);
        phaseStartedAt = p.at();
      } else if (event instanceof Paused) {
        status = Status.PAUSED;
      } else if (event instanceof Resumed r) {
        status = Status.RUNNING;
        phaseStartedAt = r.at();
      } else if (event instanceof Canceled) {
        status = Status.CANCELED;
      } else if (event instanceof Halted h) {
        status = Status.HALTED;
        haltReason = h.reason();
        rolledBack = h.rolledBack();
        crossedAt = h.thresholdCrossedAt();
        haltedAt = h.at();
      } else if (event instanceof Completed) {
        status = Status.COMPLETED;
      } else {
        throw new IllegalStateException("unknown event " + event);
      }
      return new State(
          factory,
          id,
          tag,
          version,
          plan,
          status,
          limits,
          phaseStartedAt,
          haltReason,
          rolledBack,
          crossedAt,
          haltedAt,
          next,
          createdBy,
          createdAt,
          event.at());
    }
  }

  /** What every Rollout entity of a node shares. */
  public record Dependencies(
      RolloutQueries queries, ActorRef<Topic.Command<Gate>> topic, Duration evaluateInterval) {}

  public static void init(ActorSystem<?> system, Dependencies dependencies) {
    ClusterSharding.get(system)
        .init(Entity.of(ENTITY_KEY, ctx -> create(ctx.getEntityId(), dependencies)));
  }

  public static Behavior<Command> create(String entityId, Dependencies dependencies) {
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(timers -> new Rollout(entityId, dependencies, context, timers)));
  }

  private final String entityId;
  private final Dependencies dependencies;
  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private boolean counting;

  private Rollout(
      String entityId,
      Dependencies dependencies,
      ActorContext<Command> context,
      TimerScheduler<Command> timers) {
    super(ENTITY_KEY, entityId, TAG, 100);
    this.entityId = entityId;
    this.dependencies = dependencies;
    this.context = context;
    this.timers = timers;
  }

  @Override
  public State emptyState() {
    return State.EMPTY;
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), this::evaluateWhileRunning)
        .build();
  }

  private void evaluateWhileRunning(State state) {
    if (state.exists() && state.status() == Status.RUNNING) {
      if (!timers.isTimerActive("evaluate")) {
        timers.startTimerWithFixedDelay("evaluate", new Tick(), dependencies.evaluateInterval());
      }
    } else {
      timers.cancel("evaluate");
    }
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(Create.class, this::onCreate)
        .onCommand(Pause.class, this::onPause)
        .onCommand(Resume.class, this::onResume)
        .onCommand(Cancel.class, this::onCancel)
        .onCommand(
            Get.class,
            (state, c) ->
                Effect()
                    .reply(
                        c.replyTo(),
                        state.exists() ? StatusReply.success(state.summary()) : notFound()))
        .onCommand(
            Wake.class,
            (state, c) -> {
              evaluateWhileRunning(state);
              return Effect().noReply();
            })
        .onCommand(Tick.class, this::onTick)
        .onCommand(Counted.class, this::onCounted)
        .onCommand(
            CountFailed.class,
            (state, c) -> {
              counting = false;
              context
                  .getLog()
                  .warn("rollout {} cannot count its devices: {}", entityId, c.reason());
              return Effect().noReply();
            })
        .build();
  }

  private <T> StatusReply<T> notFound() {
    return Rejection.notFound("no rollout " + entityId);
  }

  private ReplyEffect<Event, State> onCreate(State state, Create c) {
    if (state.exists()) {
      return Effect()
          .reply(c.replyTo(), Rejection.conflict("rollout " + entityId + " already exists"));
    }
    String id = entityId.substring(entityId.indexOf('/') + 1);
    String factory = entityId.substring(0, entityId.indexOf('/'));
    String problem = null;
    if (!Limits.ROLLOUT_ID.matcher(id).matches()) {
      problem = "rollout id must match " + Limits.ROLLOUT_ID.pattern();
    } else if (c.tag() == null || !Limits.DEVICE_TAG.matcher(c.tag()).matches()) {
      problem = "tag must match " + Limits.DEVICE_TAG.pattern();
    } else if (c.version() < 1 || c.version() > Limits.MAX_VERSION) {
      problem = "version must be an integer from 1 to " + Limits.MAX_VERSION;
    } else if (c.plan() == null) {
      problem = "a plan is needed";
    } else {
      problem = c.plan().problem();
    }
    if (problem != null) {
      return Effect().reply(c.replyTo(), Rejection.invalid(problem));
    }
    return Effect()
        .persist(new Created(factory, id, c.tag(), c.version(), c.plan(), c.by(), c.at()))
        .thenRun(this::published)
        .thenReply(c.replyTo(), s -> StatusReply.success(s.summary()));
  }

  private ReplyEffect<Event, State> onPause(State state, Pause c) {
    if (!state.exists()) {
      return Effect().reply(c.replyTo(), notFound());
    }
    if (state.status() == Status.PAUSED) {
      return Effect().reply(c.replyTo(), StatusReply.success(state.summary()));
    }
    if (state.status() != Status.RUNNING) {
      return Effect()
          .reply(c.replyTo(), Rejection.conflict("rollout is " + state.status().wireName()));
    }
    return Effect()
        .persist(new Paused(state.factory(), state.id(), c.by(), c.at()))
        .thenRun(this::published)
        .thenReply(c.replyTo(), s -> StatusReply.success(s.summary()));
  }

  private ReplyEffect<Event, State> onResume(State state, Resume c) {
    if (!state.exists()) {
      return Effect().reply(c.replyTo(), notFound());
    }
    if (state.status() == Status.RUNNING) {
      return Effect().reply(c.replyTo(), StatusReply.success(state.summary()));
    }
    if (state.status() != Status.PAUSED) {
      return Effect()
          .reply(c.replyTo(), Rejection.conflict("rollout is " + state.status().wireName()));
    }
    return Effect()
        .persist(new Resumed(state.factory(), state.id(), c.by(), c.at()))
        .thenRun(this::published)
        .thenReply(c.replyTo(), s -> StatusReply.success(s.summary()));
  }

  private ReplyEffect<Event, State> onCancel(State state, Cancel c) {
    if (!state.exists()) {
      return Effect().reply(c.replyTo(), notFound());
    }
    if (state.status() == Status.CANCELED) {
      return Effect().reply(c.replyTo(), StatusReply.success(state.summary()));
    }
    if (state.status().finished()) {
      return Effect()
          .reply(c.replyTo(), Rejection.conflict("rollout is " + state.status().wireName()));
    }
    return Effect()
        .persist(new Canceled(state.factory(), state.id(), c.by(), c.at()))
        .thenRun(this::published)
        .thenReply(c.replyTo(), s -> StatusReply.success(s.summary()));
  }

  private ReplyEffect<Event, State> onTick(State state, Tick c) {
    if (!state.exists() || state.status() != Status.RUNNING) {
      timers.cancel("evaluate");
      return Effect().noReply();
    }
    if (counting) {
      return Effect().noReply();
    }
    counting = true;
    context.pipeToSelf(
        dependencies
            .queries()
            .members(state.factory(), state.tag(), state.version(), state.plan().needsLabels()),
        (members, failure) ->
            failure == null
                ? new Counted(members)
                : new CountFailed(String.valueOf(failure.getMessage())));
    return Effect().noReply();
  }

  /**
   * The decision: the first phase starts at the first count (a count phase needs the devices to fix
   * its bound); the error threshold halts whatever the phase; a phase that reached its success
   * share starts the next or completes the rollout; one past its time halts.
   */
  private ReplyEffect<Event, State> onCounted(State state, Counted c) {
    counting = false;
    if (!state.exists() || state.status() != Status.RUNNING) {
      return Effect().noReply();
    }
    Instant now = Instant.now();
    if (state.started() == 0) {
      return persistAll(List.of(startPhase(state, 0, c.members(), now)));
    }
    RolloutProgress progress = RolloutProgress.of(state.gate(), state.plan(), c.members());
    if (progress.thresholdCrossedAt() != null) {
      String reason =
          progress.failed()
              + " of "
              + progress.reached()
              + " devices failed (error threshold "
              + RolloutProgress.errorThreshold(state.plan(), progress.reached())
              + ")";
      return persistAll(
          List.of(
              new Halted(
                  state.factory(),
                  state.id(),
                  reason,
                  state.plan().rollback(),
                  progress.thresholdCrossedAt(),
                  SELF,
                  now)));
    }
    int current = state.started() - 1;
    RolloutPlan.Phase phase = state.plan().phases().get(current);
    RolloutProgress.PhaseProgress counts = progress.phases().get(current);
    boolean timeUp = now.isAfter(state.phaseStartedAt().plusSeconds(phase.successWithinSeconds()));
    boolean succeeded =
        counts.targeted() == 0
            ? timeUp
            : (double) counts.updated() / counts.targeted() >= phase.successShare();
    if (succeeded) {
      if (current + 1 == state.plan().phases().size()) {
        return persistAll(List.of(new Completed(state.factory(), state.id(), SELF, now)));
      }
      return persistAll(List.of(startPhase(state, current + 1, c.members(), now)));
    }
    if (timeUp) {
      String reason =
          "phase "
              + phase.name()
              + " reached "
              + counts.updated()
              + " of "
              + counts.targeted()
              + " devices updated in "
              + phase.successWithinSeconds()
              + " s, below its success share "
              + phase.successShare();
      return persistAll(
          List.of(
              new Halted(
                  state.factory(), state.id(), reason, state.plan().rollback(), null, SELF, now)));
    }
    return Effect().noReply();
  }

  /**
   * A count phase takes the {@code count} devices with the lowest buckets among those no earlier
   * phase selects; its bound is fixed here, so devices joining later with a lower bucket are in it
   * too.
   */
  static PhaseStarted startPhase(State state, int index, List<Member> members, Instant now) {
    RolloutPlan.Phase phase = state.plan().phases().get(index);
    long limit = 0;
    if (phase.percent() != null) {
      limit = RolloutPlan.percentLimit(phase.percent());
    } else if (phase.count() != null) {
      Gate gate = state.gate();
      List<Long> buckets = new ArrayList<>();
      for (Member member : members) {
        if (gate.phaseOf(member.uuid(), member.group(), member.labels(), index) < 0) {
          buckets.add(Gate.bucket(state.id(), member.uuid()));
        }
      }
      buckets.sort(null);
      limit = buckets.size() <= phase.count() ? Gate.BUCKETS : buckets.get(phase.count() - 1) + 1;
    }
    return new PhaseStarted(state.factory(), state.id(), index, limit, SELF, now);
  }

  private ReplyEffect<Event, State> persistAll(List<Event> events) {
    return Effect().persist(events).thenRun(this::published).thenNoReply();
  }

  private void published(State state) {
    dependencies.topic().tell(Topic.publish(state.gate()));
    evaluateWhileRunning(state);
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }
}
