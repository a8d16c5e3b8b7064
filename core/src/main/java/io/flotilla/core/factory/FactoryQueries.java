package io.flotilla.core.factory;

import static io.flotilla.core.ReadSideSupport.instant;

import io.flotilla.core.persistence.Database;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/** Read-side queries over the tables that {@link FactoryProjection} keeps. */
public final class FactoryQueries {

  public record TokenRow(
      String id, String description, List<String> scopes, Instant createdAt, Instant revokedAt) {}

  public record FactoryRow(String name, List<String> platforms, Instant createdAt) {}

  private final Database database;
  private final Executor blocking;

  public FactoryQueries(Database database, Executor blocking) {
    this.database = database;
    this.blocking = blocking;
  }

  public CompletionStage<List<TokenRow>> tokens(String factory) {
    return database.query(
        blocking,
        connection -> {
          List<TokenRow> tokens = new ArrayList<>();
          try (PreparedStatement s =
              connection.prepareStatement(
                  "SELECT token_id, description, scopes, created_at, revoked_at FROM factory_tokens WHERE factory = ? ORDER BY created_at, token_id")) {
            s.setString(1, factory);
            try (ResultSet rows = s.executeQuery()) {
              while (rows.next()) {
                tokens.add(
                    new TokenRow(
                        rows.getString(1),
                        rows.getString(2),
                        Arrays.asList(rows.getString(3).split(",")),
                        instant(rows.getTimestamp(4)),
                        instant(rows.getTimestamp(5))));
              }
            }
          }
          return tokens;
        });
  }

  public CompletionStage<List<FactoryRow>> factories() {
    return database.query(
        blocking,
        connection -> {
          List<FactoryRow> factories = new ArrayList<>();
          try (PreparedStatement s =
                  connection.prepareStatement(
                      "SELECT name, platforms, created_at FROM factories ORDER BY name");
              ResultSet rows = s.executeQuery()) {
            while (rows.next()) {
              factories.add(
                  new FactoryRow(
                      rows.getString(1),
                      Arrays.asList(rows.getString(2).split(",")),
                      instant(rows.getTimestamp(3))));
            }
          }
          return factories;
        });
  }
}
