package io.flotilla.core.projection;

import io.flotilla.core.persistence.DatabaseHealth;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.Sequence;
import org.apache.pekko.projection.ProjectionId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What this node knows of each read-side projection: every projection started here is registered,
 * and the one instance that runs (a sharded daemon, on some node) reports through its handler
 * whether it stores events or is stuck on one. A stuck projection is named in the log once when it
 * gets stuck on an event and once when it moves again; Pekko retries it with back-off meanwhile
 * ({@code pekko.projection.restart-backoff}) and the operator may skip the event ({@link
 * ProjectionAdmin#skip}). Failures because the database is away are not the event's: they are left
 * to {@link DatabaseHealth}.
 */
public final class ProjectionHealth implements Extension {

  private static final Logger log = LoggerFactory.getLogger(ProjectionHealth.class);

  /**
   * The event a projection is stuck on; {@code persistenceId} is null until a failing group has
   * been narrowed down.
   */
  public record Stuck(
      String persistenceId, long sequenceNr, long offset, String error, Instant since) {}

  /** {@code stuck} empty: the projection stores events (or does not run on this node). */
  public record Status(String name, String key, Optional<Stuck> stuck, long errors) {}

  public static final class Id extends ExtensionId<ProjectionHealth> {
    @Override
    public ProjectionHealth createExtension(ActorSystem<?> system) {
      return new ProjectionHealth();
    }
  }

  private static final Id ID = new Id();

  public static ProjectionHealth get(ActorSystem<?> system) {
    return ID.apply(system);
  }

  private final Map<ProjectionId, Tracker> trackers = new ConcurrentHashMap<>();

  ProjectionHealth() {}

  public Tracker register(ProjectionId id) {
    return trackers.computeIfAbsent(id, Tracker::new);
  }

  public Optional<Tracker> tracker(String name, String key) {
    return Optional.ofNullable(trackers.get(ProjectionId.of(name, key)));
  }

  public List<Status> statuses() {
    List<Status> all = new ArrayList<>();
    trackers.values().forEach(t -> all.add(t.status()));
    all.sort(Comparator.comparing(Status::name).thenComparing(Status::key));
    return all;
  }

  /** One projection's state, updated by its handler. */
  public static final class Tracker {

    private final ProjectionId id;
    private final AtomicLong errors = new AtomicLong();
    private volatile Stuck stuck;

    Tracker(ProjectionId id) {
      this.id = id;
    }

    public ProjectionId id() {
      return id;
    }

    public Status status() {
      return new Status(id.name(), id.key(), Optional.ofNullable(stuck), errors.get());
    }

    public boolean isStuck() {
      return stuck != null;
    }

    boolean isStuckAt(String persistenceId, long sequenceNr) {
      Stuck current = stuck;
      return current != null
          && persistenceId.equals(current.persistenceId())
          && sequenceNr == current.sequenceNr();
    }

    void failed(String persistenceId, long sequenceNr, Offset offset, Throwable error) {
      if (DatabaseHealth.isConnectionFailure(error)) {
        return;
      }
      errors.incrementAndGet();
      Stuck current = stuck;
      if (current != null
          && persistenceId != null
          && persistenceId.equals(current.persistenceId())
          && sequenceNr == current.sequenceNr()) {
        return;
      }
      String message = firstLine(error);
      stuck =
          new Stuck(
              persistenceId,
              sequenceNr,
              offsetValue(offset),
              message,
              current == null ? Instant.now() : current.since());
      if (persistenceId != null) {
        log.warn(
            "Projection {}/{} cannot store event {} #{} (offset {}): {}. It retries with back-off; to go on without it: "
                + "bin/flotilla projections skip {} {} '{}' {}",
            id.name(),
            id.key(),
            persistenceId,
            sequenceNr,
            offsetValue(offset),
            message,
            id.name(),
            id.key(),
            persistenceId,
            sequenceNr);
      }
    }

    void groupFailed(Throwable error) {
      failed(null, 0, null, error);
    }

    void succeeded() {
      if (stuck != null) {
        stuck = null;
        log.info("Projection {}/{} stores events again", id.name(), id.key());
      }
    }

    void skipped(String persistenceId, long sequenceNr) {
      log.warn(
          "Projection {}/{} skipped event {} #{} as an operator asked; the read side lacks what it held",
          id.name(),
          id.key(),
          persistenceId,
          sequenceNr);
      stuck = null;
    }

    private static long offsetValue(Offset offset) {
      return offset instanceof Sequence sequence ? sequence.value() : -1;
    }

    private static String firstLine(Throwable error) {
      String message = error.getMessage() == null ? error.getClass().getName() : error.getMessage();
      int newline = message.indexOf('\n');
      return newline < 0 ? message : message.substring(0, newline);
    }
  }
}
