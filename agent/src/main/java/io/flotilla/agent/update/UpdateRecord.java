package io.flotilla.agent.update;

import io.flotilla.agent.AgentException;
import io.flotilla.agent.ExitCode;
import io.flotilla.protocol.device.DeviceEvent;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One update as persisted on disk: where it goes ({@code targetName}, app URIs), where it came
 * from, its state, and the events about it that the gateway has not taken yet ({@code unsent}).
 * Records are immutable; every transition writes a new version of the file, so a state and the
 * event that reports it reach the disk in one atomic write.
 */
public record UpdateRecord(
    String id,
    UpdateState state,
    String targetName,
    long version,
    Map<String, String> apps,
    String fromTarget,
    Map<String, String> fromApps,
    Instant createdAt,
    Instant updatedAt,
    String error,
    List<Transition> history,
    List<DeviceEvent> unsent) {

  public record Transition(UpdateState state, Instant at) {}

  public UpdateRecord {
    apps = apps == null ? Map.of() : new TreeMap<>(apps);
    fromApps = fromApps == null ? Map.of() : new TreeMap<>(fromApps);
    history = history == null ? List.of() : List.copyOf(history);
    // records written before events moved into them have no such field
    unsent = unsent == null ? List.of() : List.copyOf(unsent);
  }

  public static UpdateRecord create(
      String id,
      SelectedTarget target,
      String fromTarget,
      Map<String, String> fromApps,
      Instant now) {
    Map<String, String> apps = new TreeMap<>();
    target.apps().forEach((name, uri) -> apps.put(name, uri.toString()));
    return new UpdateRecord(
        id,
        UpdateState.CREATED,
        target.name(),
        target.version(),
        apps,
        fromTarget,
        fromApps,
        now,
        now,
        null,
        List.of(new Transition(UpdateState.CREATED, now)),
        List.of());
  }

  /** The record in {@code next}; exit 10 when the state machine does not allow that move. */
  public UpdateRecord moveTo(UpdateState next, Instant now) {
    if (!state.canMoveTo(next)) {
      throw new AgentException(
          ExitCode.INVALID_ACTION,
          "update " + id + " cannot go from " + state.wireName() + " to " + next.wireName());
    }
    List<Transition> newHistory = new ArrayList<>(history);
    newHistory.add(new Transition(next, now));
    return changed(next, now, error, newHistory, unsent);
  }

  public UpdateRecord fail(String reason, Instant now) {
    UpdateRecord failed = moveTo(UpdateState.FAILED, now);
    return changed(failed.state, now, reason, failed.history, unsent);
  }

  /**
   * The same record with {@code events} to send; they are written with the record, never apart from
   * it.
   */
  public UpdateRecord withUnsent(List<DeviceEvent> events) {
    return changed(state, updatedAt, error, history, events);
  }

  /** The same update (where it goes and comes from) in another state. */
  private UpdateRecord changed(
      UpdateState state,
      Instant updatedAt,
      String error,
      List<Transition> history,
      List<DeviceEvent> unsent) {
    return new UpdateRecord(
        id,
        state,
        targetName,
        version,
        apps,
        fromTarget,
        fromApps,
        createdAt,
        updatedAt,
        error,
        history,
        unsent);
  }
}
