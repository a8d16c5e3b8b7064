package io.flotilla.core.webhook;

import io.flotilla.core.ReadSideSupport;
import io.flotilla.core.persistence.Database;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/** A hook's delivery log, newest first, from {@code webhook_deliveries}. */
public final class WebhookQueries {

  /**
   * {@code state}: pending (waiting for its next attempt, {@code nextAttemptAt}), delivered or
   * failed (given up); {@code statusCode} and {@code error} are the last attempt's.
   */
  public record Delivery(
      String id,
      String event,
      String state,
      int attempts,
      Integer statusCode,
      String error,
      Instant createdAt,
      Instant lastAttemptAt,
      Instant nextAttemptAt,
      Instant finishedAt) {}

  private final Database database;
  private final Executor blocking;

  public WebhookQueries(Database database, Executor blocking) {
    this.database = database;
    this.blocking = blocking;
  }

  public CompletionStage<List<Delivery>> deliveries(String factory, String hook, int limit) {
    return database.query(
        blocking,
        c -> {
          try (PreparedStatement s =
              c.prepareStatement(
                  "SELECT id, event, state, attempts, status_code, error, created_at, last_attempt_at,"
                      + " next_attempt_at, finished_at FROM webhook_deliveries"
                      + " WHERE factory = ? AND hook_id = ? ORDER BY seq DESC LIMIT ?")) {
            s.setString(1, factory);
            s.setString(2, hook);
            s.setInt(3, limit);
            List<Delivery> rows = new ArrayList<>();
            try (ResultSet r = s.executeQuery()) {
              while (r.next()) {
                int status = r.getInt(5);
                boolean pending = "pending".equals(r.getString(3));
                rows.add(
                    new Delivery(
                        r.getString(1),
                        r.getString(2),
                        r.getString(3),
                        r.getInt(4),
                        r.wasNull() ? null : status,
                        r.getString(6),
                        ReadSideSupport.instant(r.getTimestamp(7)),
                        ReadSideSupport.instant(r.getTimestamp(8)),
                        pending ? ReadSideSupport.instant(r.getTimestamp(9)) : null,
                        ReadSideSupport.instant(r.getTimestamp(10))));
              }
            }
            return rows;
          }
        });
  }
}
