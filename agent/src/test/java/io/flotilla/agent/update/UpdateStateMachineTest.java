package io.flotilla.agent.update;

import static io.flotilla.agent.update.UpdateState.*;
import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.agent.AgentException;
import io.flotilla.agent.ExitCode;
import io.flotilla.protocol.composeapp.AppUri;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UpdateStateMachineTest {

  @TempDir Path tmp;

  private final Clock clock = Clock.fixed(Instant.parse("2026-11-27T10:00:00Z"), ZoneOffset.UTC);

  private static SelectedTarget target(String name, long version) {
    return new SelectedTarget(
        name, version, Map.of("web", AppUri.parse("reg/acme/web@sha256:" + "1".repeat(64))), false);
  }

  @Test
  void happyPathVisitsEveryStateInOrder() {
    List<UpdateState> path =
        List.of(
            CREATED,
            INITIALIZING,
            INITIALIZED,
            FETCHING,
            FETCHED,
            INSTALLING,
            INSTALLED,
            STARTING,
            STARTED,
            COMPLETING,
            COMPLETED);
    for (int i = 0; i + 1 < path.size(); i++) {
      assertTrue(path.get(i).canMoveTo(path.get(i + 1)), path.get(i) + " -> " + path.get(i + 1));
    }
    assertFalse(CREATED.canMoveTo(FETCHING), "no skipping steps");
    assertFalse(FETCHED.canMoveTo(INITIALIZED), "no going back");
  }

  @Test
  void runningStepsMayBeResumedButFinishedStepsNotRepeated() {
    for (UpdateState s :
        EnumSet.of(INITIALIZING, FETCHING, INSTALLING, STARTING, COMPLETING, CANCELLING)) {
      assertTrue(s.canMoveTo(s), s.name());
    }
    for (UpdateState s : EnumSet.of(CREATED, INITIALIZED, FETCHED, INSTALLED, STARTED)) {
      assertFalse(s.canMoveTo(s), s.name());
    }
  }

  @Test
  void finalStatesAreFinalAndCancelOnlyBeforeInstalling() {
    for (UpdateState end : EnumSet.of(COMPLETED, FAILED, CANCELED)) {
      for (UpdateState any : UpdateState.values()) {
        assertFalse(end.canMoveTo(any), end + " -> " + any);
      }
    }
    assertTrue(FETCHED.canMoveTo(CANCELLING));
    assertFalse(INSTALLING.canMoveTo(CANCELLING));
    assertFalse(FETCHING.canMoveTo(CANCELED), "canceled only through cancelling");
    assertTrue(CANCELLING.canMoveTo(CANCELED));
    assertFalse(CANCELLING.canMoveTo(INITIALIZING));
    assertTrue(STARTING.canMoveTo(FAILED));
  }

  @Test
  void guardsGiveTheDocumentedExitCodes() {
    Instant now = clock.instant();
    UpdateRecord fetched =
        UpdateRecord.create("01J00000000000000000000000", target("t-1", 1), null, Map.of(), now)
            .moveTo(INITIALIZING, now)
            .moveTo(INITIALIZED, now)
            .moveTo(FETCHING, now)
            .moveTo(FETCHED, now);

    assertEquals(
        ExitCode.NO_UPDATE_IN_PROGRESS, code(() -> UpdateAction.INSTALL.check(Optional.empty())));
    assertEquals(
        ExitCode.NO_UPDATE_IN_PROGRESS, code(() -> UpdateAction.START.check(Optional.empty())));
    assertEquals(
        ExitCode.NO_UPDATE_IN_PROGRESS, code(() -> UpdateAction.CANCEL.check(Optional.empty())));
    UpdateAction.FETCH.check(Optional.empty());
    UpdateAction.UPDATE.check(Optional.empty());

    UpdateAction.INSTALL.check(Optional.of(fetched));
    UpdateAction.CANCEL.check(Optional.of(fetched));
    assertEquals(
        ExitCode.INVALID_ACTION, code(() -> UpdateAction.START.check(Optional.of(fetched))));
    UpdateRecord installing = fetched.moveTo(INSTALLING, now);
    assertEquals(
        ExitCode.INVALID_ACTION, code(() -> UpdateAction.CANCEL.check(Optional.of(installing))));
    assertEquals(
        ExitCode.INVALID_ACTION, code(() -> UpdateAction.FETCH.check(Optional.of(installing))));
    assertEquals(ExitCode.INVALID_ACTION, code(() -> installing.moveTo(CANCELLING, now)));
    assertEquals(10, ExitCode.INVALID_ACTION.code());
  }

  @Test
  void storeKeepsOneUnfinishedUpdateAndPersistsEveryTransition() {
    UpdateStore store = new UpdateStore(tmp.resolve("updates"), clock);
    UpdateRecord update = store.create(target("t-1", 1), null, Map.of());
    assertEquals(
        ExitCode.INVALID_ONGOING_UPDATE,
        code(() -> store.create(target("t-2", 2), null, Map.of())));

    update = store.transition(update, INITIALIZING);
    UpdateStore reopened = new UpdateStore(tmp.resolve("updates"), clock);
    assertEquals(
        INITIALIZING,
        reopened.unfinished().orElseThrow().state(),
        "a restarted agent sees the step it was in");
    assertEquals(
        List.of(CREATED, INITIALIZING),
        reopened.unfinished().orElseThrow().history().stream()
            .map(UpdateRecord.Transition::state)
            .toList());

    store.fail(update, "registry unreachable");
    assertTrue(store.unfinished().isEmpty());
    assertEquals("registry unreachable", store.latest().orElseThrow().error());
    assertEquals(1, store.failedAttempts("t-1"));

    UpdateRecord second = store.create(target("t-1", 1), null, Map.of());
    assertTrue(second.id().compareTo(update.id()) > 0, "ULIDs sort by creation");
    store.fail(second, "again");
    assertEquals(2, store.failedAttempts("t-1"));
    assertEquals(0, store.failedAttempts("t-2"));
  }

  @Test
  void anUnreadableRecordIsAnInvalidOngoingUpdate() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("updates"));
    Files.writeString(dir.resolve(new Ulid(clock).next() + ".json"), "{ truncated");
    UpdateStore store = new UpdateStore(dir, clock);
    assertEquals(ExitCode.INVALID_ONGOING_UPDATE, code(store::unfinished));
    assertEquals(23, ExitCode.INVALID_ONGOING_UPDATE.code());
  }

  @Test
  void atomicWritesLeaveNoTemporaryFiles() throws IOException {
    UpdateStore store = new UpdateStore(tmp.resolve("updates"), clock);
    UpdateRecord update = store.create(target("t-1", 1), "t-0", Map.of("web", "x"));
    store.transition(update, INITIALIZING);
    try (var files = Files.list(tmp.resolve("updates"))) {
      assertEquals(
          List.of(update.id() + ".json"), files.map(p -> p.getFileName().toString()).toList());
    }
    assertEquals("t-0", store.unfinished().orElseThrow().fromTarget());
  }

  @Test
  void ulidsAreWellFormedAndIncreasing() {
    Ulid ulid = new Ulid(clock);
    String previous = ulid.next();
    for (int i = 0; i < 1000; i++) {
      String next = ulid.next();
      assertTrue(Ulid.isValid(next), next);
      assertTrue(next.compareTo(previous) > 0, previous + " then " + next);
      previous = next;
    }
    assertTrue(previous.startsWith("01M8"), "time prefix of 2026: " + previous);
  }

  @Test
  void onlyOneInstanceHoldsTheLock() {
    Path lockFile = tmp.resolve("agent.lock");
    try (InstanceLock first = InstanceLock.acquire(lockFile)) {
      AgentException e = assertThrows(AgentException.class, () -> InstanceLock.acquire(lockFile));
      assertTrue(e.getMessage().contains("another flotilla-agent"), e.getMessage());
    }
    InstanceLock.acquire(lockFile).close();
  }

  private static ExitCode code(Runnable action) {
    return assertThrows(AgentException.class, action::run).exitCode();
  }
}
