package io.flotilla.core.device;

import io.flotilla.core.CborSerializable;
import io.flotilla.core.Limits;
import io.flotilla.core.Rejection;
import io.flotilla.core.TaggedEntity;
import io.flotilla.protocol.oci.Digest;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;

/**
 * One device (entity id = its uuid, the CN of its certificate): registration, what it runs, its
 * updates and reports. Device-port requests arrive as commands carrying a {@link Contact}; a
 * contact that changes nothing persists nothing, and the time of the last contact is persisted at
 * most once per {@link DeviceSettings#lastSeenPersistInterval()} — idle fleets must not write to
 * the database.
 */
public final class Device extends TaggedEntity<Device.Command, Device.Event, Device.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY =
      EntityTypeKey.create(Command.class, "Device");
  public static final String TAG_PREFIX = "device-";
  public static final String REVOKED_TOPIC_NAME = "flotilla-device-revoked";

  public static final Pattern UUID = Limits.DEVICE_UUID;
  public static final Pattern CORRELATION_ID = Limits.CORRELATION_ID;
  public static final Pattern NAME = Limits.DEVICE_NAME;
  public static final Pattern GROUP = Limits.GROUP;
  public static final Pattern TAG = Limits.DEVICE_TAG;
  public static final Pattern APP = Limits.DEVICE_APP;
  public static final int MAX_DETAILS = Limits.EVENT_DETAILS;

  /**
   * Updates kept in the entity (for duplicate detection and derived state); the read side keeps
   * them all.
   */
  public static final int MAX_UPDATES_KEPT = 20;

  public static final int MAX_EVENTS_PER_UPDATE = Limits.EVENTS_PER_UPDATE;
  public static final int MAX_APPS = Limits.DEVICE_APPS;
  public static final int MAX_CONFIG_FILES = Limits.CONFIG_FILES;
  public static final String METADATA_UPDATE_COMPLETED = "MetadataUpdateCompleted";
  public static final String METADATA_CORRELATION_PREFIX = "meta-";

  /**
   * What a device-port request says about its sender: the identity from its verified certificate,
   * the {@code x-ats-*} headers (null when absent, which means "unchanged") and when it arrived.
   */
  public record Contact(
      String factory,
      boolean production,
      String certificateSerial,
      String publicKeyPem,
      String tag,
      String targetName,
      List<String> apps,
      Instant at)
      implements CborSerializable {}

  /** One element of {@code POST /events}, as stored. */
  public record UpdateEvent(
      String id,
      String deviceTime,
      String type,
      int typeVersion,
      String correlationId,
      Boolean success,
      String targetName,
      String version,
      String details)
      implements CborSerializable {}

  /** {@code POST /apps-states}; {@code appsJson} is the {@code apps} object as JSON text. */
  public record AppsStates(String ostree, String deviceTime, String appsJson)
      implements CborSerializable {

    boolean sameReportAs(AppsStates other) {
      return other != null
          && Objects.equals(ostree, other.ostree)
          && Objects.equals(appsJson, other.appsJson);
    }
  }

  public enum SystemInfoKind {
    HARDWARE,
    NETWORK,
    CONFIG
  }

  /**
   * A fioconfig file: {@code onChanged} is the handler command run on the device when the file
   * changes.
   */
  public record ConfigFile(String name, String value, boolean unencrypted, List<String> onChanged)
      implements CborSerializable {}

  public enum UpdateState {
    IN_PROGRESS("in-progress"),
    SUCCEEDED("succeeded"),
    FAILED("failed");

    private final String wireName;

    UpdateState(String wireName) {
      this.wireName = wireName;
    }

    public String wireName() {
      return wireName;
    }
  }

  /** The events of one correlation id, with the outcome derived from them. */
  public record Update(
      String correlationId,
      String targetName,
      String version,
      List<UpdateEvent> events,
      Instant firstReportedAt,
      Instant lastReportedAt)
      implements CborSerializable {

    public UpdateState state() {
      return outcome(events).state();
    }

    Update with(UpdateEvent event, Instant at) {
      List<UpdateEvent> next = new ArrayList<>(events);
      next.add(event);
      return new Update(
          correlationId,
          event.targetName() != null ? event.targetName() : targetName,
          event.version() != null ? event.version() : version,
          List.copyOf(next),
          firstReportedAt,
          at);
    }
  }

  /**
   * fioup reports every change of the targets metadata version, its first check included, as {@code
   * MetadataUpdateCompleted} under a correlation id of its own, {@code meta-<ULID>} ({@code
   * pkg/state/check.go}, {@code sendMetadataUpdateCompletedEvent}). Such an event tells what the
   * device last read, not that it updates: it stays in the journal with the device's other events
   * and never becomes an {@link Update}.
   */
  public static boolean isMetadataEvent(UpdateEvent event) {
    return METADATA_UPDATE_COMPLETED.equals(event.type())
        || event.correlationId().startsWith(METADATA_CORRELATION_PREFIX);
  }

  /** An update made only of metadata events: what the entity made of them before it knew better. */
  static boolean isMetadataUpdate(Update update) {
    for (UpdateEvent event : update.events()) {
      if (!isMetadataEvent(event)) {
        return false;
      }
    }
    return !update.events().isEmpty();
  }

  /**
   * @param failedStep the event type that reported {@code success: false}, else null
   */
  public record Outcome(UpdateState state, String failedStep) {}

  /**
   * The last update that failed on the device and why: the step that reported {@code success:
   * false} (its event type), the reason from that event's details ({@link #reasonOf}) and when the
   * server received it. An automatic rollback is an update of its own, so the failure it undid
   * stays here after the rollback succeeded.
   */
  public record Failure(
      String correlationId, String targetName, String step, String reason, Instant at)
      implements CborSerializable {}

  /** The failure of an update, or null when no step of it failed. */
  public static Failure failureOf(
      String correlationId, String targetName, List<UpdateEvent> events, Instant at) {
    for (UpdateEvent event : events) {
      if (Boolean.FALSE.equals(event.success())) {
        return new Failure(
            correlationId,
            event.targetName() != null ? event.targetName() : targetName,
            event.type(),
            reasonOf(event.details()),
            at);
      }
    }
    return null;
  }

  private static final com.fasterxml.jackson.databind.ObjectMapper DETAILS_JSON =
      new com.fasterxml.jackson.databind.ObjectMapper();

  /**
   * The reason in a failed event's details: agents (ours and fioup) send {@code {"error": "..."}},
   * ours {@code {"canceled": "..."}} for a canceled update; other details are shown as sent.
   */
  public static String reasonOf(String details) {
    if (details == null || details.isBlank()) {
      return null;
    }
    try {
      com.fasterxml.jackson.databind.JsonNode node = DETAILS_JSON.readTree(details);
      if (node != null && node.isObject()) {
        if (node.path("error").isTextual()) {
          return node.get("error").asText();
        }
        if (node.path("canceled").isTextual()) {
          return "canceled: " + node.get("canceled").asText();
        }
      }
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      return details;
    }
    return details;
  }

  /**
   * Failed as soon as any step reports failure; succeeded once the installation completed
   * successfully.
   */
  public static Outcome outcome(List<UpdateEvent> events) {
    boolean installed = false;
    for (UpdateEvent event : events) {
      if (Boolean.FALSE.equals(event.success())) {
        return new Outcome(UpdateState.FAILED, event.type());
      }
      if ("EcuInstallationCompleted".equals(event.type()) && Boolean.TRUE.equals(event.success())) {
        installed = true;
      }
    }
    return new Outcome(installed ? UpdateState.SUCCEEDED : UpdateState.IN_PROGRESS, null);
  }

  public sealed interface Command extends CborSerializable {}

  /**
   * Registration through the API ({@code POST /ota/devices/}); a second one for the uuid is a
   * conflict.
   */
  public record Register(
      String factory,
      String name,
      String hardwareId,
      String group,
      String tag,
      boolean production,
      String certificateSerial,
      String publicKeyPem,
      Instant at,
      ActorRef<StatusReply<Summary>> replyTo)
      implements Command {}

  /**
   * Any device-port request: creates the device on first contact, records headers, counts as seen.
   */
  public record CheckIn(Contact contact, ActorRef<StatusReply<Summary>> replyTo)
      implements Command {}

  /** {@code POST /events}, already filtered to well-formed events. */
  public record ReportUpdateEvents(
      Contact contact, List<UpdateEvent> events, ActorRef<StatusReply<Summary>> replyTo)
      implements Command {}

  public record ReportAppsStates(
      Contact contact, AppsStates appsStates, ActorRef<StatusReply<Summary>> replyTo)
      implements Command {}

  public record ReportSystemInfo(
      Contact contact, SystemInfoKind kind, String content, ActorRef<StatusReply<Summary>> replyTo)
      implements Command {}

  /**
   * {@code PATCH /config} from the device: the files are added to (or replace same-named files in)
   * its config.
   */
  public record PatchConfig(
      Contact contact,
      List<ConfigFile> files,
      String reason,
      ActorRef<StatusReply<Summary>> replyTo)
      implements Command {}

  /** The operator's device-level config: replaces every file. */
  public record ReplaceConfig(
      String factory,
      List<ConfigFile> files,
      String reason,
      Instant at,
      ActorRef<StatusReply<Summary>> replyTo)
      implements Command {}

  /**
   * The operator's changes, stored together or not at all; null fields stay as they are. {@code
   * labels} replace every label the device had; {@code file} replaces the config file of its name
   * (how the gateway sets a device's tag).
   */
  public record Change(
      String factory,
      String name,
      String group,
      Map<String, String> labels,
      FileChange file,
      Instant at,
      ActorRef<StatusReply<Summary>> replyTo)
      implements Command {

    public Change(
        String factory,
        String name,
        String group,
        Instant at,
        ActorRef<StatusReply<Summary>> replyTo) {
      this(factory, name, group, null, null, at, replyTo);
    }
  }

  /** One config file put in place of the same-named one, and why (shown in the config history). */
  public record FileChange(ConfigFile file, String reason) {}

  public record Decommission(String factory, Instant at, ActorRef<StatusReply<Done>> replyTo)
      implements Command {}

  /**
   * Sharding's stop message when it passivates the entity. Giving one spares every entity the
   * interceptor that sharding otherwise wraps around it to turn its poison pill into a stop (~100
   * bytes an entity); like the poison pill it waits behind any persist in progress.
   */
  public record Passivate() implements Command {}

  /** The device as this entity knows it now, including the last contact not yet persisted. */
  public record Get(String factory, ActorRef<StatusReply<Summary>> replyTo) implements Command {}

  public record Summary(
      String uuid,
      String factory,
      String name,
      String hardwareId,
      String group,
      String tag,
      boolean production,
      String targetName,
      List<String> apps,
      Instant createdAt,
      Instant lastSeen,
      Instant decommissionedAt,
      List<ConfigFile> config,
      Instant configChangedAt,
      String currentUpdate,
      UpdateState currentUpdateState,
      Failure lastFailure,
      Map<String, String> labels)
      implements CborSerializable {}

  public sealed interface Event extends CborSerializable {
    String uuid();

    String factory();

    Instant at();
  }

  /**
   * {@code firstContact}: created by a device's first request rather than by registration through
   * the API.
   */
  public record Registered(
      String uuid,
      String factory,
      String name,
      String hardwareId,
      String group,
      String tag,
      boolean production,
      String certificateSerial,
      String publicKeyPem,
      boolean firstContact,
      Instant at)
      implements Event {}

  /** What the device said it follows and runs ({@code x-ats-*} headers), whole, after a change. */
  public record StatusReported(
      String uuid, String factory, String tag, String targetName, List<String> apps, Instant at)
      implements Event {}

  /**
   * A contact that changed nothing, persisted because the last persisted one is older than the
   * interval.
   */
  public record Seen(String uuid, String factory, Instant at) implements Event {}

  public record UpdateEventsReported(
      String uuid, String factory, List<UpdateEvent> events, Instant at) implements Event {}

  public record AppsStatesReported(String uuid, String factory, AppsStates appsStates, Instant at)
      implements Event {}

  public record SystemInfoReported(
      String uuid, String factory, SystemInfoKind kind, String content, Instant at)
      implements Event {}

  /**
   * The device-level config files, whole; {@code byDevice} tells a device's PATCH from an
   * operator's PUT.
   */
  public record ConfigChanged(
      String uuid,
      String factory,
      List<ConfigFile> files,
      String reason,
      boolean byDevice,
      Instant at)
      implements Event {}

  public record DetailsChanged(String uuid, String factory, String name, String group, Instant at)
      implements Event {}

  public record Decommissioned(String uuid, String factory, Instant at) implements Event {}

  /** The operator's labels of the device, whole. */
  public record LabelsSet(String uuid, String factory, Map<String, String> labels, Instant at)
      implements Event {}

  /** Published after a decommission so that every node refuses the certificate from then on. */
  public record Revoked(String factory, String uuid) implements CborSerializable {}

  /**
   * What command handling needs, kept in memory by every active entity, so it is as small as it can
   * be (a node holds up to active-entity-limit of them): the uuid is the entity's, the certificate
   * serial and public key stay in the {@link Registered} event ({@link DeviceKeys} reads the key
   * for {@code GET /device}), and the values that many devices share (factory, hardware id, group,
   * tag, target, app list) are shared through {@link Canonical}; of each system info only a digest
   * is kept. It is also the snapshot: snapshots written when it still held {@code uuid}, {@code
   * certificateSerial} and {@code publicKeyPem} load, the serializer skipping those properties.
   */
  public record State(
      String factory,
      String name,
      String hardwareId,
      String group,
      String tag,
      boolean production,
      String targetName,
      List<String> apps,
      Instant createdAt,
      Instant lastSeen,
      List<Update> updates,
      AppsStates appsStates,
      Map<SystemInfoKind, String> systemInfo,
      List<ConfigFile> config,
      Instant configChangedAt,
      Instant decommissionedAt,
      Failure lastFailure,
      Map<String, String> labels)
      implements CborSerializable {

    /**
     * Shared by every entity: the persistence layer keeps the empty state for the entity's whole
     * life.
     */
    static final State EMPTY =
        new State(
            null, null, null, null, null, false, null, List.of(), null, null, List.of(), null,
            Map.of(), List.of(), null, null, null, Map.of());

    /** Snapshots taken before labels existed load without them: no labels. */
    public State {
      labels = labels == null ? Map.of() : labels;
      factory = Canonical.of(factory);
      hardwareId = Canonical.of(hardwareId);
      group = Canonical.of(group);
      tag = Canonical.of(tag);
      targetName = Canonical.of(targetName);
      apps = Canonical.of(List.copyOf(apps));
      updates = withoutMetadataUpdates(updates);
      if (lastFailure == null && updates != null) {
        lastFailure = lastFailureIn(updates);
      }
    }

    /**
     * Snapshots written before the state kept its last failure load without one: the updates they
     * hold tell it, as far as they reach back.
     */
    private static Failure lastFailureIn(List<Update> updates) {
      for (int i = updates.size() - 1; i >= 0; i--) {
        Update update = updates.get(i);
        Failure failure =
            failureOf(
                update.correlationId(),
                update.targetName(),
                update.events(),
                update.lastReportedAt());
        if (failure != null) {
          return failure;
        }
      }
      return null;
    }

    /**
     * Snapshots taken before metadata events were told apart may hold them as updates; they go on
     * load.
     */
    private static List<Update> withoutMetadataUpdates(List<Update> updates) {
      if (updates == null) {
        return null;
      }
      for (Update update : updates) {
        if (isMetadataUpdate(update)) {
          return updates.stream().filter(u -> !isMetadataUpdate(u)).toList();
        }
      }
      return updates;
    }

    public boolean exists() {
      return factory != null;
    }

    public boolean decommissioned() {
      return decommissionedAt != null;
    }

    Summary summary(String uuid, Instant lastContact) {
      Instant seen =
          lastSeen == null || (lastContact != null && lastContact.isAfter(lastSeen))
              ? lastContact
              : lastSeen;
      Update current = updates.isEmpty() ? null : updates.get(updates.size() - 1);
      return new Summary(
          uuid,
          factory,
          name,
          hardwareId,
          group,
          tag,
          production,
          targetName,
          apps,
          createdAt,
          seen,
          decommissionedAt,
          config,
          configChangedAt,
          current == null ? null : current.correlationId(),
          current == null ? null : current.state(),
          lastFailure,
          labels);
    }

    boolean knowsEvent(String eventId) {
      for (Update update : updates) {
        for (UpdateEvent event : update.events()) {
          if (event.id().equals(eventId)) {
            return true;
          }
        }
      }
      return false;
    }

    Update update(String correlationId) {
      for (Update update : updates) {
        if (update.correlationId().equals(correlationId)) {
          return update;
        }
      }
      return null;
    }

    State apply(Event event) {
      Instant seen = lastSeen == null || event.at().isAfter(lastSeen) ? event.at() : lastSeen;
      if (event instanceof Registered r) {
        return new State(
            r.factory(),
            r.name(),
            r.hardwareId(),
            r.group(),
            r.tag(),
            r.production(),
            null,
            List.of(),
            r.at(),
            r.firstContact() ? r.at() : null,
            List.of(),
            null,
            Map.of(),
            List.of(),
            null,
            null,
            null,
            Map.of());
      } else if (event instanceof StatusReported s) {
        return with(
            edit -> {
              edit.tag = s.tag();
              edit.targetName = s.targetName();
              edit.apps = s.apps();
              edit.lastSeen = seen;
            });
      } else if (event instanceof Seen) {
        return with(edit -> edit.lastSeen = seen);
      } else if (event instanceof UpdateEventsReported reported) {
        List<Update> next = new ArrayList<>(updates);
        for (UpdateEvent updateEvent : reported.events()) {
          if (isMetadataEvent(updateEvent)) {
            continue;
          }
          int index = indexOf(next, updateEvent.correlationId());
          if (index < 0) {
            next.add(
                new Update(
                    updateEvent.correlationId(),
                    updateEvent.targetName(),
                    updateEvent.version(),
                    List.of(updateEvent),
                    reported.at(),
                    reported.at()));
          } else {
            next.set(index, next.get(index).with(updateEvent, reported.at()));
          }
        }
        Failure failure = lastFailure;
        for (UpdateEvent updateEvent : reported.events()) {
          if (Boolean.FALSE.equals(updateEvent.success())
              && !isMetadataEvent(updateEvent)
              && (failure == null
                  || !failure.correlationId().equals(updateEvent.correlationId()))) {
            Update update = next.get(indexOf(next, updateEvent.correlationId()));
            failure =
                failureOf(
                    update.correlationId(), update.targetName(), update.events(), reported.at());
          }
        }
        while (next.size() > MAX_UPDATES_KEPT) {
          next.remove(0);
        }
        Failure newestFailure = failure;
        return with(
            edit -> {
              edit.lastSeen = seen;
              edit.updates = List.copyOf(next);
              edit.lastFailure = newestFailure;
            });
      } else if (event instanceof AppsStatesReported reported) {
        return with(
            edit -> {
              edit.lastSeen = seen;
              edit.appsStates = reported.appsStates();
            });
      } else if (event instanceof SystemInfoReported reported) {
        Map<SystemInfoKind, String> next = new LinkedHashMap<>(systemInfo);
        next.put(reported.kind(), systemInfoDigest(reported.content()));
        return with(
            edit -> {
              edit.lastSeen = seen;
              edit.systemInfo = Map.copyOf(next);
            });
      } else if (event instanceof ConfigChanged changed) {
        return with(
            edit -> {
              edit.lastSeen = changed.byDevice() ? seen : lastSeen;
              edit.config = changed.files();
              edit.configChangedAt = changed.at();
            });
      } else if (event instanceof DetailsChanged changed) {
        return with(
            edit -> {
              edit.name = changed.name();
              edit.group = changed.group();
            });
      } else if (event instanceof Decommissioned d) {
        return with(edit -> edit.decommissionedAt = d.at());
      } else if (event instanceof LabelsSet set) {
        return with(edit -> edit.labels = set.labels());
      }
      throw new IllegalStateException("unknown event " + event);
    }

    /**
     * A copy with the components an event changes: each event changes a few of them, and a new
     * component is added here once rather than in every event's case.
     */
    private State with(Consumer<Edit> change) {
      Edit edit = new Edit(this);
      change.accept(edit);
      return edit.state();
    }

    private static final class Edit {
      private final String factory;
      private String name;
      private final String hardwareId;
      private String group;
      private String tag;
      private final boolean production;
      private String targetName;
      private List<String> apps;
      private final Instant createdAt;
      private Instant lastSeen;
      private List<Update> updates;
      private AppsStates appsStates;
      private Map<SystemInfoKind, String> systemInfo;
      private List<ConfigFile> config;
      private Instant configChangedAt;
      private Instant decommissionedAt;
      private Failure lastFailure;
      private Map<String, String> labels;

      private Edit(State from) {
        factory = from.factory;
        name = from.name;
        hardwareId = from.hardwareId;
        group = from.group;
        tag = from.tag;
        production = from.production;
        targetName = from.targetName;
        apps = from.apps;
        createdAt = from.createdAt;
        lastSeen = from.lastSeen;
        updates = from.updates;
        appsStates = from.appsStates;
        systemInfo = from.systemInfo;
        config = from.config;
        configChangedAt = from.configChangedAt;
        decommissionedAt = from.decommissionedAt;
        lastFailure = from.lastFailure;
        labels = from.labels;
      }

      private State state() {
        return new State(
            factory,
            name,
            hardwareId,
            group,
            tag,
            production,
            targetName,
            apps,
            createdAt,
            lastSeen,
            updates,
            appsStates,
            systemInfo,
            config,
            configChangedAt,
            decommissionedAt,
            lastFailure,
            labels);
      }
    }

    private static int indexOf(List<Update> updates, String correlationId) {
      for (int i = 0; i < updates.size(); i++) {
        if (updates.get(i).correlationId().equals(correlationId)) {
          return i;
        }
      }
      return -1;
    }
  }

  /** The projection tag of a device's events; a device always keeps the same one. */
  public static String tagFor(String uuid, int slices) {
    return TAG_PREFIX + Math.floorMod(uuid.hashCode(), slices);
  }

  public static void init(
      ActorSystem<?> system,
      DeviceSettings settings,
      ActorRef<Topic.Command<Revoked>> revokedTopic,
      ActorRef<Topic.Command<ConfigPublished>> configTopic) {
    ClusterShardingSettings sharding = ClusterShardingSettings.create(system);
    sharding =
        sharding.withPassivationStrategy(
            sharding
                .passivationStrategySettings()
                .withActiveEntityLimit(settings.activeEntityLimit()));
    ClusterSharding.get(system)
        .init(
            Entity.of(
                    ENTITY_KEY,
                    ctx -> create(ctx.getEntityId(), settings, revokedTopic, configTopic))
                .withSettings(sharding)
                .withStopMessage(new Passivate()));
  }

  public static Device create(
      String uuid,
      DeviceSettings settings,
      ActorRef<Topic.Command<Revoked>> revokedTopic,
      ActorRef<Topic.Command<ConfigPublished>> configTopic) {
    return new Device(uuid, settings, revokedTopic, configTopic);
  }

  private final String uuid;
  private final DeviceSettings settings;
  private final ActorRef<Topic.Command<Revoked>> revokedTopic;
  private final ActorRef<Topic.Command<ConfigPublished>> configTopic;

  /**
   * The newest contact; persisted only with a change or once per interval, so it may be newer than
   * the state's.
   */
  private Instant lastContact;

  private Device(
      String uuid,
      DeviceSettings settings,
      ActorRef<Topic.Command<Revoked>> revokedTopic,
      ActorRef<Topic.Command<ConfigPublished>> configTopic) {
    super(ENTITY_KEY, uuid, Canonical.of(tagFor(uuid, settings.slices())), 50);
    this.uuid = uuid;
    this.settings = settings;
    this.revokedTopic = revokedTopic;
    this.configTopic = configTopic;
  }

  @Override
  public State emptyState() {
    return State.EMPTY;
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return this::onCommand;
  }

  /**
   * A plain dispatch rather than the handler builder: the builder allocates a case and two lambdas
   * per command type for every entity instance (about 1 KB a device), and a node keeps up to
   * active-entity-limit devices.
   */
  private ReplyEffect<Event, State> onCommand(State state, Command command) {
    if (command instanceof CheckIn c) {
      return onContact(state, c.contact(), List.of(), c.replyTo());
    } else if (command instanceof ReportUpdateEvents c) {
      return onReportUpdateEvents(state, c);
    } else if (command instanceof ReportAppsStates c) {
      return onReportAppsStates(state, c);
    } else if (command instanceof ReportSystemInfo c) {
      return onReportSystemInfo(state, c);
    } else if (command instanceof Register c) {
      return onRegister(state, c);
    } else if (command instanceof PatchConfig c) {
      return onPatchConfig(state, c);
    } else if (command instanceof ReplaceConfig c) {
      return onReplaceConfig(state, c);
    } else if (command instanceof Change c) {
      return onChange(state, c);
    } else if (command instanceof Decommission c) {
      return onDecommission(state, c);
    } else if (command instanceof Get c) {
      return onGet(state, c);
    } else if (command instanceof Passivate) {
      return Effect().stop().thenNoReply();
    }
    throw new IllegalArgumentException("unknown device command " + command.getClass().getName());
  }

  private ReplyEffect<Event, State> onRegister(State state, Register c) {
    if (state.exists()) {
      return Effect()
          .reply(c.replyTo(), Rejection.conflict("device " + uuid + " is already registered"));
    }
    if (!UUID.matcher(uuid).matches()) {
      return Effect().reply(c.replyTo(), Rejection.invalid("uuid must match " + UUID.pattern()));
    }
    String name = c.name() == null || c.name().isBlank() ? uuid : c.name();
    String problem = nameProblem(name);
    if (problem == null && c.group() != null) {
      problem = groupProblem(c.group());
    }
    if (problem == null && c.tag() != null && !TAG.matcher(c.tag()).matches()) {
      problem = "tag must match " + TAG.pattern();
    }
    if (problem == null
        && c.hardwareId() != null
        && !Limits.PLATFORM.matcher(c.hardwareId()).matches()) {
      problem = "hardware id must match " + Limits.PLATFORM.pattern();
    }
    if (problem != null) {
      return Effect().reply(c.replyTo(), Rejection.invalid(problem));
    }
    Registered registered =
        new Registered(
            uuid,
            c.factory(),
            name,
            c.hardwareId(),
            c.group(),
            c.tag(),
            c.production(),
            c.certificateSerial(),
            c.publicKeyPem(),
            false,
            c.at());
    return Effect()
        .persist(registered)
        .thenReply(c.replyTo(), s -> StatusReply.success(s.summary(uuid, lastContact)));
  }

  private ReplyEffect<Event, State> onReportUpdateEvents(State state, ReportUpdateEvents c) {
    List<UpdateEvent> fresh = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    Map<String, Integer> perUpdate = new LinkedHashMap<>();
    for (UpdateEvent event : c.events()) {
      if (!storable(event) || !ids.add(event.id()) || state.knowsEvent(event.id())) {
        continue;
      }
      Update known = state.update(event.correlationId());
      int count =
          perUpdate.merge(event.correlationId(), 1, Integer::sum)
              + (known == null ? 0 : known.events().size());
      if (count > MAX_EVENTS_PER_UPDATE) {
        continue;
      }
      fresh.add(event);
    }
    List<Event> events =
        fresh.isEmpty()
            ? List.of()
            : List.of(
                new UpdateEventsReported(
                    uuid, c.contact().factory(), List.copyOf(fresh), c.contact().at()));
    return onContact(state, c.contact(), events, c.replyTo());
  }

  /** What the read side stores in columns fits them; the protocol drops any other event. */
  public static boolean storable(UpdateEvent e) {
    return e != null
        && e.id() != null
        && !e.id().isEmpty()
        && e.id().length() <= 128
        && Limits.plain(e.id())
        && e.type() != null
        && !e.type().isEmpty()
        && e.type().length() <= 64
        && Limits.plain(e.type())
        && e.correlationId() != null
        && CORRELATION_ID.matcher(e.correlationId()).matches()
        && (e.targetName() == null || e.targetName().length() <= Limits.TARGET_NAME)
        && Limits.plain(e.targetName())
        && (e.version() == null || e.version().length() <= 64)
        && Limits.plain(e.version())
        && (e.deviceTime() == null || e.deviceTime().length() <= 64)
        && Limits.plain(e.deviceTime())
        && (e.details() == null || e.details().length() <= MAX_DETAILS);
  }

  private ReplyEffect<Event, State> onReportAppsStates(State state, ReportAppsStates c) {
    List<Event> events =
        c.appsStates().sameReportAs(state.appsStates())
            ? List.of()
            : List.of(
                new AppsStatesReported(
                    uuid, c.contact().factory(), c.appsStates(), c.contact().at()));
    return onContact(state, c.contact(), events, c.replyTo());
  }

  /**
   * What the state keeps of a system info report: enough to tell a repeat from a change. A device's
   * inventory (lshw output runs to tens of KB) lives in the journal and {@code device_system_info},
   * not in every active entity. Snapshots from before kept the content itself; against those the
   * first report after recovery differs once and is persisted again, which is harmless.
   */
  static String systemInfoDigest(String content) {
    return Digest.of(content.getBytes(StandardCharsets.UTF_8)).hex().substring(0, 16);
  }

  private ReplyEffect<Event, State> onReportSystemInfo(State state, ReportSystemInfo c) {
    List<Event> events =
        Objects.equals(state.systemInfo().get(c.kind()), systemInfoDigest(c.content()))
            ? List.of()
            : List.of(
                new SystemInfoReported(
                    uuid, c.contact().factory(), c.kind(), c.content(), c.contact().at()));
    return onContact(state, c.contact(), events, c.replyTo());
  }

  private ReplyEffect<Event, State> onPatchConfig(State state, PatchConfig c) {
    String problem = configProblem(c.files(), c.reason());
    if (problem != null) {
      return Effect().reply(c.replyTo(), Rejection.invalid(problem));
    }
    Map<String, ConfigFile> files = new LinkedHashMap<>();
    state.config().forEach(f -> files.put(f.name(), f));
    c.files().forEach(f -> files.put(f.name(), f));
    List<ConfigFile> next = List.copyOf(files.values());
    problem = FleetConfig.problem(next);
    if (problem != null) {
      return Effect()
          .reply(
              c.replyTo(),
              Rejection.invalid(
                  "with this patch the device's config would break a bound: " + problem));
    }
    List<Event> events =
        next.equals(state.config())
            ? List.of()
            : List.of(
                new ConfigChanged(
                    uuid, c.contact().factory(), next, c.reason(), true, c.contact().at()));
    return onContact(state, c.contact(), events, c.replyTo());
  }

  /**
   * Every device-port command: refuses foreign or decommissioned devices, adds what the contact
   * itself changed to {@code changes}, and persists only when there is something to persist or
   * last-seen is due.
   */
  private ReplyEffect<Event, State> onContact(
      State state, Contact contact, List<Event> changes, ActorRef<StatusReply<Summary>> replyTo) {
    if (state.exists() && !state.factory().equals(contact.factory())) {
      return Effect()
          .reply(replyTo, Rejection.forbidden("device " + uuid + " belongs to another factory"));
    }
    if (state.decommissioned()) {
      return Effect().reply(replyTo, Rejection.forbidden("device " + uuid + " is decommissioned"));
    }
    String problem = contactProblem(contact);
    if (problem != null) {
      return Effect().reply(replyTo, Rejection.invalid(problem));
    }
    List<Event> events = new ArrayList<>();
    State base = state;
    if (!state.exists()) {
      if (!UUID.matcher(uuid).matches()) {
        return Effect().reply(replyTo, Rejection.invalid("uuid must match " + UUID.pattern()));
      }
      Registered registered =
          new Registered(
              uuid,
              contact.factory(),
              uuid,
              null,
              null,
              null,
              contact.production(),
              contact.certificateSerial(),
              contact.publicKeyPem(),
              true,
              contact.at());
      events.add(registered);
      base = state.apply(registered);
    }
    String tagNow = contact.tag() != null ? contact.tag() : base.tag();
    String targetNow = contact.targetName() != null ? contact.targetName() : base.targetName();
    List<String> appsNow = contact.apps() != null ? List.copyOf(contact.apps()) : base.apps();
    if (!Objects.equals(tagNow, base.tag())
        || !Objects.equals(targetNow, base.targetName())
        || !Objects.equals(appsNow, base.apps())) {
      events.add(
          new StatusReported(uuid, contact.factory(), tagNow, targetNow, appsNow, contact.at()));
    }
    events.addAll(changes);
    if (events.isEmpty() && lastSeenDue(state, contact.at())) {
      events.add(new Seen(uuid, contact.factory(), contact.at()));
    }
    if (lastContact == null || contact.at().isAfter(lastContact)) {
      lastContact = contact.at();
    }
    if (events.isEmpty()) {
      return Effect().reply(replyTo, StatusReply.success(state.summary(uuid, lastContact)));
    }
    return Effect()
        .persist(events)
        .thenReply(replyTo, s -> StatusReply.success(s.summary(uuid, lastContact)));
  }

  private static String contactProblem(Contact contact) {
    if (contact.tag() != null && !TAG.matcher(contact.tag()).matches()) {
      return "tag must match " + TAG.pattern();
    }
    if (contact.targetName() != null
        && (contact.targetName().length() > Limits.TARGET_NAME
            || !Limits.plain(contact.targetName()))) {
      return "target name must be at most "
          + Limits.TARGET_NAME
          + " characters without control characters";
    }
    return Limits.listProblem("apps", contact.apps(), MAX_APPS, APP);
  }

  private boolean lastSeenDue(State state, Instant now) {
    return state.lastSeen() == null
        || !now.isBefore(state.lastSeen().plus(settings.lastSeenPersistInterval()));
  }

  private ReplyEffect<Event, State> onReplaceConfig(State state, ReplaceConfig c) {
    if (!belongsTo(state, c.factory())) {
      return Effect().reply(c.replyTo(), notFound(c.factory()));
    }
    String problem = configProblem(c.files(), c.reason());
    if (problem != null) {
      return Effect().reply(c.replyTo(), Rejection.invalid(problem));
    }
    List<ConfigFile> files = List.copyOf(c.files());
    if (files.equals(state.config())) {
      return Effect().reply(c.replyTo(), StatusReply.success(state.summary(uuid, lastContact)));
    }
    return Effect()
        .persist(new ConfigChanged(uuid, c.factory(), files, c.reason(), false, c.at()))
        .thenRun(
            s ->
                configTopic.tell(
                    Topic.publish(ConfigPublished.device(c.factory(), uuid, s.group()))))
        .thenReply(c.replyTo(), s -> StatusReply.success(s.summary(uuid, lastContact)));
  }

  private ReplyEffect<Event, State> onChange(State state, Change c) {
    if (!belongsTo(state, c.factory())) {
      return Effect().reply(c.replyTo(), notFound(c.factory()));
    }
    String name = c.name() != null ? c.name() : state.name();
    String group = c.group() == null ? state.group() : c.group().isEmpty() ? null : c.group();
    Map<String, String> labels =
        c.labels() == null ? state.labels() : Map.copyOf(new TreeMap<>(c.labels()));
    List<ConfigFile> config = c.file() == null ? state.config() : replaced(state, c.file().file());
    String problem = nameProblem(name);
    if (problem == null && group != null) {
      problem = groupProblem(group);
    }
    if (problem == null && c.labels() != null) {
      problem = Limits.labelsProblem(c.labels());
    }
    if (problem == null && c.file() != null) {
      problem = configProblem(config, c.file().reason());
    }
    if (problem != null) {
      return Effect().reply(c.replyTo(), Rejection.invalid(problem));
    }
    List<Event> events = new ArrayList<>(3);
    if (!Objects.equals(name, state.name()) || !Objects.equals(group, state.group())) {
      events.add(new DetailsChanged(uuid, c.factory(), name, group, c.at()));
    }
    if (!labels.equals(state.labels())) {
      events.add(new LabelsSet(uuid, c.factory(), labels, c.at()));
    }
    if (!config.equals(state.config())) {
      events.add(new ConfigChanged(uuid, c.factory(), config, c.file().reason(), false, c.at()));
    }
    if (events.isEmpty()) {
      return Effect().reply(c.replyTo(), StatusReply.success(state.summary(uuid, lastContact)));
    }
    boolean wake = !Objects.equals(group, state.group()) || !config.equals(state.config());
    return Effect()
        .persist(events)
        .thenRun(
            s -> {
              if (wake) {
                configTopic.tell(Topic.publish(ConfigPublished.device(c.factory(), uuid, group)));
              }
            })
        .thenReply(c.replyTo(), s -> StatusReply.success(s.summary(uuid, lastContact)));
  }

  private static List<ConfigFile> replaced(State state, ConfigFile file) {
    List<ConfigFile> files = new ArrayList<>(state.config().size() + 1);
    for (ConfigFile existing : state.config()) {
      if (!existing.name().equals(file.name())) {
        files.add(existing);
      }
    }
    files.add(file);
    return List.copyOf(files);
  }

  private ReplyEffect<Event, State> onDecommission(State state, Decommission c) {
    if (!belongsTo(state, c.factory())) {
      return Effect().reply(c.replyTo(), notFound(c.factory()));
    }
    if (state.decommissioned()) {
      return Effect().reply(c.replyTo(), StatusReply.ack());
    }
    return Effect()
        .persist(new Decommissioned(uuid, c.factory(), c.at()))
        .thenRun(s -> revokedTopic.tell(Topic.publish(new Revoked(c.factory(), uuid))))
        .thenReply(c.replyTo(), s -> StatusReply.ack());
  }

  private ReplyEffect<Event, State> onGet(State state, Get c) {
    if (!belongsTo(state, c.factory())) {
      return Effect().reply(c.replyTo(), notFound(c.factory()));
    }
    return Effect().reply(c.replyTo(), StatusReply.success(state.summary(uuid, lastContact)));
  }

  /**
   * A device of another factory answers exactly as a missing one, so that uuids do not leak across
   * factories.
   */
  private static boolean belongsTo(State state, String factory) {
    return state.exists() && state.factory().equals(factory);
  }

  private <T> StatusReply<T> notFound(String factory) {
    return Rejection.notFound("factory " + factory + " has no device " + uuid);
  }

  private static String nameProblem(String name) {
    return Limits.deviceNameProblem(name);
  }

  private static String groupProblem(String group) {
    return GROUP.matcher(group).matches() ? null : "group must match " + GROUP.pattern();
  }

  private static String configProblem(List<ConfigFile> files, String reason) {
    String problem = FleetConfig.problem(files);
    return problem != null ? problem : Limits.textProblem("reason", reason);
  }

  /**
   * The device as the given events, oldest first, leave it when applied to {@code from} (time
   * travel: a snapshot's state, or the empty one, and the events after it up to a moment); empty
   * when the device had not registered by then.
   */
  public static Optional<Summary> replayed(String uuid, State from, List<? extends Event> events) {
    State state = from;
    for (Event event : events) {
      state = state.apply(event);
    }
    return state.factory() == null ? Optional.empty() : Optional.of(state.summary(uuid, null));
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return State::apply;
  }
}
