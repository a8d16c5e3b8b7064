package io.flotilla.agent.update;

import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.agent.AgentException;
import io.flotilla.agent.ExitCode;
import io.flotilla.agent.gateway.GatewayClient;
import io.flotilla.agent.registry.RegistryPuller;
import io.flotilla.agent.runtime.Compose;
import io.flotilla.agent.runtime.DockerEngine;
import io.flotilla.agent.runtime.DockerRuntime;
import io.flotilla.agent.store.ContentStore;
import io.flotilla.agent.testing.TestGateway;
import io.flotilla.agent.testing.TestImages;
import io.flotilla.agent.testing.TestRegistry;
import io.flotilla.protocol.Json;
import io.flotilla.protocol.device.DeviceEvent;
import io.flotilla.protocol.device.DeviceEventType;
import io.flotilla.protocol.device.HubCredentials;
import java.io.IOException;
import java.io.PrintStream;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Resuming after the agent died mid-step, cancel, and events kept while the gateway is unreachable.
 * No container engine needed.
 */
class UpdateResumeTest {

  private static TestRegistry registry;
  private static TestGateway gateway;

  @TempDir Path tmp;

  @BeforeAll
  static void start() throws IOException {
    registry = new TestRegistry();
    gateway = new TestGateway();
    String image = TestImages.pushBusybox(registry, "acme/busybox", "amd64");
    String app =
        TestImages.pushApp(
            registry, "acme", "shell", "services:\n  web:\n    image: " + image + "\n", Map.of());
    gateway.publish("amd64-linux", 1, "main", Map.of("shell", app));
  }

  @AfterAll
  static void stop() {
    registry.close();
    gateway.close();
  }

  private UpdateEngine engine() throws Exception {
    GatewayClient client = new GatewayClient(gateway.uri(), SSLContext.getDefault());
    client.setTag("main");
    RegistryPuller registryClient =
        new RegistryPuller(
            HttpClient.newHttpClient(),
            host -> "http",
            () -> new HubCredentials(TestRegistry.USER, TestRegistry.SECRET));
    // never reached: these tests stop before installing
    DockerRuntime noEngine =
        new DockerRuntime(
            new DockerEngine(tmp.resolve("no.sock")),
            new Compose(List.of("false"), "unix:///none", 5),
            tmp.resolve("overrides"),
            tmp.resolve("scratch"));
    return new UpdateEngine(
        client,
        registryClient,
        new ContentStore(tmp.resolve("store")),
        updates(),
        noEngine,
        new EventQueue(tmp.resolve("events"), updates()),
        new TargetSelector("amd64-linux", Optional.of("main"), Optional.empty(), w -> {}),
        tmp.resolve("apps"),
        99,
        "amd64",
        new Console(new PrintStream(PrintStream.nullOutputStream()), true, false),
        Clock.systemUTC());
  }

  private UpdateStore updates() {
    return new UpdateStore(tmp.resolve("updates"), Clock.systemUTC());
  }

