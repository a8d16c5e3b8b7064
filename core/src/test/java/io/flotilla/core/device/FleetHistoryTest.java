package io.flotilla.core.device;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.device.Device.Contact;
import io.flotilla.core.device.FleetHistory.FleetPage;
import io.flotilla.core.device.FleetHistory.TagAt;
import io.flotilla.core.testing.TestDatabases;
import io.flotilla.core.testing.TestNode;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fleet at a past moment against a recorded history: devices updated at known times, and at a
 * moment between two updates the counts are the earlier ones, with and without snapshots.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class FleetHistoryTest {

  static final Duration PATIENCE = Duration.ofSeconds(30);

  @TempDir static Path dataDir;
  TestNode node;
  FlotillaCore core;

  abstract TestDatabases.Kind kind();

  @BeforeAll
  void startNode() throws Exception {
    node = TestNode.start(TestNode.config(TestDatabases.fresh(kind()), dataDir));
    core = node.core();
    eventually(
        PATIENCE,
        () ->
            this.<Device.Summary>send(
                "warm-up",
                r -> new Device.CheckIn(contact("warm-up", null, null, Instant.now()), r)));
  }

  @AfterAll
  void stopNode() {
    node.close();
  }

  <T> T await(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  <T> T send(String uuid, Function<ActorRef<StatusReply<T>>, Device.Command> command)
      throws Exception {
    return await(core.device(uuid).<T>askWithStatus(command::apply, core.askTimeout()));
  }

  static Contact contact(String factory, String tag, String target, Instant at) {
    return new Contact(factory, false, "0a", "PEM", tag, target, List.of("app"), at);
  }

  String register(String factory, String name) throws Exception {
    String uuid = UUID.randomUUID().toString();
    this.<Device.Summary>send(
        uuid,
        r ->
            new Device.Register(
                factory, name, "amd64-linux", null, "main", false, "0a", "PEM", Instant.now(), r));
    return uuid;
  }

  void runs(String factory, String uuid, String tag, String target) throws Exception {
    this.<Device.Summary>send(
        uuid, r -> new Device.CheckIn(contact(factory, tag, target, Instant.now()), r));
  }

  /** A moment strictly between what was written before it and what is written after it. */
  static Instant moment() throws InterruptedException {
    Thread.sleep(5);
    Instant at = Instant.now();
    Thread.sleep(5);
    return at;
  }

  void readSideHas(String factory, int devices) throws Exception {
    eventually(
        PATIENCE,
        () -> {
          var page =
              await(
                  core.deviceQueries()
                      .devices(
                          factory,
                          new DeviceQueries.DeviceFilter(null, null, null, null, null, true),
                          Instant.now(),
                          1000,
                          null));
          assertEquals(devices, page.devices().size());
          return null;
        });
  }

  FleetPage all(String factory, Instant at) throws Exception {
    return await(core.fleetHistory().at(factory, at, FleetHistory.MAX_PAGE, null));
  }

  @Test
  void theFleetAtAMomentIsWhatItsDevicesRanThen() throws Exception {
    String factory = "fh-" + UUID.randomUUID().toString().substring(0, 8);
    Instant beforeAll = moment();
    String a = register(factory, "a");
    String b = register(factory, "b");
    String c = register(factory, "c");
    runs(factory, a, "main", "t-1");
    runs(factory, b, "main", "t-1");
    // c writes enough events for snapshots: the replay at t1 starts from one.
    for (int i = 0; i < 60; i++) {
      runs(factory, c, "main", i % 2 == 0 ? "t-0" : "t-1");
    }
    Instant t1 = moment();
    runs(factory, a, "main", "t-2");
    runs(factory, b, "beta", "t-2");
    this.<Done>send(c, r -> new Device.Decommission(factory, Instant.now(), r));
    String d = register(factory, "d");
    Instant t2 = moment();
    runs(factory, b, "beta", "t-3");
    readSideHas(factory, 4);
    assertTrue(snapshotsBefore("Device|" + c, t1) > 0, "c has a snapshot taken before t1");

    FleetPage before = all(factory, beforeAll);
    assertEquals(0, before.devices());
    assertTrue(before.fleet().isEmpty());

    FleetPage atT1 = all(factory, t1);
    assertEquals(3, atT1.devices());
    assertEquals(Map.of("main", new TagAt(3, Map.of("t-1", 3L))), atT1.byTag());
    assertEquals(Map.of("t-1", 3L), atT1.byTarget());
    assertNull(atT1.nextCursor());

    FleetPage atT2 = all(factory, t2);
    assertEquals(3, atT2.devices(), "c was decommissioned, d had registered");
    assertEquals(
        Map.of(
            "main", new TagAt(2, Map.of("t-2", 1L, "-", 1L)),
            "beta", new TagAt(1, Map.of("t-2", 1L))),
        atT2.byTag());
    Map<String, FleetHistory.DeviceAt> byUuid = new HashMap<>();
    atT2.fleet().forEach(device -> byUuid.put(device.uuid(), device));
    assertEquals(4, byUuid.size());
    assertTrue(byUuid.get(c).decommissioned());
    assertEquals("t-1", byUuid.get(c).targetName(), "what c ran when it was decommissioned");
    assertEquals("d", byUuid.get(d).name());

    FleetPage now = all(factory, Instant.now());
    assertEquals(Map.of("t-3", 1L), now.byTag().get("beta").byTarget());
  }

  @Test
  void pagesFollowTheCursorAndAddUpToTheWholeFleet() throws Exception {
    String factory = "fp-" + UUID.randomUUID().toString().substring(0, 8);
    for (int i = 0; i < 5; i++) {
      runs(factory, register(factory, "p" + i), "main", "t-" + (i % 2));
    }
    readSideHas(factory, 5);
    Instant at = moment();
    Map<String, Long> byTarget = new HashMap<>();
    List<String> seen = new ArrayList<>();
    String cursor = null;
    int pages = 0;
    do {
      FleetPage page = await(core.fleetHistory().at(factory, at, 2, cursor));
      assertTrue(page.fleet().size() <= 2);
      page.byTarget().forEach((target, n) -> byTarget.merge(target, n, Long::sum));
      page.fleet().forEach(device -> seen.add(device.uuid()));
      cursor = page.nextCursor();
      pages++;
    } while (cursor != null);
    assertEquals(3, pages);
    assertEquals(5, seen.stream().distinct().count());
    assertEquals(Map.of("t-0", 3L, "t-1", 2L), byTarget);
    assertEquals(0, all("nowhere", at).devices());
  }

  long snapshotsBefore(String persistenceId, Instant at) throws Exception {
    return node.database()
        .withConnection(
            connection -> {
              try (PreparedStatement s =
                  connection.prepareStatement(
                      "SELECT COUNT(*) FROM \"snapshot\" WHERE \"persistence_id\" = ? AND \"created\" <= ?")) {
                s.setString(1, persistenceId);
                s.setLong(2, at.toEpochMilli());
                try (ResultSet rows = s.executeQuery()) {
                  rows.next();
                  return rows.getLong(1);
                }
              }
            });
  }
}

class FleetHistoryOnH2Test extends FleetHistoryTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.H2;
  }
}

class FleetHistoryOnPostgresTest extends FleetHistoryTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.POSTGRES;
  }
}
