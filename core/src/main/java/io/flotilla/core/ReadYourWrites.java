package io.flotilla.core;

import io.flotilla.core.app.App;
import io.flotilla.core.app.AppProjection;
import io.flotilla.core.device.Device;
import io.flotilla.core.device.DeviceProjection;
import io.flotilla.core.factory.Factory;
import io.flotilla.core.factory.FactoryProjection;
import io.flotilla.core.persistence.Database;
import io.flotilla.core.target.Targets;
import io.flotilla.core.target.TargetsProjection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.typed.PersistenceId;

/**
 * Lets a write answer only once the read side shows it, so that a caller's next query sees its own
 * change: the entity's newest journal offset, then the projection's stored offset polled until it
 * reaches it. Exactly-once projections store their offset in the transaction that updates the read
 * side, so an offset that far means the rows are there. Bounded: after {@code patience} the answer
 * goes out anyway (the write is durable already; only the read side is late), so a stalled
 * projection never holds up a write.
 */
public final class ReadYourWrites {

  /**
   * One entity's events and the projection (name and key: its event tag) that writes them to the
   * read side.
   */
  public record Projected(String persistenceId, String projectionName, String projectionKey) {

    public static Projected factory(String factory) {
      return new Projected(
          PersistenceId.of(Factory.ENTITY_KEY.name(), factory).id(),
          FactoryProjection.NAME,
          Factory.TAG);
    }

    public static Projected targets(String factory) {
      return new Projected(
          PersistenceId.of(Targets.ENTITY_KEY.name(), factory).id(),
          TargetsProjection.NAME,
          Targets.TAG);
    }

    public static Projected device(String uuid, int slices) {
      return new Projected(
          PersistenceId.of(Device.ENTITY_KEY.name(), uuid).id(),
          DeviceProjection.NAME,
          Device.tagFor(uuid, slices));
    }

    public static Projected rollout(String factory, String id) {
      return new Projected(
          PersistenceId.of(
                  io.flotilla.core.rollout.Rollout.ENTITY_KEY.name(),
                  io.flotilla.core.rollout.Rollout.entityId(factory, id))
              .id(),
          io.flotilla.core.rollout.RolloutProjection.NAME,
          io.flotilla.core.rollout.Rollout.TAG);
    }

    public static Projected webhooks(String factory) {
      return new Projected(
          PersistenceId.of(io.flotilla.core.webhook.Webhooks.ENTITY_KEY.name(), factory).id(),
          io.flotilla.core.webhook.WebhookProjection.NAME,
          io.flotilla.core.webhook.Webhooks.TAG);
    }

    public static Projected app(String factory, String app) {
      return new Projected(
          PersistenceId.of(App.ENTITY_KEY.name(), App.entityId(factory, app)).id(),
          AppProjection.NAME,
          App.TAG);
    }
  }

  private static final long POLL_MILLIS = 20;

  private final ActorSystem<?> system;
  private final Database database;
  private final Executor blocking;
  private final Duration patience;

  public ReadYourWrites(
      ActorSystem<?> system, Database database, Executor blocking, Duration patience) {
    this.system = system;
    this.database = database;
    this.blocking = blocking;
    this.patience = patience;
  }

  /**
   * Completes with {@code value} once every one of {@code writes} is on the read side, or after the
   * patience.
   */
  public <T> CompletionStage<T> projected(T value, List<Projected> writes) {
    Instant deadline = Instant.now().plus(patience);
    CompletableFuture<?>[] all =
        writes.stream()
            .map(w -> projected(w, deadline).toCompletableFuture())
            .toArray(CompletableFuture[]::new);
    return CompletableFuture.allOf(all).handle((done, failure) -> value);
  }

  private CompletionStage<Void> projected(Projected write, Instant deadline) {
    return database
        .query(blocking, c -> newestOffset(c, write))
        .thenCompose(
            offset ->
                offset < 0
                    ? CompletableFuture.completedFuture(null)
                    : until(write, offset, deadline));
  }

  private CompletionStage<Void> until(Projected write, long offset, Instant deadline) {
    return database
        .query(blocking, c -> projectedOffset(c, write))
        .thenCompose(
            reached -> {
              if (reached >= offset || Instant.now().isAfter(deadline)) {
                return CompletableFuture.completedFuture(null);
              }
              Executor later =
                  CompletableFuture.delayedExecutor(
                      POLL_MILLIS, TimeUnit.MILLISECONDS, system.executionContext());
              return CompletableFuture.supplyAsync(() -> null, later)
                  .thenCompose(ignored -> until(write, offset, deadline));
            });
  }

  private static long newestOffset(java.sql.Connection c, Projected write)
      throws java.sql.SQLException {
    try (PreparedStatement s =
        c.prepareStatement(
            "SELECT MAX(\"ordering\") FROM \"event_journal\" WHERE \"persistence_id\" = ?")) {
      s.setString(1, write.persistenceId());
      try (ResultSet r = s.executeQuery()) {
        r.next();
        long max = r.getLong(1);
        return r.wasNull() ? -1 : max;
      }
    }
  }

  private static long projectedOffset(java.sql.Connection c, Projected write)
      throws java.sql.SQLException {
    try (PreparedStatement s =
        c.prepareStatement(
            "SELECT \"current_offset\" FROM \"pekko_projection_offset_store\" WHERE \"projection_name\" = ? AND \"projection_key\" = ?")) {
      s.setString(1, write.projectionName());
      s.setString(2, write.projectionKey());
      try (ResultSet r = s.executeQuery()) {
        if (!r.next()) {
          return -1;
        }
        try {
          return Long.parseLong(r.getString(1));
        } catch (NumberFormatException e) {
          return -1;
        }
      }
    }
  }
}