  @Test
  void anAgentKilledWhileFetchingResumesTheSameUpdate() throws Exception {
    UpdateRecord initialized =
        engine().run(UpdateAction.FETCH, OptionalLong.empty(), false, UpdateState.INITIALIZED);
    assertEquals(UpdateState.INITIALIZED, initialized.state());
    // what a SIGKILL right after persisting "fetching" leaves on disk
    updates().transition(initialized, UpdateState.FETCHING);

    UpdateRecord fetched =
        engine().run(UpdateAction.FETCH, OptionalLong.empty(), false, UpdateState.FETCHED);
    assertEquals(
        initialized.id(), fetched.id(), "the same update was resumed, not a second one started");
    assertEquals(UpdateState.FETCHED, fetched.state());
    assertEquals(
        List.of(
            UpdateState.CREATED,
            UpdateState.INITIALIZING,
            UpdateState.INITIALIZED,
            UpdateState.FETCHING,
            UpdateState.FETCHED),
        fetched.history().stream().map(UpdateRecord.Transition::state).toList());

    long served = registry.blobBytesServed.get();
    assertEquals(
        ExitCode.INVALID_ACTION,
        assertThrows(AgentException.class, () -> UpdateAction.START.check(updates().unfinished()))
            .exitCode());
    assertEquals(
        ExitCode.INVALID_ONGOING_UPDATE,
        assertThrows(
                AgentException.class,
                () ->
                    engine()
                        .run(UpdateAction.UPDATE, OptionalLong.of(7), false, UpdateState.COMPLETED))
            .exitCode());

    UpdateRecord canceled = engine().cancel("canceled by the test");
    assertEquals(UpdateState.CANCELED, canceled.state());
    assertEquals(
        ExitCode.NO_UPDATE_IN_PROGRESS,
        assertThrows(AgentException.class, () -> engine().cancel("again")).exitCode());

    UpdateRecord again =
        engine().run(UpdateAction.FETCH, OptionalLong.empty(), false, UpdateState.FETCHED);
    assertNotEquals(initialized.id(), again.id());
    assertEquals(
        served,
        registry.blobBytesServed.get(),
        "a new fetch of the same target downloads nothing again");

    List<DeviceEvent> reported =
        gateway.events.stream()
            .filter(e -> e.event().correlationId().equals(initialized.id()))
            .toList();
    assertEquals(
        List.of(
            "UpdateInitStarted",
            "UpdateInitCompleted",
            "EcuDownloadCompleted",
            "EcuInstallationCompleted"),
        reported.stream().map(e -> e.eventType().id()).toList(),
        "a resumed step does not report its start twice; the cancel ends the update on the server");
    DeviceEvent end = reported.get(reported.size() - 1);
    assertEquals(Boolean.FALSE, end.event().success());
    assertEquals(
        "canceled by the test",
        Json.mapper().readTree(end.event().details()).path("canceled").asText());
  }

  private static final List<DeviceEventType> SEVEN =
      List.of(
          DeviceEventType.UpdateInitStarted,
          DeviceEventType.UpdateInitCompleted,
          DeviceEventType.EcuDownloadStarted,
          DeviceEventType.EcuDownloadCompleted,
          DeviceEventType.EcuInstallationStarted,
          DeviceEventType.EcuInstallationApplied,
          DeviceEventType.EcuInstallationCompleted);

  /**
   * What a whole update leaves on disk when the gateway never answered: the record, completed,
   * carrying its seven events.
   */
  private UpdateRecord completedOffline(SelectedTarget target) {
    UpdateStore store = updates();
    UpdateRecord update = store.create(target, null, Map.of());
    Iterator<DeviceEventType> types = SEVEN.iterator();
    for (UpdateState next :
        List.of(
            UpdateState.INITIALIZING,
            UpdateState.INITIALIZED,
            UpdateState.FETCHING,
            UpdateState.FETCHED,
            UpdateState.INSTALLING,
            UpdateState.INSTALLED,
            UpdateState.STARTING,
            UpdateState.STARTED,
            UpdateState.COMPLETING,
            UpdateState.COMPLETED)) {
      boolean reported =
          next != UpdateState.STARTING
              && next != UpdateState.STARTED
              && next != UpdateState.COMPLETING;
      update =
          reported
              ? store.transition(
                  update,
                  next,
                  DeviceEvent.of(
                      types.next(), Instant.now(), update.id(), target.name(), "1", true, null))
              : store.transition(update, next);
    }
    return update;
  }

