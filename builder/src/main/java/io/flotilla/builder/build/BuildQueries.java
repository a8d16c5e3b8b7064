package io.flotilla.builder.build;

import static io.flotilla.core.ReadSideSupport.instant;

import io.flotilla.core.persistence.Database;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/** Read-side queries over {@code builds}. */
public final class BuildQueries {

  public record BuildRow(
      String factory,
      long number,
      String status,
      String commit,
      String branch,
      String tag,
      String requestedBy,
      String reason,
      Instant createdAt,
      Instant finishedAt) {}

  private static final String COLUMNS =
      "factory, number, status, commit_sha, branch, tag, requested_by, reason, created_at, finished_at";

  private final Database database;
  private final Executor blocking;

  public BuildQueries(Database database, Executor blocking) {
    this.database = database;
    this.blocking = blocking;
  }

  /** Newest first, at most {@code limit}. */
  public CompletionStage<List<BuildRow>> builds(String factory, int limit) {
    return database.query(
        blocking,
        connection -> {
          try (PreparedStatement s =
              connection.prepareStatement(
                  "SELECT " + COLUMNS + " FROM builds WHERE factory = ? ORDER BY number DESC")) {
            s.setString(1, factory);
            s.setMaxRows(limit);
            return rows(s);
          }
        });
  }

  /** Builds whose last known status is not final: the sweeper wakes their entities. */
  public CompletionStage<List<BuildRow>> unfinished() {
    return database.query(
        blocking,
        connection -> {
          try (PreparedStatement s =
              connection.prepareStatement(
                  "SELECT "
                      + COLUMNS
                      + " FROM builds WHERE status NOT IN ('succeeded', 'failed', 'canceled') ORDER BY factory, number")) {
            s.setMaxRows(10_000);
            return rows(s);
          }
        });
  }

  private static List<BuildRow> rows(PreparedStatement statement) throws java.sql.SQLException {
    List<BuildRow> rows = new ArrayList<>();
    try (ResultSet r = statement.executeQuery()) {
      while (r.next()) {
        rows.add(
            new BuildRow(
                r.getString(1),
                r.getLong(2),
                r.getString(3),
                r.getString(4),
                r.getString(5),
                r.getString(6),
                r.getString(7),
                r.getString(8),
                instant(r.getTimestamp(9)),
                instant(r.getTimestamp(10))));
      }
    }
    return rows;
  }
}
