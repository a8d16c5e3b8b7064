package io.flotilla.core;

import io.flotilla.core.app.App;
import io.flotilla.core.app.AppProjection;
import io.flotilla.core.app.AppQueries;
import io.flotilla.core.auth.Access;
import io.flotilla.core.auth.AdminTokens;
import io.flotilla.core.device.ConfigPublished;
import io.flotilla.core.device.Device;
import io.flotilla.core.device.DeviceKeys;
import io.flotilla.core.device.DeviceProjection;
import io.flotilla.core.device.DeviceQueries;
import io.flotilla.core.device.DeviceRevocations;
import io.flotilla.core.device.DeviceSettings;
import io.flotilla.core.device.FleetConfig;
import io.flotilla.core.factory.Factory;
import io.flotilla.core.factory.FactoryProjection;
import io.flotilla.core.factory.FactoryQueries;
import io.flotilla.core.journal.JournalReader;
import io.flotilla.core.persistence.Database;
import io.flotilla.core.persistence.DatabaseHealth;
import io.flotilla.core.projection.ProjectionAdmin;
import io.flotilla.core.projection.ProjectionHealth;
import io.flotilla.core.rollout.Rollout;
import io.flotilla.core.rollout.RolloutProjection;
import io.flotilla.core.target.TargetQueries;
import io.flotilla.core.target.Targets;
import io.flotilla.core.target.TargetsCache;
import io.flotilla.core.webhook.WebhookDispatcher;
import io.flotilla.core.webhook.WebhookOutbox;
import io.flotilla.core.webhook.WebhookProjection;
import io.flotilla.core.webhook.WebhookQueries;
import io.flotilla.core.webhook.WebhookSources;
import io.flotilla.core.webhook.Webhooks;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;

/**
 * The OTA service of one node: starts the entity regions and projections and hands out what the
 * HTTP layer needs. The database schema must exist before this is called (see {@code
 * SchemaMigration}).
 */
public final class FlotillaCore {

  private final ActorSystem<?> system;
  private final Database database;
  private final ClusterSharding sharding;
  private final Duration askTimeout;
  private final Executor blocking;
  private final ActorRef<Topic.Command<Targets.TargetsChanged>> targetsTopic;
  private final TargetsCache targetsCache;
  private final FactoryQueries factoryQueries;
  private final AppQueries appQueries;
  private final TargetQueries targetQueries;
  private final JournalReader journalReader;
  private final DeviceSettings deviceSettings;
  private final ActorRef<Topic.Command<Device.Revoked>> deviceRevokedTopic;
  private final ActorRef<Topic.Command<ConfigPublished>> deviceConfigTopic;
  private final DeviceQueries deviceQueries;
  private final DeviceRevocations deviceRevocations;
  private final DeviceKeys deviceKeys;
  private final DatabaseHealth databaseHealth;
  private final ProjectionAdmin projectionAdmin;
  private final ReadYourWrites readYourWrites;
  private final Access access;
  private final io.flotilla.core.rollout.RolloutQueries rolloutQueries;
  private final io.flotilla.core.rollout.RolloutGates rolloutGates;
  private final WebhookQueries webhookQueries;

  private FlotillaCore(ActorSystem<?> system, Database database) {
    this.system = system;
    this.database = database;
    this.sharding = ClusterSharding.get(system);
    this.askTimeout = system.settings().config().getDuration("flotilla.ask-timeout");
    this.blocking =
        system.dispatchers().lookup(DispatcherSelector.fromConfig("flotilla-blocking-dispatcher"));
    this.targetsTopic =
        system.systemActorOf(
            Topic.create(Targets.TargetsChanged.class, Targets.TOPIC_NAME),
            "targets-changed-topic",
            Props.empty());
    AdminTokens.init(system);
    Factory.init(system);
    App.init(system);
    Targets.init(system, targetsTopic);
    FactoryProjection.start(system, database);
    AppProjection.start(system, database);
    io.flotilla.core.target.TargetsProjection.start(system, database);
    this.targetsCache = TargetsCache.start(system, targetsTopic, askTimeout);
    this.factoryQueries = new FactoryQueries(database, blocking);
    this.appQueries = new AppQueries(database, blocking);
    this.targetQueries = new TargetQueries(database, blocking);
    this.journalReader = new JournalReader(system);
    this.deviceSettings = DeviceSettings.fromConfig(system.settings().config());
    this.deviceRevokedTopic =
        system.systemActorOf(
            Topic.create(Device.Revoked.class, Device.REVOKED_TOPIC_NAME),
            "device-revoked-topic",
            Props.empty());
    this.deviceConfigTopic =
        system.systemActorOf(
            Topic.create(ConfigPublished.class, ConfigPublished.TOPIC_NAME),
            "device-config-topic",
            Props.empty());
    Device.init(system, deviceSettings, deviceRevokedTopic, deviceConfigTopic);
    FleetConfig.init(system, deviceConfigTopic);
    DeviceProjection.start(system, database, deviceSettings);
    this.deviceQueries = new DeviceQueries(database, blocking);
    this.deviceRevocations = DeviceRevocations.start(system, deviceRevokedTopic, deviceQueries);
    this.deviceKeys = new DeviceKeys(system);
    this.databaseHealth = DatabaseHealth.start(system);
    this.projectionAdmin = new ProjectionAdmin(database, blocking, ProjectionHealth.get(system));
    CoordinatedShutdown.get(system)
        .addTask(
            CoordinatedShutdown.PhaseBeforeServiceUnbind(),
            "stop-database-probe",
            () -> {
              databaseHealth.stop();
              return CompletableFuture.completedFuture(Done.getInstance());
            });
    this.readYourWrites =
        new ReadYourWrites(
            system,
            database,
            blocking,
            system.settings().config().getDuration("flotilla.read-your-writes-patience"));
    this.access = new Access(this);
    ActorRef<Topic.Command<io.flotilla.core.rollout.Gate>> rolloutTopic =
        system.systemActorOf(
            Topic.create(io.flotilla.core.rollout.Gate.class, Rollout.TOPIC_NAME),
            "rollout-changed-topic",
            Props.empty());
    this.rolloutQueries = new io.flotilla.core.rollout.RolloutQueries(database, blocking);
    var config = system.settings().config();
    Rollout.init(
        system,
        new Rollout.Dependencies(
            rolloutQueries,
            rolloutTopic,
            config.getDuration("flotilla.rollout.evaluate-interval")));
    RolloutProjection.start(system, database);
    this.rolloutGates =
        io.flotilla.core.rollout.RolloutGates.start(
            system,
            rolloutTopic,
            rolloutQueries,
            config.getDuration("flotilla.rollout.keeper-interval"),
            askTimeout);
    Webhooks.init(system);
    WebhookProjection.start(system, database);
    WebhookOutbox.start(
        system, database, WebhookSources.TARGETS_OUTBOX, Targets.TAG, WebhookSources::targets);
    WebhookOutbox.start(
        system, database, WebhookSources.ROLLOUT_OUTBOX, Rollout.TAG, WebhookSources::rollout);
    WebhookOutbox.startSliced(
        system,
        database,
        WebhookSources.DEVICE_OUTBOX,
        Device.TAG_PREFIX,
        deviceSettings.slices(),
        WebhookSources::device);
    WebhookDispatcher.start(system, database, blocking);
    this.webhookQueries = new WebhookQueries(database, blocking);
  }

