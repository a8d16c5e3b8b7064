package io.flotilla.agent.update;

import io.flotilla.agent.AgentException;
import io.flotilla.agent.ExitCode;
import io.flotilla.agent.gateway.GatewayClient;
import io.flotilla.agent.registry.RegistryClient;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.io.PrintStream;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.*;

/** Resuming after the agent died mid-step, cancel, and events kept while the gateway is unreachable. No container engine needed. */
class UpdateResumeTest {

    private static TestRegistry registry;
    private static TestGateway gateway;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws IOException {
        registry = new TestRegistry();
        gateway = new TestGateway();
        String image = TestImages.pushBusybox(registry, "acme/busybox", "amd64");
        String app = TestImages.pushApp(registry, "acme", "shell", "services:\n  web:\n    image: " + image + "\n", Map.of());
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
        RegistryClient registryClient = new RegistryClient(HttpClient.newHttpClient(), host -> "http",
                () -> new HubCredentials(TestRegistry.USER, TestRegistry.SECRET));
        // never reached: these tests stop before installing
        DockerRuntime noEngine = new DockerRuntime(new DockerEngine(tmp.resolve("no.sock")), new Compose(List.of("false"), "unix:///none", 5),
                tmp.resolve("overrides"), tmp.resolve("scratch"));
        return new UpdateEngine(client, registryClient, new ContentStore(tmp.resolve("store")), updates(), noEngine,
                new EventQueue(tmp.resolve("events")), new TargetSelector("amd64-linux", Optional.of("main"), Optional.empty(), w -> { }),
                tmp.resolve("apps"), 99, "amd64", new Console(new PrintStream(PrintStream.nullOutputStream()), true, false), Clock.systemUTC());
    }

    private UpdateStore updates() {
        return new UpdateStore(tmp.resolve("updates"), Clock.systemUTC());
    }

    @Test
    void anAgentKilledWhileFetchingResumesTheSameUpdate() throws Exception {
        UpdateRecord initialized = engine().run(UpdateAction.FETCH, OptionalLong.empty(), false, UpdateState.INITIALIZED);
        assertEquals(UpdateState.INITIALIZED, initialized.state());
        // what a SIGKILL right after persisting "fetching" leaves on disk
        updates().transition(initialized, UpdateState.FETCHING);

        UpdateRecord fetched = engine().run(UpdateAction.FETCH, OptionalLong.empty(), false, UpdateState.FETCHED);
        assertEquals(initialized.id(), fetched.id(), "the same update was resumed, not a second one started");
        assertEquals(UpdateState.FETCHED, fetched.state());
        assertEquals(List.of(UpdateState.CREATED, UpdateState.INITIALIZING, UpdateState.INITIALIZED, UpdateState.FETCHING,
                UpdateState.FETCHED), fetched.history().stream().map(UpdateRecord.Transition::state).toList());

        long served = registry.blobBytesServed.get();
        assertEquals(ExitCode.INVALID_ACTION, assertThrows(AgentException.class, () -> UpdateAction.START.check(updates().unfinished())).exitCode());
        assertEquals(ExitCode.INVALID_ONGOING_UPDATE, assertThrows(AgentException.class,
                () -> engine().run(UpdateAction.UPDATE, OptionalLong.of(7), false, UpdateState.COMPLETED)).exitCode());

        UpdateRecord canceled = engine().cancel("canceled by the test");
        assertEquals(UpdateState.CANCELED, canceled.state());
        assertEquals(ExitCode.NO_UPDATE_IN_PROGRESS, assertThrows(AgentException.class, () -> engine().cancel("again")).exitCode());

        UpdateRecord again = engine().run(UpdateAction.FETCH, OptionalLong.empty(), false, UpdateState.FETCHED);
        assertNotEquals(initialized.id(), again.id());
        assertEquals(served, registry.blobBytesServed.get(), "a new fetch of the same target downloads nothing again");

        List<DeviceEvent> reported = gateway.events.stream().filter(e -> e.event().correlationId().equals(initialized.id())).toList();
        assertEquals(List.of("UpdateInitStarted", "UpdateInitCompleted", "EcuDownloadCompleted", "EcuInstallationCompleted"),
                reported.stream().map(e -> e.eventType().id()).toList(),
                "a resumed step does not report its start twice; the cancel ends the update on the server");
        DeviceEvent end = reported.get(reported.size() - 1);
        assertEquals(Boolean.FALSE, end.event().success());
        assertEquals("canceled by the test", Json.mapper().readTree(end.event().details()).path("canceled").asText());
    }

    @Test
    void eventsWaitOnDiskUntilTheGatewayTakesThem() throws IOException {
        EventQueue queue = new EventQueue(tmp.resolve("queue"));
        for (DeviceEventType type : List.of(DeviceEventType.UpdateInitStarted, DeviceEventType.UpdateInitCompleted,
                DeviceEventType.EcuDownloadStarted, DeviceEventType.EcuDownloadCompleted, DeviceEventType.EcuInstallationStarted,
                DeviceEventType.EcuInstallationApplied, DeviceEventType.EcuInstallationCompleted)) {
            queue.add(DeviceEvent.of(type, Instant.now(), "u1", "t-1", "1", true, null));
        }
        assertThrows(IOException.class, () -> queue.flush(events -> {
            throw new IOException("gateway unreachable");
        }));
        assertEquals(7, queue.pending().size(), "nothing is lost while offline");

        List<List<String>> batches = new java.util.ArrayList<>();
        assertEquals(7, new EventQueue(tmp.resolve("queue")).flush(events ->
                batches.add(events.stream().map(e -> e.eventType().id()).toList())));
        assertEquals(List.of(6, 1), batches.stream().map(List::size).toList(), "at most 6 events per request");
        assertEquals("UpdateInitStarted", batches.get(0).get(0), "oldest first");
        assertEquals("EcuInstallationCompleted", batches.get(1).get(0));
        assertTrue(queue.pending().isEmpty());
    }
}