  @Test
  void eachStateIsWrittenWithItsEventInOneRecord() throws Exception {
    SelectedTarget target = new SelectedTarget("t-1", 1, Map.of(), false);
    UpdateStore store = updates();
    UpdateRecord created = store.create(target, null, Map.of());
    DeviceEvent started =
        DeviceEvent.of(
            DeviceEventType.UpdateInitStarted, Instant.now(), created.id(), "t-1", "1", null, null);
    store.transition(created, UpdateState.INITIALIZING, started);

    // the file is the only thing a kill can leave: the new state and its event are both in it
    UpdateRecord onDisk =
        Json.mapper()
            .readValue(
                tmp.resolve("updates").resolve(created.id() + ".json").toFile(),
                UpdateRecord.class);
    assertEquals(UpdateState.INITIALIZING, onDisk.state());
    assertEquals(List.of(started.id()), onDisk.unsent().stream().map(DeviceEvent::id).toList());

    // a stale copy of the record (one read before a flush took its events) does not bring them back
    new EventQueue(tmp.resolve("events"), store).flush(events -> {});
    UpdateRecord moved =
        store.transition(
            onDisk,
            UpdateState.INITIALIZED,
            DeviceEvent.of(
                DeviceEventType.UpdateInitCompleted,
                Instant.now(),
                created.id(),
                "t-1",
                "1",
                true,
                null));
    assertEquals(
        List.of("UpdateInitCompleted"),
        moved.unsent().stream().map(e -> e.eventType().id()).toList());
  }

  @Test
  void eventsWaitInTheRecordsUntilTheGatewayTakesThem() throws IOException {
    completedOffline(new SelectedTarget("t-1", 1, Map.of(), false));
    EventQueue queue = new EventQueue(tmp.resolve("events"), updates());
    assertThrows(
        IOException.class,
        () ->
            queue.flush(
                events -> {
                  throw new IOException("gateway unreachable");
                }));
    assertEquals(7, queue.pendingCount(), "nothing is lost while offline");

    List<List<String>> batches = new ArrayList<>();
    assertEquals(
        7,
        new EventQueue(tmp.resolve("events"), updates())
            .flush(events -> batches.add(events.stream().map(e -> e.eventType().id()).toList())));
    assertEquals(
        List.of(6, 1), batches.stream().map(List::size).toList(), "at most 6 events per request");
    assertEquals("UpdateInitStarted", batches.get(0).get(0), "oldest first");
    assertEquals("EcuInstallationCompleted", batches.get(1).get(0));
    assertEquals(0, queue.pendingCount());
    assertEquals(0, queue.flush(events -> fail("sent twice: " + events)));
  }

  @Test
  void eventsQueuedAsFilesByAnOlderAgentAreSentToo() throws IOException {
    DeviceEvent old =
        DeviceEvent.of(
            DeviceEventType.EcuInstallationCompleted, Instant.now(), "u0", "t-0", "0", true, null);
    io.flotilla.agent.store.AtomicFiles.write(
        tmp.resolve("events").resolve("0000000000000001-" + old.id() + ".json"), Json.toBytes(old));
    List<String> sent = new ArrayList<>();
    assertEquals(
        1,
        new EventQueue(tmp.resolve("events"), updates())
            .flush(events -> events.forEach(e -> sent.add(e.id()))));
    assertEquals(List.of(old.id()), sent);
  }

  /**
   * The update ended while the gateway was away; asking again for the target it now runs still
   * reports it.
   */
  @Test
  void updateToTheRunningTargetSendsTheQueueBeforeSayingSo() throws Exception {
    SelectedTarget target = engine().check(OptionalLong.empty());
    UpdateRecord done = completedOffline(target);
    AgentException running =
        assertThrows(
            AgentException.class,
            () ->
                engine()
                    .run(
                        UpdateAction.UPDATE,
                        OptionalLong.of(target.version()),
                        false,
                        UpdateState.COMPLETED));
    assertEquals(ExitCode.TARGET_ALREADY_RUNNING, running.exitCode());
    assertEquals(
        SEVEN.stream().map(Enum::name).toList(),
        gateway.events.stream()
            .filter(e -> e.event().correlationId().equals(done.id()))
            .map(e -> e.eventType().id())
            .toList());
    assertTrue(updates().lastCompleted().orElseThrow().unsent().isEmpty());
  }
}
