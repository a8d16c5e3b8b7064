package io.flotilla.agent.update;

import io.flotilla.agent.store.AtomicFiles;
import io.flotilla.protocol.Json;
import io.flotilla.protocol.device.DeviceEvent;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Events are written to disk before they are sent and deleted only once the gateway accepted them, so a device
 * offline during an update reports it later. Resending after a lost reply is safe: the server drops duplicate ids.
 */
public final class EventQueue {

    /** fioup sends at most this many events per request. */
    private static final int BATCH = 6;

    public interface Sender {
        void send(List<DeviceEvent> events) throws IOException;
    }

    private final Path dir;

    public EventQueue(Path dir) {
        this.dir = dir;
    }

    public void add(DeviceEvent event) throws IOException {
        // nanoTime keeps the order of events written within one millisecond
        String name = String.format("%016d-%s.json", System.currentTimeMillis() * 1000 + (System.nanoTime() / 1000) % 1000, event.id());
        AtomicFiles.write(dir.resolve(name), Json.toBytes(event));
    }

    /** Sends queued events oldest first; stops at the first failure and keeps the rest. Returns the number sent. */
    public int flush(Sender sender) throws IOException {
        List<Path> files = pending();
        int sent = 0;
        for (int from = 0; from < files.size(); from += BATCH) {
            List<Path> batch = files.subList(from, Math.min(files.size(), from + BATCH));
            List<DeviceEvent> events = new ArrayList<>();
            for (Path file : batch) {
                try {
                    events.add(Json.mapper().readValue(file.toFile(), DeviceEvent.class));
                } catch (IOException e) {
                    Files.deleteIfExists(file); // a torn write from a crash: nothing to report from it
                }
            }
            sender.send(events);
            for (Path file : batch) {
                Files.deleteIfExists(file);
            }
            sent += events.size();
        }
        return sent;
    }

    public List<Path> pending() throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> list = Files.list(dir)) {
            return list.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList();
        }
    }
}
