package io.flotilla.core.target;

import static io.flotilla.core.ReadSideSupport.instant;

import io.flotilla.core.JsonColumns;
import io.flotilla.core.persistence.Database;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * Read-side queries over {@code targets}, for the management API (devices use {@link
 * TargetsCache}).
 */
public final class TargetQueries {

  private final Database database;
  private final Executor blocking;

  public TargetQueries(Database database, Executor blocking) {
    this.database = database;
    this.blocking = blocking;
  }

  /** Targets of a factory by version then name; {@code tag} null for all. */
  public CompletionStage<List<Target>> targets(String factory, String tag) {
    return database.query(
        blocking,
        connection -> {
          List<Target> targets = new ArrayList<>();
          try (PreparedStatement s =
              connection.prepareStatement(
                  "SELECT name, hardware_id, version, tags, apps, containers_sha, created_at FROM targets WHERE factory = ? ORDER BY version, name")) {
            s.setString(1, factory);
            try (ResultSet rows = s.executeQuery()) {
              while (rows.next()) {
                List<String> tags = Arrays.asList(rows.getString(4).split(","));
                if (tag != null && !tags.contains(tag)) {
                  continue;
                }
                targets.add(
                    new Target(
                        rows.getString(1),
                        rows.getString(2),
                        rows.getLong(3),
                        tags,
                        JsonColumns.readMap(rows.getString(5)),
                        rows.getString(6),
                        instant(rows.getTimestamp(7))));
              }
            }
          }
          return targets;
        });
  }
}
