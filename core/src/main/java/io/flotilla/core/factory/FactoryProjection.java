package io.flotilla.core.factory;

import static io.flotilla.core.ReadSideSupport.timestamp;
import static io.flotilla.core.ReadSideSupport.upsert;

import io.flotilla.core.JsonColumns;
import io.flotilla.core.ReadSideSupport;
import io.flotilla.core.persistence.Database;
import io.flotilla.core.persistence.PooledJdbcSession;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.jdbc.javadsl.JdbcHandler;

/** Keeps the {@code factories} and {@code factory_tokens} tables. */
public final class FactoryProjection
    extends JdbcHandler<EventEnvelope<Factory.Event>, PooledJdbcSession> {

  public static final String NAME = "factories";

  public static void start(ActorSystem<?> system, Database database) {
    ReadSideSupport.startProjection(system, database, NAME, Factory.TAG, FactoryProjection::new);
  }

  @Override
  public void process(PooledJdbcSession session, EventEnvelope<Factory.Event> envelope)
      throws Exception {
    session.withConnection(
        connection -> {
          apply(connection, envelope.event());
          return null;
        });
  }

  private static void apply(Connection connection, Factory.Event event) throws SQLException {
    if (event instanceof Factory.Created created) {
      upsert(
          connection,
          "UPDATE factories SET platforms = ?, branch_tags = ?, created_at = ? WHERE name = ?",
          "INSERT INTO factories (platforms, branch_tags, created_at, name) VALUES (?, ?, ?, ?)",
          s -> {
            s.setString(1, String.join(",", created.platforms()));
            s.setString(2, JsonColumns.write(created.branchTags()));
            s.setTimestamp(3, timestamp(created.createdAt()));
            s.setString(4, created.factory());
          });
    } else if (event instanceof Factory.TokenCreated token) {
      upsert(
          connection,
          "UPDATE factory_tokens SET description = ?, scopes = ?, created_at = ?, revoked_at = NULL WHERE factory = ? AND token_id = ?",
          "INSERT INTO factory_tokens (description, scopes, created_at, factory, token_id) VALUES (?, ?, ?, ?, ?)",
          s -> {
            s.setString(1, token.description());
            s.setString(2, String.join(",", token.scopes()));
            s.setTimestamp(3, timestamp(token.createdAt()));
            s.setString(4, token.factory());
            s.setString(5, token.tokenId());
          });
    } else if (event instanceof Factory.TokenRevoked revoked) {
      try (PreparedStatement s =
          connection.prepareStatement(
              "UPDATE factory_tokens SET revoked_at = ? WHERE factory = ? AND token_id = ?")) {
        s.setTimestamp(1, timestamp(revoked.revokedAt()));
        s.setString(2, revoked.factory());
        s.setString(3, revoked.tokenId());
        s.executeUpdate();
      }
    } else if (event instanceof Factory.BranchTagSet set) {
      Map<String, String> branchTags = new HashMap<>();
      try (PreparedStatement s =
          connection.prepareStatement("SELECT branch_tags FROM factories WHERE name = ?")) {
        s.setString(1, set.factory());
        try (ResultSet rows = s.executeQuery()) {
          if (rows.next()) {
            branchTags.putAll(JsonColumns.readMap(rows.getString(1)));
          }
        }
      }
      branchTags.put(set.branch(), set.tag());
      try (PreparedStatement s =
          connection.prepareStatement("UPDATE factories SET branch_tags = ? WHERE name = ?")) {
        s.setString(1, JsonColumns.write(branchTags));
        s.setString(2, set.factory());
        s.executeUpdate();
      }
    }
  }
}
