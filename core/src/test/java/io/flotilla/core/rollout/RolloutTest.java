package io.flotilla.core.rollout;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.Rejection;
import io.flotilla.core.device.Device;
import io.flotilla.core.device.Device.Contact;
import io.flotilla.core.device.Device.UpdateEvent;
import io.flotilla.core.testing.TestDatabases;
import io.flotilla.core.testing.TestNode;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rollouts on a real node and database: real Device entities report installs, the read side
 * projects them, the Rollout entity decides from it, and every node's gates tell what each device
 * sees. Each test makes its own factory.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class RolloutTest {

  static final Duration PATIENCE = Duration.ofSeconds(30);
  static final String OLD = "amd64-linux-1";
  static final long VERSION = 2;
  static final String NEW = "amd64-linux-" + VERSION;

  @TempDir static Path dataDir;
  @TempDir static Path restartDir;
  TestNode node;
  FlotillaCore core;

  abstract TestDatabases.Kind kind();

  @BeforeAll
  void startNode() throws Exception {
    node = TestNode.start(TestNode.config(TestDatabases.fresh(kind()), dataDir));
    core = node.core();
    eventually(PATIENCE, () -> checkIn(core, "warm-up", "warm-up", "main", null));
  }

  @AfterAll
  void stopNode() {
    node.close();
  }

  static <T> T await(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(15, TimeUnit.SECONDS);
  }

  static Device.Summary device(
      FlotillaCore core,
      String uuid,
      Function<ActorRef<StatusReply<Device.Summary>>, Device.Command> command)
      throws Exception {
    return await(core.device(uuid).askWithStatus(command::apply, core.askTimeout()));
  }

  static Contact contact(String factory, String tag, String target) {
    return new Contact(factory, false, "0a", "PEM", tag, target, List.of("app"), Instant.now());
  }

  static Device.Summary checkIn(
      FlotillaCore core, String factory, String uuid, String tag, String target) throws Exception {
    return device(core, uuid, r -> new Device.CheckIn(contact(factory, tag, target), r));
  }

  /** {@code n} devices on {@code tag} running the old target, on the read side. */
  static List<String> fleet(FlotillaCore core, String factory, String tag, int n) throws Exception {
    List<String> uuids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String uuid = factory + "-d" + i;
      checkIn(core, factory, uuid, tag, OLD);
      uuids.add(uuid);
    }
    onReadSide(core, factory, tag, n);
    return uuids;
  }

  static void onReadSide(FlotillaCore core, String factory, String tag, int n) throws Exception {
    eventually(
        PATIENCE,
        () -> {
          assertEquals(
              n, await(core.rolloutQueries().members(factory, tag, VERSION, false)).size());
          return null;
        });
  }

  /** What a device reports after updating to the new target: fioup's events, then its headers. */
  static void install(FlotillaCore core, String factory, String uuid, boolean ok) throws Exception {
    String correlation = "c-" + UUID.randomUUID();
    List<UpdateEvent> events =
        List.of(
            new UpdateEvent(
                correlation + "-1",
                null,
                "EcuDownloadCompleted",
                0,
                correlation,
                true,
                NEW,
                "" + VERSION,
                null),
            new UpdateEvent(
                correlation + "-2",
                null,
                "EcuInstallationCompleted",
                0,
                correlation,
                ok,
                NEW,
                "" + VERSION,
                ok ? null : "{\"error\": \"app failed to start\"}"));
    device(
        core,
        uuid,
        r -> new Device.ReportUpdateEvents(contact(factory, null, ok ? NEW : null), events, r));
  }

  static RolloutPlan.Phase uuids(String name, List<String> uuids) {
    return new RolloutPlan.Phase(name, null, null, uuids, null, null, 1.0, 600);
  }

  static RolloutPlan.Phase percent(String name, double percent) {
    return new RolloutPlan.Phase(name, null, null, null, null, percent, 1.0, 600);
  }

  static Rollout.Summary create(
      FlotillaCore core, String factory, String id, String tag, RolloutPlan plan) throws Exception {
    return rollout(
        core,
        factory,
        id,
        r -> new Rollout.Create(tag, VERSION, plan, "token:t1", Instant.now(), r));
  }

  static Rollout.Summary rollout(
      FlotillaCore core,
      String factory,
      String id,
      Function<ActorRef<StatusReply<Rollout.Summary>>, Rollout.Command> command)
      throws Exception {
    return await(core.rollout(factory, id).askWithStatus(command::apply, core.askTimeout()));
  }

  static Rollout.Summary awaitRollout(
      FlotillaCore core,
      String factory,
      String id,
      java.util.function.Predicate<Rollout.Summary> condition)
      throws Exception {
    return eventually(
        PATIENCE,
        () -> {
          Rollout.Summary s = rollout(core, factory, id, Rollout.Get::new);
          assertTrue(condition.test(s), "rollout is " + s);
          return s;
        });
  }

  static boolean sees(FlotillaCore core, String factory, String tag, String uuid) throws Exception {
    Device.Summary d = checkIn(core, factory, uuid, tag, null);
    return !core.rolloutGates()
        .forTag(factory, tag)
        .hiddenVersions(d.uuid(), d.group(), d.labels())
        .contains(VERSION);
  }

  /**
   * The node's gates follow the rollout (pub-sub), so this waits only for the notice. Before a
   * rollout's gate reaches the node nothing is hidden: wait for the phase first.
   */
  static void awaitSees(FlotillaCore core, String factory, String tag, String uuid, boolean seen)
      throws Exception {
    eventually(
        PATIENCE,
        () -> {
          assertEquals(seen, sees(core, factory, tag, uuid), uuid + " sees the target");
          return null;
        });
  }

  static String factory() {
    return "ro-" + UUID.randomUUID().toString().substring(0, 8);
  }

  @Test
  void aPhaseThatSucceedsStartsTheNextAndTheLastCompletesTheRollout() throws Exception {
    String f = factory();
    List<String> d = fleet(core, f, "main", 6);
    create(
        core,
        f,
        "r1",
        "main",
        new RolloutPlan(
            List.of(uuids("canary", d.subList(0, 2)), percent("all", 100)), 1, null, false));
    awaitRollout(core, f, "r1", s -> s.startedPhases() == 1);
    awaitSees(core, f, "main", d.get(0), true);
    assertTrue(sees(core, f, "main", d.get(1)));
    for (String outside : d.subList(2, 6)) {
      assertFalse(sees(core, f, "main", outside), outside + " is outside the first phase");
    }
    install(core, f, d.get(0), true);
    install(core, f, d.get(1), true);
    awaitRollout(core, f, "r1", s -> s.startedPhases() == 2);
    awaitSees(core, f, "main", d.get(5), true);
    for (String uuid : d.subList(2, 6)) {
      install(core, f, uuid, true);
    }
    Rollout.Summary done = awaitRollout(core, f, "r1", s -> s.status().equals("completed"));
    assertEquals("token:t1", done.createdBy());
    RolloutProgress progress =
        RolloutProgress.of(
            done.gate(),
            done.plan(),
            await(core.rolloutQueries().members(f, "main", VERSION, false)));
    assertEquals(2, progress.phases().get(0).updated());
    assertEquals(4, progress.phases().get(1).updated());
    assertEquals(0, progress.failed());
  }

  @Test
  void failuresOverTheThresholdHaltAtOnceAndRollbackTakesTheTargetBack() throws Exception {
    String f = factory();
    List<String> d = fleet(core, f, "main", 8);
    create(
        core,
        f,
        "r1",
        "main",
        new RolloutPlan(
            List.of(uuids("canary", d.subList(0, 4)), percent("all", 100)), 2, null, true));
    awaitRollout(core, f, "r1", s -> s.startedPhases() == 1);
    awaitSees(core, f, "main", d.get(0), true);
    install(core, f, d.get(0), true);
    install(core, f, d.get(1), false);
    install(core, f, d.get(2), false);
    Rollout.Summary halted = awaitRollout(core, f, "r1", s -> s.status().equals("halted"));
    assertTrue(halted.rolledBack());
    assertTrue(halted.haltReason().contains("2 of 4 devices failed"), halted.haltReason());
    assertNotNull(halted.thresholdCrossedAt());
    assertTrue(
        Duration.between(halted.thresholdCrossedAt(), halted.haltedAt()).toMillis() < 10_000,
        "halted " + halted.haltedAt() + " after the crossing at " + halted.thresholdCrossedAt());
    assertEquals(1, halted.startedPhases(), "no later phase started");
    for (String uuid : d) {
      awaitSees(core, f, "main", uuid, false);
    }
  }

  @Test
  void aHaltWithoutRollbackLeavesTheTargetWithThePhaseAndGivesItToNobodyElse() throws Exception {
    String f = factory();
    List<String> d = fleet(core, f, "main", 5);
    create(
        core,
        f,
        "r1",
        "main",
        new RolloutPlan(
            List.of(uuids("canary", d.subList(0, 2)), percent("all", 100)), null, 0.5, false));
    awaitRollout(core, f, "r1", s -> s.startedPhases() == 1);
    awaitSees(core, f, "main", d.get(0), true);
    install(core, f, d.get(0), false);
    awaitRollout(core, f, "r1", s -> s.status().equals("halted") && !s.rolledBack());
    assertTrue(sees(core, f, "main", d.get(1)));
    assertFalse(sees(core, f, "main", d.get(4)));
  }

  @Test
  void aPausedRolloutDecidesNothingUntilResumed() throws Exception {
    String f = factory();
    List<String> d = fleet(core, f, "main", 3);
    create(
        core,
        f,
        "r1",
        "main",
        new RolloutPlan(
            List.of(uuids("canary", d.subList(0, 1)), percent("all", 100)), 1, null, false));
    awaitRollout(core, f, "r1", s -> s.startedPhases() == 1);
    Rollout.Summary paused =
        rollout(core, f, "r1", r -> new Rollout.Pause("admin", Instant.now(), r));
    assertEquals("paused", paused.status());
    install(core, f, d.get(0), true);
    onReadSideUpdated(f, d.get(0));
    Thread.sleep(1500);
    assertEquals(1, rollout(core, f, "r1", Rollout.Get::new).startedPhases());
    assertFalse(sees(core, f, "main", d.get(2)));
    assertEquals(
        "paused",
        rollout(core, f, "r1", r -> new Rollout.Pause("admin", Instant.now(), r)).status());
    rollout(core, f, "r1", r -> new Rollout.Resume("admin", Instant.now(), r));
    awaitRollout(core, f, "r1", s -> s.startedPhases() == 2);
    awaitSees(core, f, "main", d.get(2), true);
  }

  void onReadSideUpdated(String f, String uuid) throws Exception {
    eventually(
        PATIENCE,
        () -> {
          assertTrue(
              await(core.rolloutQueries().members(f, "main", VERSION, false)).stream()
                  .anyMatch(m -> m.uuid().equals(uuid) && m.updated()));
          return null;
        });
  }

  interface Call {
    Object run() throws Exception;
  }

  static Rejection.Kind refusal(Call call) throws Exception {
    try {
      call.run();
      return null;
    } catch (ExecutionException e) {
      return Rejection.of(e.getCause()).orElseThrow().kind();
    }
  }

  @Test
  void aCanceledRolloutKeepsWhatItGaveAndRefusesToGoOn() throws Exception {
    String f = factory();
    List<String> d = fleet(core, f, "main", 3);
    create(
        core,
        f,
        "r1",
        "main",
        new RolloutPlan(
            List.of(uuids("canary", d.subList(0, 1)), percent("all", 100)), 1, null, false));
    awaitRollout(core, f, "r1", s -> s.startedPhases() == 1);
    awaitSees(core, f, "main", d.get(0), true);
    assertEquals(
        "canceled",
        rollout(core, f, "r1", r -> new Rollout.Cancel("admin", Instant.now(), r)).status());
    assertEquals(
        "canceled",
        rollout(core, f, "r1", r -> new Rollout.Cancel("admin", Instant.now(), r)).status());
    assertEquals(
        Rejection.Kind.CONFLICT,
        refusal(() -> rollout(core, f, "r1", r -> new Rollout.Resume("admin", Instant.now(), r))));
    install(core, f, d.get(0), true);
    assertTrue(sees(core, f, "main", d.get(0)));
    assertFalse(sees(core, f, "main", d.get(1)));
  }

  @Test
  void devicesJoiningMidRolloutAreInAPhaseWhenTheyMatchIt() throws Exception {
    String f = factory();
    List<String> d = fleet(core, f, "main", 3);
    create(
        core,
        f,
        "r1",
        "main",
        new RolloutPlan(
            List.of(
                new RolloutPlan.Phase("lab", "lab", null, null, null, null, 1.0, 600),
                new RolloutPlan.Phase(
                    "blue", null, Map.of("color", "blue"), null, null, null, 1.0, 600)),
            1,
            null,
            false));
    awaitRollout(core, f, "r1", s -> s.startedPhases() == 1);
    assertFalse(sees(core, f, "main", d.get(0)));
    device(core, d.get(0), r -> new Device.Change(f, null, "lab", Instant.now(), r));
    awaitSees(core, f, "main", d.get(0), true);
    String late = f + "-late";
    checkIn(core, f, late, "main", OLD);
    device(core, late, r -> new Device.Change(f, null, "lab", Instant.now(), r));
    awaitSees(core, f, "main", late, true);
    device(
        core,
        d.get(1),
        r -> new Device.Change(f, null, null, Map.of("color", "blue"), null, Instant.now(), r));
    assertFalse(sees(core, f, "main", d.get(1)), "the label phase has not started");
    onReadSide(core, f, "main", 4);
    install(core, f, d.get(0), true);
    install(core, f, late, true);
    awaitRollout(core, f, "r1", s -> s.startedPhases() == 2);
    awaitSees(core, f, "main", d.get(1), true);
    assertFalse(sees(core, f, "main", d.get(2)));
  }

  /** The ids of factory {@code f}'s rollouts that the keeper reads with this bound. */
  List<String> keeperReads(String f, Instant changedSince) throws Exception {
    return await(core.rolloutQueries().forGates(changedSince)).stream()
        .filter(r -> r.factory().equals(f))
        .map(RolloutQueries.RolloutRow::id)
        .sorted()
        .toList();
  }

  @Test
  void theKeeperReadsOnlyTheRolloutsThatCanStillChangeAndKeepsTheFinishedGates() throws Exception {
    String f = factory();
    List<String> d = fleet(core, f, "main", 3);
    Instant longAgo = Instant.now().minus(Duration.ofHours(1));
    RolloutPlan canary =
        new RolloutPlan(
            List.of(uuids("canary", d.subList(0, 1)), percent("all", 100)), 1, null, false);
    create(core, f, "old", "main", canary);
    awaitRollout(core, f, "old", s -> s.startedPhases() == 1);
    rollout(core, f, "old", r -> new Rollout.Cancel("admin", longAgo, r));
    create(core, f, "running", "qa", canary);
    create(core, f, "paused", "lab", canary);
    rollout(core, f, "paused", r -> new Rollout.Pause("admin", Instant.now(), r));
    eventually(
        PATIENCE,
        () -> {
          assertEquals(List.of("old", "paused", "running"), keeperReads(f, null));
          assertEquals(
              List.of("paused", "running"),
              keeperReads(f, Instant.now().minus(Duration.ofMinutes(5))));
          return null;
        });
    assertEquals(
        List.of("old", "paused", "running"), keeperReads(f, longAgo.minus(Duration.ofMinutes(1))));
    eventually(
        PATIENCE,
        () -> {
          assertEquals(
              Rollout.Status.CANCELED,
              core.rolloutGates().forTag(f, "main").gates().get(0).status());
          return null;
        });
    // a reload after the cancel, which reads only the rollouts that can still change
    Thread.sleep(
        core.system().settings().config().getDuration("flotilla.rollout.keeper-interval").toMillis()
            + 1000);
    assertTrue(sees(core, f, "main", d.get(0)), "the canceled rollout keeps what it gave");
    assertFalse(sees(core, f, "main", d.get(1)), "and gives nobody else its target");
  }

  @Test
  void aRolloutGoesOnAfterItsNodeRestarts() throws Exception {
    com.typesafe.config.Config config = TestNode.config(TestDatabases.fresh(kind()), restartDir);
    String f = factory();
    List<String> d;
    try (TestNode first = TestNode.start(config)) {
      FlotillaCore one = first.core();
      d = eventually(PATIENCE, () -> fleet(one, f, "main", 3));
      create(
          one,
          f,
          "r1",
          "main",
          new RolloutPlan(
              List.of(uuids("canary", d.subList(0, 1)), percent("all", 100)), 1, null, false));
      awaitRollout(one, f, "r1", s -> s.startedPhases() == 1);
    }
    try (TestNode second = TestNode.start(config)) {
      FlotillaCore two = second.core();
      eventually(PATIENCE, () -> checkIn(two, f, d.get(0), "main", null));
      install(two, f, d.get(0), true);
      awaitRollout(two, f, "r1", s -> s.startedPhases() == 2);
      awaitSees(two, f, "main", d.get(2), true);
    }
  }
}

class RolloutOnH2Test extends RolloutTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.H2;
  }
}

class RolloutOnPostgresTest extends RolloutTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.POSTGRES;
  }
}
