package io.flotilla.core.device;

import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.core.Rejection;
import io.flotilla.core.device.Device.Contact;
import io.flotilla.core.device.Device.UpdateEvent;
import io.flotilla.core.testing.EntityTestKit;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.CommandResultWithReply;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class DeviceTest {

  private static final ActorTestKit testKit = EntityTestKit.create();
  private static final Instant T0 = Instant.parse("2026-11-27T10:00:00Z");
  private static final DeviceSettings SETTINGS =
      new DeviceSettings(Duration.ofMinutes(5), Duration.ofMinutes(15), 1000, 4);

  private EventSourcedBehaviorTestKit<Device.Command, Device.Event, Device.State> device;
  private TestProbe<Device.Revoked> revoked;
  private TestProbe<ConfigPublished> configPublished;
  private String uuid;

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void fresh() {
    ActorRef<Topic.Command<Device.Revoked>> topic =
        testKit.spawn(Topic.create(Device.Revoked.class, "revoked-" + UUID.randomUUID()));
    revoked = testKit.createTestProbe();
    topic.tell(Topic.subscribe(revoked.ref()));
    ActorRef<Topic.Command<ConfigPublished>> configTopic =
        testKit.spawn(Topic.create(ConfigPublished.class, "config-" + UUID.randomUUID()));
    configPublished = testKit.createTestProbe();
    configTopic.tell(Topic.subscribe(configPublished.ref()));
    uuid = UUID.randomUUID().toString();
    device =
        EventSourcedBehaviorTestKit.create(
            testKit.system(), Device.create(uuid, SETTINGS, topic, configTopic));
  }

  private static Contact contact(Instant at, String tag, String target, List<String> apps) {
    return new Contact("acme", false, "0a1b", "PEM", tag, target, apps, at);
  }

  private CommandResultWithReply<
          Device.Command, Device.Event, Device.State, StatusReply<Device.Summary>>
      checkIn(Contact contact) {
    return device.runCommand(replyTo -> new Device.CheckIn(contact, replyTo));
  }

  private static UpdateEvent event(String id, String correlationId, String type, Boolean success) {
    return new UpdateEvent(
        id, "2026-11-27T10:00:00Z", type, 2, correlationId, success, "amd64-linux-42", "42", "{}");
  }

  @Test
  void firstContactCreatesTheDeviceWithItsHeaders() {
    var result = checkIn(contact(T0, "main", "amd64-linux-41", List.of("shellhttpd")));
    assertTrue(result.reply().isSuccess());
    assertEquals(2, result.events().size());
    Device.Registered registered = (Device.Registered) result.events().get(0);
    assertTrue(registered.firstContact());
    assertEquals(uuid, registered.name());
    Device.Summary summary = result.reply().getValue();
    assertEquals("main", summary.tag());
    assertEquals("amd64-linux-41", summary.targetName());
    assertEquals(List.of("shellhttpd"), summary.apps());
    assertEquals(T0, summary.lastSeen());
  }

  @Test
  void idleContactsPersistNothingUntilTheIntervalHasPassed() {
    checkIn(contact(T0, "main", "amd64-linux-41", List.of("a")));
    for (int i = 1; i < 100; i++) {
      var idle = checkIn(contact(T0.plusSeconds(i), "main", "amd64-linux-41", List.of("a")));
      assertTrue(idle.hasNoEvents(), "contact " + i);
      assertEquals(
          T0.plusSeconds(i), idle.reply().getValue().lastSeen(), "last seen is kept in memory");
    }
    var absentHeaders = checkIn(contact(T0.plusSeconds(200), null, null, null));
    assertTrue(absentHeaders.hasNoEvents(), "absent headers mean unchanged");

    var due =
        checkIn(contact(T0.plus(Duration.ofMinutes(5)), "main", "amd64-linux-41", List.of("a")));
    assertEquals(
        List.of(new Device.Seen(uuid, "acme", T0.plus(Duration.ofMinutes(5)))), due.events());
    assertTrue(
        checkIn(contact(T0.plus(Duration.ofMinutes(6)), "main", "amd64-linux-41", List.of("a")))
            .hasNoEvents());

    var changed =
        checkIn(contact(T0.plus(Duration.ofMinutes(7)), "main", "amd64-linux-42", List.of("a")));
    assertEquals(1, changed.events().size());
    assertInstanceOf(Device.StatusReported.class, changed.events().get(0));
    assertEquals(
        T0.plus(Duration.ofMinutes(7)),
        changed.state().lastSeen(),
        "a real change carries last seen with it");
  }

  @Test
  void registrationThenContactKeepsTheRegisteredDetails() {
    StatusReply<Device.Summary> registered =
        device
            .<StatusReply<Device.Summary>>runCommand(
                replyTo ->
                    new Device.Register(
                        "acme",
                        "dev-1",
                        "amd64-linux",
                        "lab",
                        "main",
                        true,
                        "0a1b",
                        "PEM",
                        T0,
                        replyTo))
            .reply();
    assertTrue(registered.isSuccess());
    StatusReply<Device.Summary> again =
        device
            .<StatusReply<Device.Summary>>runCommand(
                replyTo ->
                    new Device.Register(
                        "acme",
                        "dev-1",
                        "amd64-linux",
                        "lab",
                        "main",
                        true,
                        "0a1b",
                        "PEM",
                        T0,
                        replyTo))
            .reply();
    assertEquals(Rejection.Kind.CONFLICT, Rejection.of(again.getError()).orElseThrow().kind());

    var contact = checkIn(contact(T0.plusSeconds(5), null, "amd64-linux-41", List.of()));
    assertEquals(1, contact.events().size());
    Device.Summary summary = contact.reply().getValue();
    assertEquals("dev-1", summary.name());
    assertEquals("lab", summary.group());
    assertEquals("main", summary.tag());
    assertEquals("amd64-linux", summary.hardwareId());
    assertTrue(summary.production());
  }

  @Test
  void anotherFactorysCertificateCannotTouchTheDevice() {
    checkIn(contact(T0, "main", null, null));
    var foreign =
        device.<StatusReply<Device.Summary>>runCommand(
            replyTo ->
                new Device.CheckIn(
                    new Contact("other", false, "ff", "PEM", "evil", null, null, T0), replyTo));
    assertTrue(foreign.hasNoEvents());
    assertEquals(
        Rejection.Kind.FORBIDDEN, Rejection.of(foreign.reply().getError()).orElseThrow().kind());
    var operatorOfOther =
        device.<StatusReply<Device.Summary>>runCommand(replyTo -> new Device.Get("other", replyTo));
    assertEquals(
        Rejection.Kind.NOT_FOUND,
        Rejection.of(operatorOfOther.reply().getError()).orElseThrow().kind());
  }

  @Test
  void updateEventsAreGroupedDeduplicatedAndTheOutcomeDerived() {
    checkIn(contact(T0, "main", "amd64-linux-41", List.of()));
    List<UpdateEvent> first =
        List.of(
            event("e1", "u1", "UpdateInitStarted", null),
            event("e2", "u1", "UpdateInitCompleted", true),
            event("e3", "u1", "EcuDownloadStarted", null));
    var reported =
        device.<StatusReply<Device.Summary>>runCommand(
            replyTo ->
                new Device.ReportUpdateEvents(
                    contact(T0.plusSeconds(1), null, null, null), first, replyTo));
    assertEquals(1, reported.events().size());
    assertEquals(Device.UpdateState.IN_PROGRESS, reported.reply().getValue().currentUpdateState());

    var resent =
        device.<StatusReply<Device.Summary>>runCommand(
            replyTo ->
                new Device.ReportUpdateEvents(
                    contact(T0.plusSeconds(2), null, null, null), first, replyTo));
    assertTrue(resent.hasNoEvents(), "a client resending after a lost reply adds nothing");

    List<UpdateEvent> rest =
        List.of(
            event("e3", "u1", "EcuDownloadStarted", null),
            event("e4", "u1", "EcuDownloadCompleted", true),
            event("e5", "u1", "EcuInstallationStarted", null),
            event("e6", "u1", "EcuInstallationApplied", null),
            event("e7", "u1", "EcuInstallationCompleted", true));
    var done =
        device.<StatusReply<Device.Summary>>runCommand(
            replyTo ->
                new Device.ReportUpdateEvents(
                    contact(T0.plusSeconds(3), null, null, null), rest, replyTo));
    Device.UpdateEventsReported stored = (Device.UpdateEventsReported) done.events().get(0);
    assertEquals(4, stored.events().size());
    assertEquals(Device.UpdateState.SUCCEEDED, done.reply().getValue().currentUpdateState());
    assertEquals(7, done.state().update("u1").events().size());

    var failing =
        device.<StatusReply<Device.Summary>>runCommand(
            replyTo ->
                new Device.ReportUpdateEvents(
                    contact(T0.plusSeconds(4), null, null, null),
                    List.of(
                        event("f1", "u2", "UpdateInitStarted", null),
                        event("f2", "u2", "EcuDownloadCompleted", false)),
                    replyTo));
    assertEquals(Device.UpdateState.FAILED, failing.reply().getValue().currentUpdateState());
    assertEquals(
        new Device.Outcome(Device.UpdateState.FAILED, "EcuDownloadCompleted"),
        Device.outcome(failing.state().update("u2").events()));
  }

  private CommandResultWithReply<
          Device.Command, Device.Event, Device.State, StatusReply<Device.Summary>>
      report(Instant at, UpdateEvent... events) {
    return device.runCommand(
        replyTo ->
            new Device.ReportUpdateEvents(contact(at, null, null, null), List.of(events), replyTo));
  }

  private static UpdateEvent failed(String id, String correlationId, String type, String details) {
    return new UpdateEvent(
        id, "2026-11-27T10:00:00Z", type, 2, correlationId, false, "amd64-linux-43", "43", details);
  }

  @Test
  void theLastFailureStaysAfterTheRollbackSucceededAndARestart() {
    checkIn(contact(T0, "main", "amd64-linux-42", List.of()));
    assertNull(
        report(T0.plusSeconds(1), event("e1", "u1", "EcuInstallationCompleted", true))
            .reply()
            .getValue()
            .lastFailure());

    var failing =
        report(
            T0.plusSeconds(2),
            event("f1", "u2", "UpdateInitStarted", null),
            failed(
                "f2",
                "u2",
                "UpdateInitCompleted",
                "{\"error\": \"hub.example.com/acme/web: registry answered 404 MANIFEST_UNKNOWN\"}"),
            failed("f3", "u2", "EcuInstallationCompleted", "{\"error\": \"later\"}"));
    Device.Failure expected =
        new Device.Failure(
            "u2",
            "amd64-linux-43",
            "UpdateInitCompleted",
            "hub.example.com/acme/web: registry answered 404 MANIFEST_UNKNOWN",
            T0.plusSeconds(2));
    assertEquals(expected, failing.reply().getValue().lastFailure());

    var rollback =
        report(
            T0.plusSeconds(3),
            event("r1", "u3", "UpdateInitStarted", null),
            event("r2", "u3", "EcuInstallationCompleted", true));
    Device.Summary after = rollback.reply().getValue();
    assertEquals(Device.UpdateState.SUCCEEDED, after.currentUpdateState());
    assertEquals("u3", after.currentUpdate());
    assertEquals(expected, after.lastFailure(), "the rollback's success hides no failure");

    assertEquals(
        expected,
        report(
                T0.plusSeconds(4),
                failed("f4", "u2", "EcuDownloadCompleted", "{\"error\": \"resent late\"}"))
            .reply()
            .getValue()
            .lastFailure(),
        "a later failed event of the same update keeps the step that failed first");

    device.restart();
    assertEquals(expected, device.getState().lastFailure());

    Device.Failure canceled =
        report(
                T0.plusSeconds(5),
                failed("c1", "u4", "EcuInstallationCompleted", "{\"canceled\": \"newer target\"}"))
            .reply()
            .getValue()
            .lastFailure();
    assertEquals(
        new Device.Failure(
            "u4",
            "amd64-linux-43",
            "EcuInstallationCompleted",
            "canceled: newer target",
            T0.plusSeconds(5)),
        canceled);
  }

  @Test
  void aSnapshotWithoutTheLastFailureFindsItInItsUpdates() {
    Device.Update failedUpdate =
        new Device.Update(
            "u1",
            "amd64-linux-43",
            "43",
            List.of(failed("e1", "u1", "EcuDownloadCompleted", "not json")),
            T0,
            T0.plusSeconds(9));
    Device.Update rollback =
        new Device.Update(
            "u2",
            "amd64-linux-42",
            "42",
            List.of(event("e2", "u2", "EcuInstallationCompleted", true)),
            T0.plusSeconds(10),
            T0.plusSeconds(10));
    Device.State old = stateWith("main", "amd64-linux-42", List.of());
    Device.State loaded =
        new Device.State(
            old.factory(),
            old.name(),
            old.hardwareId(),
            old.group(),
            old.tag(),
            old.production(),
            old.targetName(),
            old.apps(),
            old.createdAt(),
            old.lastSeen(),
            List.of(failedUpdate, rollback),
            null,
            java.util.Map.of(),
            List.of(),
            null,
            null,
            null,
            null);
    assertEquals(
        new Device.Failure(
            "u1", "amd64-linux-43", "EcuDownloadCompleted", "not json", T0.plusSeconds(9)),
        loaded.lastFailure());
  }

  /**
   * As fioup sends it after each change of the targets version (pkg/state/check.go,
   * sendMetadataUpdateCompletedEvent).
   */
  private static UpdateEvent metadataEvent(String id, String ulid, boolean success) {
    return new UpdateEvent(
        id,
        "2026-11-27T10:00:00Z",
        "MetadataUpdateCompleted",
        0,
        "meta-" + ulid,
        success,
        "amd64-linux-42",
        "42",
        "{\"from_version\":-1,\"to_version\":3}");
  }

  @Test
  void metadataEventsAreJournaledButAreNoUpdate() {
    var first =
        device.<StatusReply<Device.Summary>>runCommand(
            replyTo ->
                new Device.ReportUpdateEvents(
                    contact(T0, "main", null, null),
                    List.of(metadataEvent("m1", "01KAAAAAAAAAAAAAAAAAAAAAAA", true)),
                    replyTo));
    assertTrue(
        first.events().stream().anyMatch(e -> e instanceof Device.UpdateEventsReported),
        "the device event is in the journal");
    assertNull(first.reply().getValue().currentUpdate(), "the first check is no update");
    assertTrue(first.state().updates().isEmpty());

    device.<StatusReply<Device.Summary>>runCommand(
        replyTo ->
            new Device.ReportUpdateEvents(
                contact(T0.plusSeconds(1), null, null, null),
                List.of(
                    event("e1", "u1", "UpdateInitStarted", null),
                    event("e2", "u1", "EcuInstallationCompleted", true)),
                replyTo));
    var failedMeta =
        device.<StatusReply<Device.Summary>>runCommand(
            replyTo ->
                new Device.ReportUpdateEvents(
                    contact(T0.plusSeconds(2), null, null, null),
                    List.of(metadataEvent("m2", "01KBBBBBBBBBBBBBBBBBBBBBBB", false)),
                    replyTo));
    assertEquals("u1", failedMeta.reply().getValue().currentUpdate());
    assertEquals(
        Device.UpdateState.SUCCEEDED,
        failedMeta.reply().getValue().currentUpdateState(),
        "a failed metadata update fails no update");

    device.restart();
    assertEquals(
        List.of("u1"),
        device.getState().updates().stream().map(Device.Update::correlationId).toList(),
        "replayed by the same rule");
  }

  /**
   * A snapshot taken by the code that made metadata events into updates: serialized as the snapshot
   * store does, the phantom's correlation id and event type written into the bytes (the constructor
   * would not let such a state be).
   */
  @Test
  void aSnapshotHoldingAPhantomUpdateLosesItOnLoad() throws Exception {
    String stand = "xeta-01KCCCCCCCCCCCCCCCCCCCCCCC";
    UpdateEvent phantomEvent =
        new UpdateEvent(
            "m1",
            "2026-11-27T10:00:00Z",
            "MetadataUpdateCompletex",
            0,
            stand,
            true,
            null,
            null,
            null);
    Device.Update phantom = new Device.Update(stand, null, null, List.of(phantomEvent), T0, T0);
    Device.Update real =
        new Device.Update(
            "u1",
            "amd64-linux-41",
            "41",
            List.of(event("e1", "u1", "EcuInstallationCompleted", true)),
            T0,
            T0);
    Device.State written =
        new Device.State(
            "acme",
            "dev",
            "amd64-linux",
            null,
            "main",
            false,
            "amd64-linux-41",
            List.of(),
            T0,
            T0,
            List.of(real, phantom),
            null,
            java.util.Map.of(),
            List.of(),
            null,
            null,
            null,
            null);
    Serialization serialization = SerializationExtension.get(testKit.system());
    byte[] bytes = serialization.serialize(written).get();
    String latin =
        new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1)
            .replace(stand, "meta-" + stand.substring(5))
            .replace("MetadataUpdateCompletex", "MetadataUpdateCompleted");
    Device.State old =
        (Device.State)
            serialization
                .deserialize(
                    latin.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1),
                    33,
                    Device.State.class.getName())
                .get();
    device.initialize(old);

    Device.Summary summary =
        device
            .<StatusReply<Device.Summary>>runCommand(replyTo -> new Device.Get("acme", replyTo))
            .reply()
            .getValue();
    assertEquals("u1", summary.currentUpdate());
    assertNull(summary.lastFailure(), "a snapshot from before knows no failure and had none");
    assertEquals(Device.UpdateState.SUCCEEDED, summary.currentUpdateState());
  }

  @Test
  void unchangedReportsPersistNothing() {
    checkIn(contact(T0, "main", null, null));
    Device.AppsStates states =
        new Device.AppsStates("abc", "2026-11-27T10:00:00Z", "{\"a\":{\"state\":\"healthy\"}}");
    var first =
        device.<StatusReply<Device.Summary>>runCommand(
            replyTo ->
                new Device.ReportAppsStates(
                    contact(T0.plusSeconds(1), null, null, null), states, replyTo));
    assertEquals(1, first.events().size());
    Device.AppsStates later =
        new Device.AppsStates("abc", "2026-11-27T10:05:00Z", states.appsJson());
    var same =
        device.<StatusReply<Device.Summary>>runCommand(
            replyTo ->
                new Device.ReportAppsStates(
                    contact(T0.plusSeconds(2), null, null, null), later, replyTo));
    assertTrue(same.hasNoEvents(), "only the device time differs");

    var info =
        device.<StatusReply<Device.Summary>>runCommand(
            replyTo ->
                new Device.ReportSystemInfo(
                    contact(T0.plusSeconds(3), null, null, null),
                    Device.SystemInfoKind.NETWORK,
                    "{\"hostname\":\"h\"}",
                    replyTo));
    assertEquals(1, info.events().size());
    var infoAgain =
        device.<StatusReply<Device.Summary>>runCommand(
            replyTo ->
                new Device.ReportSystemInfo(
                    contact(T0.plusSeconds(4), null, null, null),
                    Device.SystemInfoKind.NETWORK,
                    "{\"hostname\":\"h\"}",
                    replyTo));
    assertTrue(infoAgain.hasNoEvents());
  }

  @Test
  void aNewGroupWakesTheDeviceAndARenameDoesNot() {
    checkIn(contact(T0, "main", null, null));
    device.<StatusReply<Device.Summary>>runCommand(
        replyTo -> new Device.Change("acme", null, "lab", T0.plusSeconds(1), replyTo));
    assertEquals(ConfigPublished.device("acme", uuid, "lab"), configPublished.receiveMessage());
    device.<StatusReply<Device.Summary>>runCommand(
        replyTo -> new Device.Change("acme", "renamed", null, T0.plusSeconds(2), replyTo));
    configPublished.expectNoMessage(Duration.ofMillis(200));
    device.<StatusReply<Device.Summary>>runCommand(
        replyTo -> new Device.Change("acme", null, "", T0.plusSeconds(3), replyTo));
    assertEquals(
        ConfigPublished.device("acme", uuid, null),
        configPublished.receiveMessage(),
        "leaving the group");
  }

  @Test
  void anOperatorsChangeIsStoredWholeOrNotAtAll() {
    checkIn(contact(T0, "main", null, null));
    Device.ConfigFile tag = new Device.ConfigFile("z-50-fioctl.toml", "tags = 1", true, List.of());
    var whole =
        device.<StatusReply<Device.Summary>>runCommand(
            replyTo ->
                new Device.Change(
                    "acme",
                    "renamed",
                    "lab",
                    Map.of("ring", "canary"),
                    new Device.FileChange(tag, "tag set"),
                    T0.plusSeconds(1),
                    replyTo));
    assertEquals(
        List.of(Device.DetailsChanged.class, Device.LabelsSet.class, Device.ConfigChanged.class),
        whole.events().stream().map(Object::getClass).toList());
    Device.Summary summary = whole.reply().getValue();
    assertEquals("renamed", summary.name());
    assertEquals(Map.of("ring", "canary"), summary.labels());
    assertEquals(List.of(tag), summary.config());
    assertEquals(ConfigPublished.device("acme", uuid, "lab"), configPublished.receiveMessage());

    var refused =
        device.<StatusReply<Device.Summary>>runCommand(
            replyTo ->
                new Device.Change(
                    "acme",
                    "again",
                    "other",
                    Map.of("ring", "x".repeat(10_000)),
                    null,
                    T0.plusSeconds(2),
                    replyTo));
    assertEquals(
        Rejection.Kind.INVALID, Rejection.of(refused.reply().getError()).orElseThrow().kind());
    assertTrue(refused.hasNoEvents(), "a bad label keeps the good name and group out too");
    assertEquals("renamed", refused.state().name());
  }

  @Test
  void configPatchMergesAndOperatorReplaces() {
    checkIn(contact(T0, "main", null, null));
    Device.ConfigFile a = new Device.ConfigFile("a.toml", "x = 1", true, List.of());
    Device.ConfigFile b =
        new Device.ConfigFile("b.toml", "y = 2", true, List.of("/usr/share/fioconfig/handlers/h"));
    device.<StatusReply<Device.Summary>>runCommand(
        replyTo -> new Device.ReplaceConfig("acme", List.of(a), "op", T0.plusSeconds(1), replyTo));
    assertEquals(
        ConfigPublished.device("acme", uuid, null),
        configPublished.receiveMessage(),
        "an operator's change wakes the device");
    var patched =
        device.<StatusReply<Device.Summary>>runCommand(
            replyTo ->
                new Device.PatchConfig(
                    contact(T0.plusSeconds(2), null, null, null), List.of(b), "dev", replyTo));
    assertEquals(List.of(a, b), patched.reply().getValue().config());
    configPublished.expectNoMessage(Duration.ofMillis(200));
    var bad =
        device.<StatusReply<Device.Summary>>runCommand(
            replyTo ->
                new Device.PatchConfig(
                    contact(T0.plusSeconds(3), null, null, null), List.of(b, b), "dev", replyTo));
    assertEquals(Rejection.Kind.INVALID, Rejection.of(bad.reply().getError()).orElseThrow().kind());
  }

  @Test
  void decommissionRefusesTheDeviceAndAnnouncesTheRevocation() {
    checkIn(contact(T0, "main", null, null));
    var decommissioned =
        device.<StatusReply<org.apache.pekko.Done>>runCommand(
            replyTo -> new Device.Decommission("acme", T0.plusSeconds(1), replyTo));
    assertTrue(decommissioned.reply().isSuccess());
    assertEquals(new Device.Revoked("acme", uuid), revoked.receiveMessage());
    var contact = checkIn(contact(T0.plusSeconds(2), null, null, null));
    assertEquals(
        Rejection.Kind.FORBIDDEN, Rejection.of(contact.reply().getError()).orElseThrow().kind());
    assertTrue(contact.hasNoEvents());
  }

  @Test
  void stateSurvivesARestart() {
    checkIn(contact(T0, "main", "amd64-linux-41", List.of("a")));
    device.<StatusReply<Device.Summary>>runCommand(
        replyTo ->
            new Device.ReportUpdateEvents(
                contact(T0.plusSeconds(1), null, null, null),
                List.of(event("e1", "u1", "UpdateInitStarted", null)),
                replyTo));
    Device.State before = device.getState();
    device.restart();
    assertEquals(before, device.getState());
    assertTrue(
        device
            .<StatusReply<Device.Summary>>runCommand(
                replyTo ->
                    new Device.ReportUpdateEvents(
                        contact(T0.plusSeconds(2), null, null, null),
                        List.of(event("e1", "u1", "UpdateInitStarted", null)),
                        replyTo))
            .hasNoEvents());
  }

  /**
   * {@code device/state-snapshot-v1.cbor} is a State serialized (jackson-cbor, as the snapshot
   * store does) by the code before the state was slimmed, when it still held uuid, certificate
   * serial and public key.
   */
  @Test
  void recoversFromASnapshotOfTheFormerStateShape() throws Exception {
    byte[] bytes;
    try (var in = DeviceTest.class.getResourceAsStream("/device/state-snapshot-v1.cbor")) {
      bytes = in.readAllBytes();
    }
    Serialization serialization = SerializationExtension.get(testKit.system());
    Device.State old =
        (Device.State)
            serialization.deserialize(bytes, 33, "io.flotilla.core.device.Device$State").get();
    device.initialize(old);

    Device.Summary summary =
        device
            .<StatusReply<Device.Summary>>runCommand(replyTo -> new Device.Get("acme", replyTo))
            .reply()
            .getValue();
    assertEquals(uuid, summary.uuid());
    assertEquals("dev-1", summary.name());
    assertEquals("amd64-linux", summary.hardwareId());
    assertEquals("lab", summary.group());
    assertEquals("main", summary.tag());
    assertTrue(summary.production());
    assertEquals("amd64-linux-41", summary.targetName());
    assertEquals(List.of("shellhttpd", "nginx"), summary.apps());
    assertEquals(T0, summary.createdAt());
    assertEquals(T0.plusSeconds(300), summary.lastSeen());
    assertEquals("u1", summary.currentUpdate());
    assertEquals(
        List.of(
            new Device.ConfigFile(
                "z-50-fioctl.toml",
                "[pacman]\n  tags = \"main\"\n",
                true,
                List.of("/usr/share/fioconfig/handlers/x"))),
        summary.config());
    assertEquals(T0.plusSeconds(4), summary.configChangedAt());
    assertEquals(2, device.getState().update("u1").events().size());
    assertEquals(
        "{\"hostname\":\"dev-1\"}",
        device.getState().systemInfo().get(Device.SystemInfoKind.NETWORK),
        "the old snapshot kept the content");
    assertEquals("abc123", device.getState().appsStates().ostree());

    assertTrue(
        checkIn(
                contact(
                    T0.plusSeconds(301), "main", "amd64-linux-41", List.of("shellhttpd", "nginx")))
            .hasNoEvents(),
        "nothing changed");
    assertTrue(
        device
            .<StatusReply<Device.Summary>>runCommand(
                replyTo ->
                    new Device.ReportUpdateEvents(
                        contact(T0.plusSeconds(302), null, null, null),
                        List.of(event("e2", "u1", "UpdateInitCompleted", true)),
                        replyTo))
            .hasNoEvents(),
        "the snapshot's update events are known");

    // against a content the state holds a digest of it from now on: the first repeat is persisted
    // once more, then no longer
    assertEquals(1, reportNetwork(T0.plusSeconds(303), "{\"hostname\":\"dev-1\"}").events().size());
    assertEquals(
        Device.systemInfoDigest("{\"hostname\":\"dev-1\"}"),
        device.getState().systemInfo().get(Device.SystemInfoKind.NETWORK));
    assertTrue(reportNetwork(T0.plusSeconds(304), "{\"hostname\":\"dev-1\"}").hasNoEvents());
  }

  private CommandResultWithReply<
          Device.Command, Device.Event, Device.State, StatusReply<Device.Summary>>
      reportNetwork(Instant at, String content) {
    return device.runCommand(
        replyTo ->
            new Device.ReportSystemInfo(
                contact(at, null, null, null), Device.SystemInfoKind.NETWORK, content, replyTo));
  }

  @Test
  void devicesShareTheValuesTheyHaveInCommon() {
    Device.State a =
        stateWith(
            new String("main"), new String("amd64-linux-41"), List.of(new String("shellhttpd")));
    Device.State b =
        stateWith(
            new String("main"), new String("amd64-linux-41"), List.of(new String("shellhttpd")));
    assertSame(a.factory(), b.factory());
    assertSame(a.tag(), b.tag());
    assertSame(a.targetName(), b.targetName());
    assertSame(a.apps(), b.apps());
    assertNotSame(a.name(), b.name(), "names are one a device, so sharing them would only cost");
    assertSame(
        Device.create("d1", SETTINGS, null, null).emptyState(),
        Device.create("d2", SETTINGS, null, null).emptyState());
  }

  private static Device.State stateWith(String tag, String target, List<String> apps) {
    return new Device.State(
        new String("acme"),
        new String("dev"),
        "amd64-linux",
        null,
        tag,
        false,
        target,
        apps,
        T0,
        T0,
        List.of(),
        null,
        java.util.Map.of(),
        List.of(),
        null,
        null,
        null,
        null);
  }

  private static io.flotilla.core.Rejection.Kind kind(StatusReply<?> reply) {
    assertTrue(reply.isError(), "expected a refusal");
    return io.flotilla.core.Rejection.of(
            new StatusReply.ErrorMessage(reply.getError().getMessage()))
        .orElseThrow()
        .kind();
  }

  @Test
  void refusesRegistrationsAndContactsOutsideTheBoundsWithoutEvents() {
    var longName =
        device.<StatusReply<Device.Summary>>runCommand(
            replyTo ->
                new Device.Register(
                    "acme",
                    "\uD83D\uDE00".repeat(200),
                    "amd64-linux",
                    null,
                    null,
                    false,
                    "0a1b",
                    "PEM",
                    T0,
                    replyTo));
    assertTrue(longName.hasNoEvents());
    assertEquals(io.flotilla.core.Rejection.Kind.INVALID, kind(longName.reply()));
    var badHardware =
        device.<StatusReply<Device.Summary>>runCommand(
            replyTo ->
                new Device.Register(
                    "acme",
                    "d",
                    "amd64 linux\u0000",
                    null,
                    null,
                    false,
                    "0a1b",
                    "PEM",
                    T0,
                    replyTo));
    assertEquals(io.flotilla.core.Rejection.Kind.INVALID, kind(badHardware.reply()));
    var nulTarget = checkIn(contact(T0, "main", "t\u0000", null));
    assertTrue(nulTarget.hasNoEvents());
    assertEquals(io.flotilla.core.Rejection.Kind.INVALID, kind(nulTarget.reply()));
    var badApps = checkIn(contact(T0, null, null, java.util.Arrays.asList("ok", null)));
    assertEquals(io.flotilla.core.Rejection.Kind.INVALID, kind(badApps.reply()));
    assertTrue(checkIn(contact(T0, "main", "amd64-linux-1", List.of("ok"))).reply().isSuccess());
  }

  @Test
  void dropsUpdateEventsTheReadSideCouldNotStore() {
    checkIn(contact(T0, "main", null, null));
    UpdateEvent nul =
        new UpdateEvent(
            "e1",
            "2026-11-27T10:00:00Z",
            "EcuDownloadStarted",
            2,
            "c1",
            null,
            "t\u0000",
            "42",
            "{}");
    UpdateEvent longType =
        new UpdateEvent(
            "e2", "2026-11-27T10:00:00Z", "x".repeat(65), 2, "c1", null, null, null, null);
    var result =
        device.<StatusReply<Device.Summary>>runCommand(
            replyTo ->
                new Device.ReportUpdateEvents(
                    contact(T0.plusSeconds(1), null, null, null), List.of(nul, longType), replyTo));
    assertTrue(result.reply().isSuccess());
    assertTrue(result.events().stream().noneMatch(e -> e instanceof Device.UpdateEventsReported));
  }

  @Test
  void refusesConfigBeyondItsBounds() {
    checkIn(contact(T0, "main", null, null));
    Device.ConfigFile huge =
        new Device.ConfigFile(
            "big", "x".repeat(io.flotilla.core.Limits.CONFIG_CHARS + 1), true, List.of());
    Device.ConfigFile handler =
        new Device.ConfigFile(
            "h",
            "v",
            true,
            java.util.Collections.nCopies(io.flotilla.core.Limits.ON_CHANGED_ARGS + 1, "a"));
    Device.ConfigFile ok = new Device.ConfigFile("ok", "v", true, List.of("/bin/true"));
    for (var files : List.of(List.of(huge), List.of(handler))) {
      var refused =
          device.<StatusReply<Device.Summary>>runCommand(
              replyTo -> new Device.ReplaceConfig("acme", files, "op", T0, replyTo));
      assertTrue(refused.hasNoEvents());
      assertEquals(io.flotilla.core.Rejection.Kind.INVALID, kind(refused.reply()));
    }
    var badReason =
        device.<StatusReply<Device.Summary>>runCommand(
            replyTo -> new Device.ReplaceConfig("acme", List.of(ok), "r\u0007", T0, replyTo));
    assertEquals(io.flotilla.core.Rejection.Kind.INVALID, kind(badReason.reply()));
    Device.ConfigFile half =
        new Device.ConfigFile(
            "half", "x".repeat(io.flotilla.core.Limits.CONFIG_CHARS / 2 + 1), true, List.of());
    Device.ConfigFile otherHalf =
        new Device.ConfigFile(
            "other", "x".repeat(io.flotilla.core.Limits.CONFIG_CHARS / 2 + 1), true, List.of());
    assertTrue(
        device
            .<StatusReply<Device.Summary>>runCommand(
                replyTo -> new Device.ReplaceConfig("acme", List.of(half), "op", T0, replyTo))
            .reply()
            .isSuccess());
    var patched =
        device.<StatusReply<Device.Summary>>runCommand(
            replyTo ->
                new Device.PatchConfig(
                    contact(T0.plusSeconds(1), null, null, null),
                    List.of(otherHalf),
                    "dev",
                    replyTo));
    assertEquals(io.flotilla.core.Rejection.Kind.INVALID, kind(patched.reply()));
  }
}
