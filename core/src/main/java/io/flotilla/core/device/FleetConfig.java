package io.flotilla.core.device;

import io.flotilla.core.CborSerializable;
import io.flotilla.core.Limits;
import io.flotilla.core.Rejection;
import io.flotilla.core.TaggedEntity;
import io.flotilla.core.device.Device.ConfigFile;
import java.time.Instant;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
 * The config files a factory pushes to all its devices and to each device group (entity id =
 * factory). A device's {@code GET /config} merges factory → its group → its own files (Device
 * entity), later layers replacing same-named files.
 */
public final class FleetConfig
    extends TaggedEntity<FleetConfig.Command, FleetConfig.Event, FleetConfig.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY =
      EntityTypeKey.create(Command.class, "FleetConfig");
  public static final String TAG = "fleet-config";

  public sealed interface Command extends CborSerializable {}

  /** {@code group} null sets the factory-wide files; the files replace that layer whole. */
  public record SetFiles(
      String group,
      List<ConfigFile> files,
      String reason,
      Instant at,
      ActorRef<StatusReply<Layers>> replyTo)
      implements Command {}

  public record GetLayers(String group, ActorRef<Layers> replyTo) implements Command {}

  /** The factory layer and one group's layer; a missing layer is empty with a null time. */
  public record Layers(
      List<ConfigFile> factoryFiles,
      Instant factoryChangedAt,
      List<ConfigFile> groupFiles,
      Instant groupChangedAt)
      implements CborSerializable {}

  public sealed interface Event extends CborSerializable {}

  public record FilesSet(
      String factory, String group, List<ConfigFile> files, String reason, Instant at)
      implements Event {}

  public record Layer(List<ConfigFile> files, Instant changedAt) implements CborSerializable {}

  /** Layers by group; the factory layer under the empty string (group names are never empty). */
  public record State(Map<String, Layer> layers) implements CborSerializable {

    Layers layers(String group) {
      Layer factory = layers.get("");
      Layer grouped = group == null ? null : layers.get(group);
      return new Layers(
          factory == null ? List.of() : factory.files(),
          factory == null ? null : factory.changedAt(),
          grouped == null ? List.of() : grouped.files(),
          grouped == null ? null : grouped.changedAt());
    }

    State apply(Event event) {
      FilesSet set = (FilesSet) event;
      Map<String, Layer> next = new LinkedHashMap<>(layers);
      next.put(set.group() == null ? "" : set.group(), new Layer(set.files(), set.at()));
      return new State(next);
    }
  }

  public static void init(
      ActorSystem<?> system, ActorRef<Topic.Command<ConfigPublished>> configTopic) {
    ClusterSharding.get(system)
        .init(Entity.of(ENTITY_KEY, ctx -> new FleetConfig(ctx.getEntityId(), configTopic)));
  }

  public static FleetConfig create(
      String factory, ActorRef<Topic.Command<ConfigPublished>> configTopic) {
    return new FleetConfig(factory, configTopic);
  }

  private final String factory;
  private final ActorRef<Topic.Command<ConfigPublished>> configTopic;

  private FleetConfig(String factory, ActorRef<Topic.Command<ConfigPublished>> configTopic) {
    super(ENTITY_KEY, factory, TAG, 100);
    this.factory = factory;
    this.configTopic = configTopic;
  }

  @Override
  public State emptyState() {
    return new State(Map.of());
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(SetFiles.class, this::onSetFiles)
        .onCommand(
            GetLayers.class, (state, c) -> Effect().reply(c.replyTo(), state.layers(c.group())))
        .build();
  }

  private ReplyEffect<Event, State> onSetFiles(State state, SetFiles c) {
    if (c.group() != null && !Device.GROUP.matcher(c.group()).matches()) {
      return Effect()
          .reply(c.replyTo(), Rejection.invalid("group must match " + Device.GROUP.pattern()));
    }
    String problem = problem(c.files());
    if (problem == null) {
      problem = Limits.textProblem("reason", c.reason());
    }
    if (problem != null) {
      return Effect().reply(c.replyTo(), Rejection.invalid(problem));
    }
    return Effect()
        .persist(new FilesSet(factory, c.group(), List.copyOf(c.files()), c.reason(), c.at()))
        .thenRun(s -> configTopic.tell(Topic.publish(ConfigPublished.layer(factory, c.group()))))
        .thenReply(c.replyTo(), s -> StatusReply.success(s.layers(c.group())));
  }

  static String problem(List<ConfigFile> files) {
    if (files == null) {
      return "files are required";
    }
    if (files.size() > Device.MAX_CONFIG_FILES) {
      return "at most " + Device.MAX_CONFIG_FILES + " config files";
    }
    Set<String> names = new HashSet<>();
    long chars = 0;
    for (ConfigFile file : files) {
      if (file == null
          || file.name() == null
          || !Limits.CONFIG_FILE_NAME.matcher(file.name()).matches()) {
        return "a config file name must match " + Limits.CONFIG_FILE_NAME.pattern();
      }
      if (file.value() == null) {
        return "config file " + file.name() + " has no value";
      }
      if (!names.add(file.name())) {
        return "config file " + file.name() + " appears twice";
      }
      chars += file.value().length();
      if (chars > Limits.CONFIG_CHARS) {
        return "config file values add up to more than " + Limits.CONFIG_CHARS + " characters";
      }
      String handler = onChangedProblem(file);
      if (handler != null) {
        return handler;
      }
    }
    return null;
  }

  private static String onChangedProblem(ConfigFile file) {
    List<String> command = file.onChanged();
    if (command == null) {
      return null;
    }
    if (command.size() > Limits.ON_CHANGED_ARGS) {
      return "config file "
          + file.name()
          + ": on-changed has more than "
          + Limits.ON_CHANGED_ARGS
          + " arguments";
    }
    for (String argument : command) {
      if (argument == null
          || argument.length() > Limits.ON_CHANGED_ARG
          || argument.indexOf('\0') >= 0) {
        return "config file "
            + file.name()
            + ": an on-changed argument must be a string of at most "
            + Limits.ON_CHANGED_ARG
            + " characters without NUL";
      }
    }
    return null;
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }
}
