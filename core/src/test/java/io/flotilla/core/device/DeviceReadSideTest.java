package io.flotilla.core.device;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.device.Device.Contact;
import io.flotilla.core.device.Device.UpdateEvent;
import io.flotilla.core.device.DeviceQueries.DeviceFilter;
import io.flotilla.core.target.Targets;
import io.flotilla.core.testing.TestDatabases;
import io.flotilla.core.testing.TestNode;
import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Device entities through sharding on a real database, projected into device_status and
 * device_updates.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class DeviceReadSideTest {

  static final Duration PATIENCE = Duration.ofSeconds(20);
  static final String URI = "hub.local/%s/shellhttpd@sha256:" + "12".repeat(32);

  @TempDir static Path dataDir;
  TestNode node;
  FlotillaCore core;

  abstract TestDatabases.Kind kind();

  @BeforeAll
  void startNode() throws Exception {
    node = TestNode.start(TestNode.config(TestDatabases.fresh(kind()), dataDir));
    core = node.core();
    // The first ask waits for sharding to come up, which on a loaded machine can outlast the ask
    // timeout.
    eventually(
        PATIENCE,
        () ->
            send(
                "warm-up",
                r -> new Device.CheckIn(contact("warm-up", null, null, Instant.now()), r)));
  }

  @AfterAll
  void stopNode() {
    node.close();
  }

  <T> T await(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(15, TimeUnit.SECONDS);
  }

  Device.Summary send(
      String uuid,
      java.util.function.Function<
              org.apache.pekko.actor.typed.ActorRef<
                  org.apache.pekko.pattern.StatusReply<Device.Summary>>,
              Device.Command>
          command)
      throws Exception {
    return await(core.device(uuid).askWithStatus(command::apply, core.askTimeout()));
  }

  static Contact contact(String factory, String tag, String target, Instant at) {
    return new Contact(factory, false, "0a", "PEM", tag, target, List.of("shellhttpd"), at);
  }

  static UpdateEvent event(String id, String correlationId, String type, Boolean success) {
    return new UpdateEvent(
        id,
        "2026-11-27T10:00:00Z",
        type,
        2,
        correlationId,
        success,
        "amd64-linux-2",
        "2",
        "{\"x\":1}");
  }

  @Test
  void devicesAndTheirUpdatesReachTheReadSide() throws Exception {
    String factory = "rs-" + UUID.randomUUID().toString().substring(0, 8);
    String uuid = UUID.randomUUID().toString();
    Instant now = Instant.now();
    send(
        uuid,
        r ->
            new Device.Register(
                factory, "dev-1", "amd64-linux", "lab", "main", false, "0a", "PEM", now, r));
    send(
        uuid,
        r -> new Device.CheckIn(contact(factory, "main", "amd64-linux-1", now.plusSeconds(1)), r));
    send(
        uuid,
        r ->
            new Device.ReportUpdateEvents(
                contact(factory, null, null, now.plusSeconds(2)),
                List.of(
                    event("e1", "u-1", "UpdateInitStarted", null),
                    event("e2", "u-1", "UpdateInitCompleted", true)),
                r));
    send(
        uuid,
        r ->
            new Device.ReportUpdateEvents(
                contact(factory, null, null, now.plusSeconds(3)),
                List.of(
                    event("e2", "u-1", "UpdateInitCompleted", true),
                    event("e3", "u-1", "EcuInstallationCompleted", true)),
                r));
    send(
        uuid,
        r ->
            new Device.ReportUpdateEvents(
                contact(factory, null, null, now.plusSeconds(4)),
                List.of(event("f1", "u-2", "EcuDownloadCompleted", false)),
                r));

    DeviceQueries queries = core.deviceQueries();
    DeviceQueries.DeviceRow row =
        eventually(
            PATIENCE,
            () -> {
              var found = await(queries.device(factory, uuid)).orElseThrow();
              assertEquals("failed", found.updateState());
              return found;
            });
    assertEquals("dev-1", row.name());
    assertEquals("lab", row.group());
    assertEquals("main", row.tag());
    assertEquals("amd64-linux-1", row.targetName());
    assertEquals(List.of("shellhttpd"), row.apps());
    assertEquals("u-2", row.updateCorrelationId());
    assertNotNull(row.lastSeen());

    var updates = await(queries.updates(factory, uuid));
    assertEquals(
        List.of("u-2", "u-1"),
        updates.stream().map(DeviceQueries.UpdateRow::correlationId).toList());
    assertEquals("failed", updates.get(0).state());
    assertEquals("EcuDownloadCompleted", updates.get(0).failedStep());
    var first = await(queries.update(factory, uuid, "u-1")).orElseThrow();
    assertEquals("succeeded", first.state());
    assertEquals(List.of("e1", "e2", "e3"), first.events().stream().map(UpdateEvent::id).toList());
    assertEquals("{\"x\":1}", first.events().get(0).details());
    assertTrue(await(queries.update("other", uuid, "u-1")).isEmpty());
  }

  @Test
  void theLastFailureOutlivesTheRollbackOnTheReadSide() throws Exception {
    String factory = "lf-" + UUID.randomUUID().toString().substring(0, 8);
    String failing = UUID.randomUUID().toString();
    String healthy = UUID.randomUUID().toString();
    Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
    send(
        healthy,
        r ->
            new Device.ReportUpdateEvents(
                contact(factory, "main", "amd64-linux-1", now),
                List.of(event("h1", "u-1", "EcuInstallationCompleted", true)),
                r));
    send(
        failing,
        r ->
            new Device.ReportUpdateEvents(
                contact(factory, "main", "amd64-linux-1", now),
                List.of(
                    event("e1", "u-1", "UpdateInitStarted", null),
                    new UpdateEvent(
                        "e2",
                        "2026-11-27T10:00:00Z",
                        "UpdateInitCompleted",
                        2,
                        "u-1",
                        false,
                        "amd64-linux-2",
                        "2",
                        "{\"error\": \"registry 127.0.0.1:1 refused the connection\"}")),
                r));
    Device.Summary afterRollback =
        send(
            failing,
            r ->
                new Device.ReportUpdateEvents(
                    contact(factory, null, null, now.plusSeconds(1)),
                    List.of(
                        new UpdateEvent(
                            "r1",
                            "2026-11-27T10:00:01Z",
                            "EcuInstallationCompleted",
                            2,
                            "u-2",
                            true,
                            "amd64-linux-1",
                            "1",
                            null)),
                    r));
    Device.Failure expected =
        new Device.Failure(
            "u-1",
            "amd64-linux-2",
            "UpdateInitCompleted",
            "registry 127.0.0.1:1 refused the connection",
            now);
    assertEquals(expected, afterRollback.lastFailure());

    DeviceQueries queries = core.deviceQueries();
    DeviceQueries.DeviceRow row =
        eventually(
            PATIENCE,
            () -> {
              var found = await(queries.device(factory, failing)).orElseThrow();
              assertEquals("u-2", found.updateCorrelationId());
              return found;
            });
    assertEquals("succeeded", row.updateState());
    assertEquals(expected, row.lastFailure());

    var page =
        eventually(
            PATIENCE,
            () -> {
              var listed =
                  await(
                      queries.devices(
                          factory,
                          new DeviceQueries.DeviceFilter(null, null, null, null, null, false),
                          now,
                          10,
                          null));
              assertEquals(2, listed.devices().size());
              return listed;
            });
    for (DeviceQueries.DeviceRow listed : page.devices()) {
      assertEquals(listed.uuid().equals(failing) ? expected : null, listed.lastFailure());
    }
  }

  @Test
  void filtersPagingStatusAndDecommission() throws Exception {
    String factory = "fl-" + UUID.randomUUID().toString().substring(0, 8);
    await(
        core.targets(factory)
            .<Targets.Added>askWithStatus(
                r ->
                    new Targets.Add(
                        List.of("amd64-linux"),
                        2L,
                        List.of("main"),
                        Map.of("shellhttpd", URI.formatted(factory)),
                        null,
                        r),
                core.askTimeout()));
    Instant now = Instant.now();
    for (int i = 0; i < 5; i++) {
      String uuid = "dev-" + i + "-" + factory;
      String target = i < 3 ? "amd64-linux-2" : "amd64-linux-1";
      send(
          uuid,
          r ->
              new Device.CheckIn(contact(factory, i(uuid) == 4 ? "beta" : "main", target, now), r));
    }
    send(
        "dev-4-" + factory,
        r ->
            new Device.ReportUpdateEvents(
                contact(factory, null, null, now),
                List.of(event("x", "u", "UpdateInitStarted", null)),
                r));
    DeviceQueries queries = core.deviceQueries();
    Instant onlineSince = now.minus(Duration.ofMinutes(15));
    // Each device's slice is projected independently: wait for all of them before paging.
    eventually(
        PATIENCE,
        () -> {
          assertEquals(
              5,
              await(
                      queries.devices(
                          factory,
                          new DeviceFilter(null, null, null, null, null, false),
                          onlineSince,
                          10,
                          null))
                  .devices()
                  .size());
          var page =
              await(
                  queries.devices(
                      factory,
                      new DeviceFilter(null, null, null, null, true, false),
                      onlineSince,
                      10,
                      null));
          assertEquals(1, page.devices().size());
          return null;
        });
    var all =
        await(
            queries.devices(
                factory,
                new DeviceFilter(null, null, null, null, null, false),
                onlineSince,
                2,
                null));
    assertEquals(2, all.devices().size());
    var second =
        await(
            queries.devices(
                factory,
                new DeviceFilter(null, null, null, null, null, false),
                onlineSince,
                2,
                all.nextCursor()));
    var third =
        await(
            queries.devices(
                factory,
                new DeviceFilter(null, null, null, null, null, false),
                onlineSince,
                2,
                second.nextCursor()));
    assertEquals(1, third.devices().size());
    assertNull(third.nextCursor());
    assertEquals(
        4,
        await(
                queries.devices(
                    factory,
                    new DeviceFilter("main", null, null, null, null, false),
                    onlineSince,
                    10,
                    null))
            .devices()
            .size());
    assertEquals(
        3,
        await(
                queries.devices(
                    factory,
                    new DeviceFilter(null, "amd64-linux-2", null, null, null, false),
                    onlineSince,
                    10,
                    null))
            .devices()
            .size());
    assertEquals(
        5,
        await(
                queries.devices(
                    factory,
                    new DeviceFilter(null, null, null, true, null, false),
                    onlineSince,
                    10,
                    null))
            .devices()
            .size());
    assertEquals(
        0,
        await(
                queries.devices(
                    factory,
                    new DeviceFilter(null, null, null, false, null, false),
                    onlineSince,
                    10,
                    null))
            .devices()
            .size());

    var status = await(queries.status(factory, onlineSince));
    assertEquals(5, status.devices());
    assertEquals(5, status.online());
    assertEquals(3, status.upToDate());
    assertEquals(1, status.updating());
    assertEquals(Map.of("main", 4L, "beta", 1L), status.byTag());
    assertEquals(Map.of("amd64-linux-2", 3L, "amd64-linux-1", 2L), status.byTarget());

    String gone = "dev-0-" + factory;
    await(
        core.device(gone)
            .<Done>askWithStatus(
                r -> new Device.Decommission(factory, Instant.now(), r), core.askTimeout()));
    eventually(
        PATIENCE,
        () -> {
          assertTrue(core.deviceRevocations().isRevoked(factory, gone, BigInteger.ONE));
          assertEquals(
              4,
              await(
                      queries.devices(
                          factory,
                          new DeviceFilter(null, null, null, null, null, false),
                          onlineSince,
                          10,
                          null))
                  .devices()
                  .size());
          return null;
        });
    assertTrue(await(queries.decommissioned()).contains(new Device.Revoked(factory, gone)));
    assertFalse(core.deviceRevocations().isRevoked(factory, "dev-1-" + factory, BigInteger.ONE));
  }

  /**
   * fioup's MetadataUpdateCompleted (pkg/state/check.go, sendMetadataUpdateCompletedEvent) as it
   * sends it.
   */
  static UpdateEvent metadataEvent(String id, String ulid) {
    return new UpdateEvent(
        id,
        "2026-11-27T10:00:00Z",
        "MetadataUpdateCompleted",
        0,
        "meta-" + ulid,
        true,
        "amd64-linux-2",
        "2",
        "{\"from_version\":-1,\"to_version\":3}");
  }

  @Test
  void theDashboardsSearchFiltersSortsPagesAndCounts() throws Exception {
    String factory = "ds-" + UUID.randomUUID().toString().substring(0, 8);
    await(
        core.targets(factory)
            .<Targets.Added>askWithStatus(
                r ->
                    new Targets.Add(
                        List.of("amd64-linux"),
                        2L,
                        List.of("main"),
                        Map.of("shellhttpd", URI.formatted(factory)),
                        null,
                        r),
                core.askTimeout()));
    Instant now = Instant.now();
    // Names with LIKE's wildcards: "a_b" must not match "axb", "100%" not "1000".
    List<String> names = List.of("Alpha a_b", "beta axb", "Gamma 100%", "delta 1000");
    for (int i = 0; i < names.size(); i++) {
      String uuid = "s" + i + "-" + factory;
      String name = names.get(i);
      Instant seen = i == 3 ? now.minus(Duration.ofDays(8)) : now.minusSeconds(i);
      send(
          uuid,
          r ->
              new Device.Register(
                  factory, name, "amd64-linux", null, "main", false, "0a", "PEM", seen, r));
      String target = i == 0 ? "amd64-linux-2" : "amd64-linux-1";
      send(uuid, r -> new Device.CheckIn(contact(factory, "main", target, seen), r));
    }
    send(
        "s1-" + factory,
        r ->
            new Device.ReportUpdateEvents(
                contact(factory, null, null, now),
                List.of(event("f", "u-f", "EcuDownloadCompleted", false)),
                r));
    send(
        "s2-" + factory,
        r ->
            new Device.ReportUpdateEvents(
                contact(factory, null, null, now),
                List.of(event("g", "u-g", "UpdateInitStarted", null)),
                r));
    send(
        "s1-" + factory,
        r -> new Device.Change(factory, null, null, Map.of("ring", "canary"), null, now, r));
    DeviceQueries queries = core.deviceQueries();
    Instant onlineSince = now.minus(Duration.ofMinutes(15));
    eventually(
        PATIENCE,
        () -> {
          var canary =
              await(
                  queries.search(
                      factory,
                      new DeviceQueries.DeviceSearch(
                          null,
                          null,
                          null,
                          null,
                          "ring",
                          "canary",
                          null,
                          null,
                          null,
                          DeviceQueries.DeviceSort.NAME,
                          false,
                          0,
                          10),
                      onlineSince));
          assertEquals(List.of("beta axb"), names(canary));
          var failed =
              await(
                  queries.search(
                      factory, search(null, DeviceQueries.DeviceStatus.FAILED), onlineSince));
          assertEquals(1, failed.total());
          var updating =
              await(
                  queries.search(
                      factory, search(null, DeviceQueries.DeviceStatus.UPDATING), onlineSince));
          assertEquals(1, updating.total());
          assertEquals(4, await(queries.search(factory, search(null, null), onlineSince)).total());
          return null;
        });
    assertEquals(
        List.of("Alpha a_b"),
        names(await(queries.search(factory, search("A_B", null), onlineSince))));
    assertEquals(
        List.of("Gamma 100%"),
        names(await(queries.search(factory, search("100%", null), onlineSince))));
    assertEquals(
        List.of("delta 1000"),
        names(
            await(
                queries.search(
                    factory, search(null, DeviceQueries.DeviceStatus.OFFLINE), onlineSince))));
    assertEquals(
        List.of("s2-" + factory),
        await(queries.search(factory, search("s2-", null), onlineSince)).devices().stream()
            .map(DeviceQueries.DeviceRow::uuid)
            .toList());

    var byNameDescending =
        await(
            queries.search(
                factory,
                new DeviceQueries.DeviceSearch(
                    null,
                    "main",
                    null,
                    null,
                    null,
                    null,
                    null,
                    null,
                    null,
                    DeviceQueries.DeviceSort.NAME,
                    true,
                    1,
                    2),
                onlineSince));
    assertEquals(4, byNameDescending.total());
    assertEquals(List.of("delta 1000", "beta axb"), names(byNameDescending));
    var notSeenForAWeek =
        await(
            queries.search(
                factory,
                new DeviceQueries.DeviceSearch(
                    null,
                    null,
                    null,
                    null,
                    null,
                    null,
                    null,
                    null,
                    now.minus(Duration.ofDays(7)),
                    DeviceQueries.DeviceSort.LAST_SEEN,
                    false,
                    0,
                    10),
                onlineSince));
    assertEquals(List.of("delta 1000"), names(notSeenForAWeek));
    var byTarget =
        await(
            queries.search(
                factory,
                new DeviceQueries.DeviceSearch(
                    null,
                    null,
                    "amd64-linux-2",
                    null,
                    null,
                    null,
                    null,
                    now.minus(Duration.ofHours(1)),
                    null,
                    DeviceQueries.DeviceSort.TARGET,
                    false,
                    0,
                    10),
                onlineSince));
    assertEquals(List.of("Alpha a_b"), names(byTarget));

    DeviceQueries.FleetBreakdown counts = await(queries.breakdown(factory, onlineSince));
    assertEquals(new DeviceQueries.StatusCounts(4, 3, 1, 1, 1, 1), counts.total());
    assertEquals(counts.total(), counts.byTag().get("main"));
    assertEquals(
        new DeviceQueries.StatusCounts(1, 1, 0, 1, 0, 0), counts.byTarget().get("amd64-linux-2"));
    assertEquals(
        new DeviceQueries.StatusCounts(3, 2, 1, 0, 1, 1), counts.byTarget().get("amd64-linux-1"));
  }

  private static DeviceQueries.DeviceSearch search(String text, DeviceQueries.DeviceStatus status) {
    return new DeviceQueries.DeviceSearch(
        text,
        null,
        null,
        null,
        null,
        null,
        status,
        null,
        null,
        DeviceQueries.DeviceSort.NAME,
        false,
        0,
        10);
  }

  private static List<String> names(DeviceQueries.DeviceSearchPage page) {
    return page.devices().stream().map(DeviceQueries.DeviceRow::name).toList();
  }

  @Test
  void metadataEventsNeverBecomeUpdates() throws Exception {
    String factory = "md-" + UUID.randomUUID().toString().substring(0, 8);
    String fresh = UUID.randomUUID().toString();
    String updated = UUID.randomUUID().toString();
    Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    send(
        fresh,
        r ->
            new Device.ReportUpdateEvents(
                contact(factory, "main", null, now),
                List.of(metadataEvent("m1", "01KAAAAAAAAAAAAAAAAAAAAAAA")),
                r));
    send(
        updated,
        r ->
            new Device.ReportUpdateEvents(
                contact(factory, "main", null, now),
                List.of(
                    event("e1", "u-1", "UpdateInitStarted", null),
                    event("e2", "u-1", "EcuInstallationCompleted", true)),
                r));
    Device.Summary summary =
        send(
            updated,
            r ->
                new Device.ReportUpdateEvents(
                    contact(factory, null, null, now.plusSeconds(1)),
                    List.of(metadataEvent("m2", "01KBBBBBBBBBBBBBBBBBBBBBBB")),
                    r));
    assertEquals("u-1", summary.currentUpdate());
    assertEquals(Device.UpdateState.SUCCEEDED, summary.currentUpdateState());

    DeviceQueries queries = core.deviceQueries();
    eventually(
        PATIENCE,
        () -> {
          var row = await(queries.device(factory, updated)).orElseThrow();
          assertEquals(now.plusSeconds(1), row.lastSeen(), "the metadata event is a contact");
          assertEquals("u-1", row.updateCorrelationId());
          assertEquals("succeeded", row.updateState());
          var other = await(queries.device(factory, fresh)).orElseThrow();
          assertNull(other.updateCorrelationId());
          assertNull(other.updateState());
          return null;
        });
    assertTrue(await(queries.updates(factory, fresh)).isEmpty());
    assertEquals(
        List.of("u-1"),
        await(queries.updates(factory, updated)).stream()
            .map(DeviceQueries.UpdateRow::correlationId)
            .toList());
    assertEquals(0, await(queries.status(factory, now.minus(Duration.ofMinutes(15)))).updating());
  }

  private static int i(String uuid) {
    return Integer.parseInt(uuid.substring(4, 5));
  }
}

class DeviceReadSideOnH2Test extends DeviceReadSideTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.H2;
  }
}

class DeviceReadSideOnPostgresTest extends DeviceReadSideTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.POSTGRES;
  }
}
