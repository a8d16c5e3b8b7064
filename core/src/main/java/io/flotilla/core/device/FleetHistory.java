package io.flotilla.core.device;

import io.flotilla.core.journal.JournalReader;
import io.flotilla.core.persistence.Database;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The fleet as it was at a moment (journal time travel): each device replayed from its newest
 * snapshot taken by then plus its events written by then, a page of devices at a time.
 *
 * <p>Which devices to replay comes from the read side ({@code device_status}, created by then, in
 * uuid order), so a device registered just before the moment whose registration the projection has
 * not stored yet is missing; what each device was comes from the journal alone. Moments compare
 * with the journal's write timestamps (milliseconds), as {@link JournalReader#eventsUntil} does.
 */
public final class FleetHistory {

  /** The most devices one page replays: each costs a snapshot read and a journal read. */
  public static final int MAX_PAGE = 1000;

  /** Devices replayed at once. */
  private static final int PARALLELISM = 4;

  /** One device at the moment; {@code decommissioned}: it had been decommissioned by then. */
  public record DeviceAt(
      String uuid,
      String name,
      String group,
      String tag,
      String targetName,
      boolean decommissioned) {}

  /** A tag's devices at the moment and how many ran each target ("-" for none reported yet). */
  public record TagAt(long devices, Map<String, Long> byTarget) {}

  /**
   * A page of the fleet at {@code at}: the counts are this page's (a caller that follows {@code
   * nextCursor} adds them up); decommissioned devices are listed but not counted.
   */
  public record FleetPage(
      Instant at,
      long devices,
      Map<String, TagAt> byTag,
      Map<String, Long> byTarget,
      List<DeviceAt> fleet,
      String nextCursor) {}

  private final ActorSystem<?> system;
  private final Database database;
  private final Executor blocking;
  private final JournalReader journal;
  private final Serialization serialization;

  public FleetHistory(
      ActorSystem<?> system, Database database, Executor blocking, JournalReader journal) {
    this.system = system;
    this.database = database;
    this.blocking = blocking;
    this.journal = journal;
    this.serialization = SerializationExtension.get(Adapter.toClassic(system));
  }

  public CompletionStage<FleetPage> at(String factory, Instant at, int limit, String afterUuid) {
    int pageSize = Math.max(1, Math.min(limit, MAX_PAGE));
    return candidates(factory, at, pageSize, afterUuid)
        .thenCompose(
            uuids -> {
              String next = uuids.size() > pageSize ? uuids.get(pageSize - 1) : null;
              List<String> page = uuids.subList(0, Math.min(pageSize, uuids.size()));
              return Source.from(page)
                  .mapAsync(PARALLELISM, uuid -> device(uuid, at))
                  .runWith(Sink.seq(), system)
                  .thenApply(replayed -> page(factory, at, replayed, next));
            });
  }

  private static FleetPage page(
      String factory, Instant at, List<Optional<Device.Summary>> replayed, String next) {
    List<DeviceAt> fleet = new ArrayList<>();
    Map<String, TagAt> byTag = new TreeMap<>();
    Map<String, Long> byTarget = new TreeMap<>();
    long devices = 0;
    for (Optional<Device.Summary> found : replayed) {
      if (found.isEmpty() || !factory.equals(found.get().factory())) {
        continue;
      }
      Device.Summary s = found.get();
      boolean gone = s.decommissionedAt() != null;
      fleet.add(new DeviceAt(s.uuid(), s.name(), s.group(), s.tag(), s.targetName(), gone));
      if (gone) {
        continue;
      }
      devices++;
      String tag = s.tag() == null ? "-" : s.tag();
      String target = s.targetName() == null ? "-" : s.targetName();
      TagAt counted = byTag.getOrDefault(tag, new TagAt(0, new TreeMap<>()));
      counted.byTarget().merge(target, 1L, Long::sum);
      byTag.put(tag, new TagAt(counted.devices() + 1, counted.byTarget()));
      byTarget.merge(target, 1L, Long::sum);
    }
    return new FleetPage(at, devices, byTag, byTarget, List.copyOf(fleet), next);
  }

  /**
   * The factory's devices the read side knows as created by {@code at}, one more than the page to
   * tell whether another follows. A millisecond of slack covers the read side's rounding; the
   * replay drops a device that did not exist yet.
   */
  private CompletionStage<List<String>> candidates(
      String factory, Instant at, int pageSize, String afterUuid) {
    return database.query(
        blocking,
        connection -> {
          String sql =
              "SELECT uuid FROM device_status WHERE factory = ? AND created_at <= ?"
                  + (afterUuid == null ? "" : " AND uuid > ?")
                  + " ORDER BY uuid LIMIT ?";
          try (PreparedStatement s = connection.prepareStatement(sql)) {
            int i = 1;
            s.setString(i++, factory);
            s.setTimestamp(i++, Timestamp.from(at.plusMillis(1)));
            if (afterUuid != null) {
              s.setString(i++, afterUuid);
            }
            s.setInt(i, pageSize + 1);
            List<String> uuids = new ArrayList<>();
            try (ResultSet rows = s.executeQuery()) {
              while (rows.next()) {
                uuids.add(rows.getString(1));
              }
            }
            return uuids;
          }
        });
  }

  /** One device at {@code at}: its newest snapshot taken by then, and its events after it. */
  public CompletionStage<Optional<Device.Summary>> device(String uuid, Instant at) {
    String persistenceId = Device.ENTITY_KEY.name() + "|" + uuid;
    return snapshot(persistenceId, at)
        .thenCompose(
            snapshot ->
                journal
                    .eventsUntil(persistenceId, snapshot.sequenceNr() + 1, at)
                    .filter(Device.Event.class::isInstance)
                    .map(Device.Event.class::cast)
                    .runWith(Sink.seq(), system)
                    .thenApply(events -> Device.replayed(uuid, snapshot.state(), events)));
  }

  private record Snapshot(long sequenceNr, Device.State state) {}

  private static final Snapshot NONE = new Snapshot(0, Device.State.EMPTY);

  /**
   * Read from the snapshot store's table and deserialized as the store would: the plugin's API
   * offers no "newest snapshot by a moment" to code outside an entity.
   */
  private CompletionStage<Snapshot> snapshot(String persistenceId, Instant at) {
    if (at.toEpochMilli() < 0) {
      return CompletableFuture.completedFuture(NONE);
    }
    return database.query(
        blocking,
        connection -> {
          try (PreparedStatement s =
              connection.prepareStatement(
                  "SELECT \"sequence_number\", \"snapshot_ser_id\", \"snapshot_ser_manifest\","
                      + " \"snapshot_payload\" FROM \"snapshot\" WHERE \"persistence_id\" = ?"
                      + " AND \"created\" <= ? ORDER BY \"sequence_number\" DESC LIMIT 1")) {
            s.setString(1, persistenceId);
            s.setLong(2, at.toEpochMilli());
            try (ResultSet rows = s.executeQuery()) {
              if (!rows.next()) {
                return NONE;
              }
              Object state =
                  serialization
                      .deserialize(rows.getBytes(4), rows.getInt(2), rows.getString(3))
                      .get();
              return state instanceof Device.State device
                  ? new Snapshot(rows.getLong(1), device)
                  : NONE;
            }
          }
        });
  }
}
