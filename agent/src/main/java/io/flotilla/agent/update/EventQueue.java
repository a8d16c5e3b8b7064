package io.flotilla.agent.update;

import io.flotilla.protocol.Json;
import io.flotilla.protocol.device.DeviceEvent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * What the device still has to tell the gateway: the unsent events that each update record carries
 * (written in the same atomic write as the state they report), and files left in the events
 * directory by agents that queued events apart from the records. Events leave the disk only once
 * the gateway accepted them, so a device offline during an update reports it later. Resending after
 * a lost reply is safe: the server drops duplicate ids.
 */
public final class EventQueue {

  /** fioup sends at most this many events per request. */
  private static final int BATCH = 6;

  public interface Sender {
    void send(List<DeviceEvent> events) throws IOException;
  }

  private final Path dir;
  private final UpdateStore updates;

  public EventQueue(Path dir, UpdateStore updates) {
    this.dir = dir;
    this.updates = updates;
  }

  /**
   * Sends queued events oldest first; stops at the first failure and keeps the rest. Returns the
   * number sent.
   */
  public int flush(Sender sender) throws IOException {
    return flushFiles(sender) + updates.sendUnsent(sender, BATCH);
  }

  public int pendingCount() throws IOException {
    return pendingFiles().size() + updates.unsentCount();
  }

  private int flushFiles(Sender sender) throws IOException {
    List<Path> files = pendingFiles();
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

  private List<Path> pendingFiles() throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> list = Files.list(dir)) {
      return list.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList();
    }
  }
}
