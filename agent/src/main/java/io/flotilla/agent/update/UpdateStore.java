package io.flotilla.agent.update;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.agent.AgentException;
import io.flotilla.agent.ExitCode;
import io.flotilla.agent.store.AtomicFiles;
import io.flotilla.protocol.Json;
import io.flotilla.protocol.device.DeviceEvent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The update records on disk, one JSON file per update named by its ULID, each written atomically.
 * Only one unfinished update may exist; a record that cannot be read is an invalid ongoing update
 * (exit 23), never ignored, since ignoring it could start a second update over a half-done one.
 */
public final class UpdateStore {

  /** Finished records kept for history and for counting failed attempts. */
  private static final int KEEP_FINISHED = 50;

  private final Path dir;
  private final Clock clock;
  private final Ulid ulid;
  private final ObjectMapper json = Json.newMapper();

  public UpdateStore(Path dir, Clock clock) {
    this.dir = dir;
    this.clock = clock;
    this.ulid = new Ulid(clock);
  }

  public Optional<UpdateRecord> unfinished() {
    List<UpdateRecord> open = all().stream().filter(u -> !u.state().isFinal()).toList();
    if (open.size() > 1) {
      throw new AgentException(
          ExitCode.INVALID_ONGOING_UPDATE,
          "more than one unfinished update in "
              + dir
              + ": "
              + open.stream().map(UpdateRecord::id).toList());
    }
    return open.stream().findFirst();
  }

  public Optional<UpdateRecord> lastCompleted() {
    return all().stream().filter(u -> u.state() == UpdateState.COMPLETED).reduce((a, b) -> b);
  }

  public Optional<UpdateRecord> latest() {
    List<UpdateRecord> all = all();
    return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
  }

  /**
   * Failed attempts at a target since it last completed, for the daemon's 3-attempts rollback rule.
   */
  public int failedAttempts(String targetName) {
    int count = 0;
    for (UpdateRecord update : all()) {
      if (!update.targetName().equals(targetName)) {
        continue;
      }
      if (update.state() == UpdateState.COMPLETED) {
        count = 0;
      } else if (update.state() == UpdateState.FAILED) {
        count++;
      }
    }
    return count;
  }

  /** Creates a new update; exit 23 when an unfinished one exists. */
  public UpdateRecord create(
      SelectedTarget target, String fromTarget, Map<String, String> fromApps) {
    unfinished()
        .ifPresent(
            u -> {
              throw new AgentException(
                  ExitCode.INVALID_ONGOING_UPDATE,
                  "update "
                      + u.id()
                      + " to "
                      + u.targetName()
                      + " is still "
                      + u.state().wireName()
                      + "; finish or cancel it first");
            });
    UpdateRecord record =
        UpdateRecord.create(ulid.next(), target, fromTarget, fromApps, clock.instant());
    save(record);
    prune();
    return record;
  }

  /**
   * Moves the update to {@code next} and persists it, with {@code events} added to its unsent
   * events in the same write, before returning: a kill leaves either the old state or the new state
   * and its events, never one without the other.
   */
  public UpdateRecord transition(UpdateRecord update, UpdateState next, DeviceEvent... events) {
    return saveWith(update.moveTo(next, clock.instant()), events);
  }

  public UpdateRecord fail(UpdateRecord update, String reason, DeviceEvent... events) {
    return saveWith(update.fail(reason, clock.instant()), events);
  }

  /**
   * Sends every record's unsent events, oldest record first and at most {@code batch} per request,
   * and rewrites the record without them once the gateway took them. A kill between the two resends
   * them: the server ignores event ids it already has. Stops at the first failure, keeping the
   * rest. Returns the number sent.
   */
  public int sendUnsent(EventQueue.Sender sender, int batch) throws IOException {
    int sent = 0;
    for (UpdateRecord record : all()) {
      List<DeviceEvent> unsent = record.unsent();
      while (!unsent.isEmpty()) {
        List<DeviceEvent> chunk = unsent.subList(0, Math.min(batch, unsent.size()));
        sender.send(chunk);
        sent += chunk.size();
        unsent = unsent.subList(chunk.size(), unsent.size());
        record = record.withUnsent(unsent);
        save(record);
      }
    }
    return sent;
  }

  /** Events written with the records and not yet taken by the gateway. */
  public int unsentCount() {
    return all().stream().mapToInt(u -> u.unsent().size()).sum();
  }

  /**
   * The record on disk knows which events the gateway already took (a flush may have rewritten it
   * since the caller read it), so the new version carries the disk's unsent events plus {@code
   * events}.
   */
  private UpdateRecord saveWith(UpdateRecord record, DeviceEvent... events) {
    List<DeviceEvent> unsent =
        new ArrayList<>(read(record.id()).map(UpdateRecord::unsent).orElse(record.unsent()));
    unsent.addAll(List.of(events));
    UpdateRecord withEvents = record.withUnsent(unsent);
    save(withEvents);
    return withEvents;
  }

  private Optional<UpdateRecord> read(String id) {
    Path file = dir.resolve(id + ".json");
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    try {
      return Optional.of(json.readValue(file.toFile(), UpdateRecord.class));
    } catch (IOException e) {
      throw new AgentException(
          ExitCode.INVALID_ONGOING_UPDATE,
          "unreadable update record " + file + ": " + e.getMessage(),
          e);
    }
  }

  /** All records, oldest first. */
  public List<UpdateRecord> all() {
    List<UpdateRecord> records = new ArrayList<>();
    for (Path file : files()) {
      try {
        records.add(json.readValue(file.toFile(), UpdateRecord.class));
      } catch (IOException e) {
        throw new AgentException(
            ExitCode.INVALID_ONGOING_UPDATE,
            "unreadable update record " + file + ": " + e.getMessage(),
            e);
      }
    }
    return records;
  }

  private void save(UpdateRecord record) {
    try {
      AtomicFiles.write(
          dir.resolve(record.id() + ".json"),
          json.writerWithDefaultPrettyPrinter().writeValueAsBytes(record));
    } catch (IOException e) {
      throw new AgentException(
          ExitCode.GENERIC,
          "cannot persist update " + record.id() + " in " + dir + ": " + e.getMessage(),
          e);
    }
  }

  private List<Path> files() {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> list = Files.list(dir)) {
      return list.filter(
              p -> {
                String name = p.getFileName().toString();
                return name.endsWith(".json") && Ulid.isValid(name.substring(0, name.length() - 5));
              })
          .sorted(Comparator.comparing(p -> p.getFileName().toString()))
          .toList();
    } catch (IOException e) {
      throw new AgentException(
          ExitCode.GENERIC, "cannot list update records in " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Old finished records go, except one whose events the gateway has not taken yet. */
  private void prune() {
    List<Path> files = files();
    for (int i = 0; i < files.size() - KEEP_FINISHED; i++) {
      String name = files.get(i).getFileName().toString();
      if (read(name.substring(0, name.length() - 5))
          .map(u -> !u.unsent().isEmpty())
          .orElse(false)) {
        continue;
      }
      try {
        Files.deleteIfExists(files.get(i));
      } catch (IOException e) {
        // pruning is housekeeping: a leftover old record is harmless
      }
    }
  }
}
