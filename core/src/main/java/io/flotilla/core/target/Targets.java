package io.flotilla.core.target;

import io.flotilla.core.CborSerializable;
import io.flotilla.core.Limits;
import io.flotilla.core.Rejection;
import io.flotilla.core.TaggedEntity;
import io.flotilla.protocol.composeapp.AppUri;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;

/**
 * The ordered target list of one factory (entity id = factory name). Every change is published on
 * the {@link TargetsChanged} topic so that each node's {@link TargetsCache} and connected devices
 * learn of it.
 */
public final class Targets extends TaggedEntity<Targets.Command, Targets.Event, Targets.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY =
      EntityTypeKey.create(Command.class, "Targets");
  public static final String TAG = "targets";
  public static final int MAX_APPS = Limits.TARGET_APPS;
  public static final int MAX_TAGS = Limits.TARGET_TAGS;
  public static final java.util.regex.Pattern SHA = Limits.COMMIT;

  public sealed interface Command extends CborSerializable {}

  /** Adds one target per hardware id, all or none; the version is the next one when not given. */
  public record Add(
      List<String> hardwareIds,
      Long version,
      List<String> tags,
      Map<String, String> apps,
      String containersSha,
      ActorRef<StatusReply<Added>> replyTo)
      implements Command {}

  public record Added(List<Target> targets) implements CborSerializable {}

  public record SetTags(String name, List<String> tags, ActorRef<StatusReply<Target>> replyTo)
      implements Command {}

  /**
   * Removes one target for good (as {@code fioctl targets prune}); its name and version are never
   * issued again.
   */
  public record Prune(String name, ActorRef<StatusReply<Target>> replyTo) implements Command {}

  /** {@code tag} null lists every target. */
  public record ListTargets(String tag, ActorRef<TargetList> replyTo) implements Command {}

  /**
   * A tag's targets. {@code tagVersion} is the TUF {@code signed.version} (it grows whenever the
   * set of that tag's targets changes); {@code revision} orders snapshots of the whole list, for
   * cache invalidation.
   */
  public record TargetList(
      String factory, String tag, long tagVersion, long revision, List<Target> targets)
      implements CborSerializable {}

  public sealed interface Event extends CborSerializable {
    String factory();
  }

  public record TargetAdded(String factory, Target target) implements Event {}

  public record TargetTagsSet(String factory, String name, List<String> tags, Instant setAt)
      implements Event {}

  public record TargetPruned(String factory, String name, Instant prunedAt) implements Event {}

  /**
   * {@code highestVersion} and {@code pruned} outlive pruning so that no version or name is issued
   * twice; snapshots taken before pruning existed lack both (0 and null), and {@link #maxVersion()}
   * still covers the live targets.
   */
  public record State(
      Map<String, Target> targets,
      Map<String, Long> tagVersions,
      long revision,
      long highestVersion,
      Set<String> pruned)
      implements CborSerializable {

    public State {
      pruned = pruned == null ? Set.of() : pruned;
    }

    long maxVersion() {
      return Math.max(
          highestVersion, targets.values().stream().mapToLong(Target::version).max().orElse(0));
    }

    TargetList list(String factory, String tag) {
      List<Target> selected = new ArrayList<>();
      for (Target target : targets.values()) {
        if (tag == null || target.hasTag(tag)) {
          selected.add(target);
        }
      }
      long tagVersion = tag == null ? revision : tagVersions.getOrDefault(tag, 0L);
      return new TargetList(factory, tag, tagVersion, revision, List.copyOf(selected));
    }

    State apply(Event event) {
      Map<String, Target> next = new LinkedHashMap<>(targets);
      Map<String, Long> versions = new HashMap<>(tagVersions);
      Set<String> gone = pruned;
      Set<String> touched;
      if (event instanceof TargetAdded added) {
        next.put(added.target().name(), added.target());
        touched = new HashSet<>(added.target().tags());
      } else if (event instanceof TargetPruned prune) {
        Target old = next.remove(prune.name());
        touched = new HashSet<>(old.tags());
        Set<String> names = new HashSet<>(pruned);
        names.add(prune.name());
        gone = Set.copyOf(names);
      } else if (event instanceof TargetTagsSet set) {
        Target old = next.get(set.name());
        next.put(set.name(), old.withTags(set.tags()));
        touched = new HashSet<>(old.tags());
        touched.addAll(set.tags());
        touched.removeIf(t -> old.tags().contains(t) && set.tags().contains(t));
      } else {
        throw new IllegalStateException("unknown event " + event);
      }
      touched.forEach(tag -> versions.merge(tag, 1L, Long::sum));
      long highest =
          Math.max(maxVersion(), next.values().stream().mapToLong(Target::version).max().orElse(0));
      return new State(next, Map.copyOf(versions), revision + 1, highest, gone);
    }
  }

  /**
   * What a change touched; subscribers drop cached lists of these tags and push to devices
   * following them.
   */
  public record TargetsChanged(String factory, Set<String> tags, long revision)
      implements CborSerializable {}

  public static final String TOPIC_NAME = "flotilla-targets-changed";

  public static void init(ActorSystem<?> system, ActorRef<Topic.Command<TargetsChanged>> topic) {
    ClusterSharding.get(system)
        .init(Entity.of(ENTITY_KEY, ctx -> create(ctx.getEntityId(), topic)));
  }

  public static Targets create(String factory, ActorRef<Topic.Command<TargetsChanged>> topic) {
    return new Targets(factory, topic);
  }

  private final String factory;
  private final ActorRef<Topic.Command<TargetsChanged>> topic;

  private Targets(String factory, ActorRef<Topic.Command<TargetsChanged>> topic) {
    super(ENTITY_KEY, factory, TAG, 100);
    this.factory = factory;
    this.topic = topic;
  }

  @Override
  public State emptyState() {
    return new State(Map.of(), Map.of(), 0, 0, Set.of());
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(Add.class, this::onAdd)
        .onCommand(SetTags.class, this::onSetTags)
        .onCommand(Prune.class, this::onPrune)
        .onCommand(
            ListTargets.class,
            (state, c) -> Effect().reply(c.replyTo(), state.list(factory, c.tag())))
        .build();
  }

  private ReplyEffect<Event, State> onAdd(State state, Add command) {
    if (command.hardwareIds() == null || command.hardwareIds().isEmpty()) {
      return Effect()
          .reply(command.replyTo(), Rejection.invalid("at least one hardware id is needed"));
    }
    String hardwareIdProblem =
        Limits.listProblem(
            "hardware ids", command.hardwareIds(), Limits.PLATFORMS, Limits.PLATFORM);
    if (hardwareIdProblem != null) {
      return Effect().reply(command.replyTo(), Rejection.invalid(hardwareIdProblem));
    }
    if (command.version() == null && state.maxVersion() >= Limits.MAX_VERSION) {
      return Effect()
          .reply(
              command.replyTo(),
              Rejection.conflict(
                  "the factory has used every version up to " + Limits.MAX_VERSION + "; give one"));
    }
    long version = command.version() == null ? state.maxVersion() + 1 : command.version();
    if (version < 1 || version > Limits.MAX_VERSION) {
      return Effect().reply(command.replyTo(), Rejection.invalid(versionProblem()));
    }
    String tagProblem = tagProblem(command.tags());
    if (tagProblem != null) {
      return Effect().reply(command.replyTo(), Rejection.invalid(tagProblem));
    }
    Map<String, String> apps = command.apps() == null ? Map.of() : command.apps();
    if (apps.size() > MAX_APPS) {
      return Effect()
          .reply(
              command.replyTo(), Rejection.invalid("a target holds at most " + MAX_APPS + " apps"));
    }
    for (Map.Entry<String, String> app : apps.entrySet()) {
      if (app.getKey() == null || !Limits.APP_NAME.matcher(app.getKey()).matches()) {
        return Effect()
            .reply(
                command.replyTo(),
                Rejection.invalid(
                    "app name '"
                        + Limits.shortened(app.getKey())
                        + "' must match "
                        + Limits.APP_NAME.pattern()));
      }
      if (app.getValue() != null && app.getValue().length() > Limits.APP_URI) {
        return Effect()
            .reply(
                command.replyTo(),
                Rejection.invalid(
                    "app '"
                        + app.getKey()
                        + "' has a uri longer than "
                        + Limits.APP_URI
                        + " characters"));
      }
      AppUri uri;
      try {
        uri = AppUri.parse(app.getValue());
      } catch (IllegalArgumentException e) {
        return Effect().reply(command.replyTo(), Rejection.invalid(e.getMessage()));
      }
      if (!uri.app().equals(app.getKey())) {
        return Effect()
            .reply(
                command.replyTo(),
                Rejection.invalid(
                    "app '" + app.getKey() + "' has the uri of app '" + uri.app() + "'"));
      }
      if (!uri.factory().equals(factory)) {
        return Effect()
            .reply(
                command.replyTo(),
                Rejection.invalid("app '" + app.getKey() + "' is not in factory " + factory));
      }
    }
    if (command.containersSha() != null && !SHA.matcher(command.containersSha()).matches()) {
      return Effect()
          .reply(
              command.replyTo(), Rejection.invalid("containers sha must be a git commit id (hex)"));
    }
    Instant now = Instant.now();
    List<Event> events = new ArrayList<>();
    List<Target> added = new ArrayList<>();
    for (String hardwareId : new TreeSet<>(command.hardwareIds())) {
      String name = Target.name(hardwareId, version);
      if (state.targets().containsKey(name)) {
        return Effect()
            .reply(command.replyTo(), Rejection.conflict("target " + name + " already exists"));
      }
      if (state.pruned().contains(name)) {
        return Effect()
            .reply(
                command.replyTo(),
                Rejection.conflict(
                    "target " + name + " was pruned; its version is not issued again"));
      }
      Target target =
          new Target(
              name,
              hardwareId,
              version,
              List.copyOf(new TreeSet<>(command.tags())),
              new TreeMap<>(apps),
              command.containersSha(),
              now);
      added.add(target);
      events.add(new TargetAdded(factory, target));
    }
    Set<String> tags = new TreeSet<>(command.tags());
    return Effect()
        .persist(events)
        .thenRun(s -> topic.tell(Topic.publish(new TargetsChanged(factory, tags, s.revision()))))
        .thenReply(command.replyTo(), s -> StatusReply.success(new Added(List.copyOf(added))));
  }

  private ReplyEffect<Event, State> onSetTags(State state, SetTags command) {
    Target target = state.targets().get(command.name());
    if (target == null) {
      return Effect().reply(command.replyTo(), Rejection.notFound("no target " + command.name()));
    }
    String tagProblem = tagProblem(command.tags());
    if (tagProblem != null) {
      return Effect().reply(command.replyTo(), Rejection.invalid(tagProblem));
    }
    List<String> tags = List.copyOf(new TreeSet<>(command.tags()));
    if (tags.equals(target.tags())) {
      return Effect().reply(command.replyTo(), StatusReply.success(target));
    }
    Set<String> touched = new TreeSet<>(target.tags());
    touched.addAll(tags);
    return Effect()
        .persist(new TargetTagsSet(factory, command.name(), tags, Instant.now()))
        .thenRun(s -> topic.tell(Topic.publish(new TargetsChanged(factory, touched, s.revision()))))
        .thenReply(command.replyTo(), s -> StatusReply.success(s.targets().get(command.name())));
  }

  public static String versionProblem() {
    return "version must be an integer from 1 to " + Limits.MAX_VERSION;
  }

  private ReplyEffect<Event, State> onPrune(State state, Prune command) {
    Target target = state.targets().get(command.name());
    if (target == null) {
      return Effect().reply(command.replyTo(), Rejection.notFound("no target " + command.name()));
    }
    Set<String> touched = new TreeSet<>(target.tags());
    return Effect()
        .persist(new TargetPruned(factory, command.name(), Instant.now()))
        .thenRun(s -> topic.tell(Topic.publish(new TargetsChanged(factory, touched, s.revision()))))
        .thenReply(command.replyTo(), s -> StatusReply.success(target));
  }

  private static String tagProblem(List<String> tags) {
    if (tags == null || tags.isEmpty()) {
      return "at least one tag is needed";
    }
    return Limits.listProblem("tags", tags, MAX_TAGS, Limits.BRANCH_OR_TAG);
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }
}
