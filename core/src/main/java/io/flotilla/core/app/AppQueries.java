package io.flotilla.core.app;

import static io.flotilla.core.ReadSideSupport.instant;

import io.flotilla.core.persistence.Database;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/** Read-side queries over {@code app_versions}. */
public final class AppQueries {

  public record VersionRow(
      String digest, String uri, String sourceCommit, long buildNumber, Instant publishedAt) {}

  /** An app with its newest version first in {@code versions}. */
  public record AppRow(String name, List<VersionRow> versions) {}

  private final Database database;
  private final Executor blocking;

  public AppQueries(Database database, Executor blocking) {
    this.database = database;
    this.blocking = blocking;
  }

  public CompletionStage<List<AppRow>> apps(String factory) {
    return query(factory, null);
  }

  public CompletionStage<List<AppRow>> app(String factory, String app) {
    return query(factory, app);
  }

  private CompletionStage<List<AppRow>> query(String factory, String app) {
    return database.query(
        blocking,
        connection -> {
          String sql =
              "SELECT app, digest, uri, source_commit, build_number, published_at FROM app_versions WHERE factory = ?"
                  + (app == null ? "" : " AND app = ?")
                  + " ORDER BY app, build_number DESC, published_at DESC";
          Map<String, List<VersionRow>> apps = new LinkedHashMap<>();
          try (PreparedStatement s = connection.prepareStatement(sql)) {
            s.setString(1, factory);
            if (app != null) {
              s.setString(2, app);
            }
            try (ResultSet rows = s.executeQuery()) {
              while (rows.next()) {
                apps.computeIfAbsent(rows.getString(1), k -> new ArrayList<>())
                    .add(
                        new VersionRow(
                            rows.getString(2),
                            rows.getString(3),
                            rows.getString(4),
                            rows.getLong(5),
                            instant(rows.getTimestamp(6))));
              }
            }
          }
          List<AppRow> result = new ArrayList<>();
          apps.forEach((name, versions) -> result.add(new AppRow(name, versions)));
          return result;
        });
  }
}