  public static FlotillaCore start(ActorSystem<?> system, Database database) {
    return new FlotillaCore(system, database);
  }

  public ActorSystem<?> system() {
    return system;
  }

  public Database database() {
    return database;
  }

  public Duration askTimeout() {
    return askTimeout;
  }

  /** The dispatcher for JDBC and file work. */
  public Executor blocking() {
    return blocking;
  }

  public EntityRef<Factory.Command> factory(String name) {
    return sharding.entityRefFor(Factory.ENTITY_KEY, name);
  }

  public EntityRef<App.Command> app(String factory, String app) {
    return sharding.entityRefFor(App.ENTITY_KEY, App.entityId(factory, app));
  }

  public EntityRef<Targets.Command> targets(String factory) {
    return sharding.entityRefFor(Targets.ENTITY_KEY, factory);
  }

  /**
   * The access check every edge asks: credentials to principal to a decision per factory and scope.
   */
  public Access access() {
    return access;
  }

  public EntityRef<AdminTokens.Command> adminTokens() {
    return sharding.entityRefFor(AdminTokens.ENTITY_KEY, AdminTokens.ID);
  }

  /** Changes of what devices' {@code GET /config} serves, for the WebSocket pushes. */
  public ActorRef<Topic.Command<ConfigPublished>> deviceConfigTopic() {
    return deviceConfigTopic;
  }

  public ActorRef<Topic.Command<Targets.TargetsChanged>> targetsTopic() {
    return targetsTopic;
  }

  public TargetsCache targetsCache() {
    return targetsCache;
  }

  public FactoryQueries factoryQueries() {
    return factoryQueries;
  }

  public AppQueries appQueries() {
    return appQueries;
  }

  public TargetQueries targetQueries() {
    return targetQueries;
  }

  public EntityRef<Device.Command> device(String uuid) {
    return sharding.entityRefFor(Device.ENTITY_KEY, uuid);
  }

  public EntityRef<FleetConfig.Command> fleetConfig(String factory) {
    return sharding.entityRefFor(FleetConfig.ENTITY_KEY, factory);
  }

  public DeviceSettings deviceSettings() {
    return deviceSettings;
  }

  public DeviceQueries deviceQueries() {
    return deviceQueries;
  }

  /** What the device port's TLS handshake asks; answers from memory. */
  public DeviceRevocations deviceRevocations() {
    return deviceRevocations;
  }

  public DeviceKeys deviceKeys() {
    return deviceKeys;
  }

  /**
   * Whether the journal's database answers; the HTTP layer fails fast and readiness reports it
   * while it does not.
   */
  public DatabaseHealth databaseHealth() {
    return databaseHealth;
  }

  /** Read-side projections: their state, and skipping an event one of them cannot store. */
  public ProjectionAdmin projectionAdmin() {
    return projectionAdmin;
  }

  public ReadYourWrites readYourWrites() {
    return readYourWrites;
  }

  public EntityRef<Rollout.Command> rollout(String factory, String id) {
    return sharding.entityRefFor(Rollout.ENTITY_KEY, Rollout.entityId(factory, id));
  }

  public io.flotilla.core.rollout.RolloutQueries rolloutQueries() {
    return rolloutQueries;
  }

  /** What each device of a tag may see of the rollouts on it; answers from memory. */
  public io.flotilla.core.rollout.RolloutGates rolloutGates() {
    return rolloutGates;
  }

  public EntityRef<Webhooks.Command> webhooks(String factory) {
    return sharding.entityRefFor(Webhooks.ENTITY_KEY, factory);
  }

  /** Each hook's delivery log. */
  public WebhookQueries webhookQueries() {
    return webhookQueries;
  }

  public JournalReader journalReader() {
    return journalReader;
  }

  /** The fleet at a past moment, replayed from the journal. */
  public io.flotilla.core.device.FleetHistory fleetHistory() {
    return new io.flotilla.core.device.FleetHistory(system, database, blocking, journalReader);
  }
}
