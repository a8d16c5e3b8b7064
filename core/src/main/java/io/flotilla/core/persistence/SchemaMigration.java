package io.flotilla.core.persistence;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Creates the schema at every start and checks that what is there is usable. Unlike the plugin's SchemaUtils,
 * which swallows SQL errors, every failure here stops the node with a message that names the statement or the
 * table: a node must never start on a half-made schema.
 */
public final class SchemaMigration {

  /** Tables and the columns the code reads and writes; a select of these proves the schema is usable. */
  private static final Map<String, String> REQUIRED_COLUMNS =
      Map.ofEntries(
          Map.entry("event_journal", "ordering, persistence_id, sequence_number, event_payload"),
          Map.entry("event_tag", "event_id, tag"),
          Map.entry("snapshot", "persistence_id, sequence_number, snapshot_payload"),
          Map.entry("pekko_projection_offset_store", "projection_name, projection_key, current_offset"),
          Map.entry("factories", "name, platforms, branch_tags, created_at"),
          Map.entry("factory_tokens", "factory, token_id, description, scopes, created_at, revoked_at"),
          Map.entry("app_versions", "factory, app, digest, uri, source_commit, build_number, published_at"),
          Map.entry("targets", "factory, name, hardware_id, version, tags, apps, containers_sha, created_at"),
          Map.entry("builds", "factory, number, status, commit_sha, branch, tag, requested_by, reason, created_at, finished_at"),
          Map.entry("device_status", "uuid, factory, name, tag, device_group, hardware_id, production, target_name, apps, last_seen, update_correlation_id, update_state, created_at, decommissioned_at"),
          Map.entry("device_updates", "uuid, correlation_id, factory, target_name, version, state, failed_step, events, started_at, updated_at"),
          Map.entry("device_system_info", "uuid, kind, content, reported_at"),
          Map.entry("projection_skips", "projection_name, projection_key, persistence_id, sequence_nr, skipped_at"));

  /**
   * Columns made wider after release, so that they hold what {@link io.flotilla.core.Limits} allows: {table, column,
   * length}. A database made before gets them altered once (widening a VARCHAR keeps every row as it is).
   */
  private static final List<Widened> WIDENED =
      List.of(new Widened("factories", "branch_tags", 30000), new Widened("targets", "apps", 40000));

  private record Widened(String table, String column, int length) {}

  private SchemaMigration() {}

  public static final class SchemaException extends RuntimeException {
    SchemaException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  public static void migrate(Database database) {
    List<String> statements = statements(database.dialect());
    try {
      database.withConnection(
          connection -> {
            for (String sql : statements) {
              try (Statement statement = connection.createStatement()) {
                statement.execute(sql);
              } catch (SQLException e) {
                throw new SchemaException(
                    "schema statement failed (" + e.getMessage() + "): " + firstLine(sql), e);
              }
            }
            widen(connection, database.dialect());
            verify(connection, database.dialect());
            return null;
          });
    } catch (SQLException e) {
      throw new SchemaException("cannot reach the database to create the schema: " + e.getMessage(), e);
    }
  }

  private static void widen(Connection connection, String dialect) throws SQLException {
    for (Widened widened : WIDENED) {
      Long length = null;
      try (var select =
          connection.prepareStatement(
              "SELECT CHARACTER_MAXIMUM_LENGTH FROM INFORMATION_SCHEMA.COLUMNS WHERE LOWER(TABLE_NAME) = ? AND LOWER(COLUMN_NAME) = ?")) {
        select.setString(1, widened.table());
        select.setString(2, widened.column());
        try (var rows = select.executeQuery()) {
          if (rows.next()) {
            long found = rows.getLong(1);
            length = rows.wasNull() ? null : found;
          }
        }
      }
      if (length == null || length >= widened.length()) {
        continue;
      }
      String type = "VARCHAR(" + widened.length() + ")";
      String sql =
          dialect.equals("h2")
              ? "ALTER TABLE " + widened.table() + " ALTER COLUMN " + widened.column() + " SET DATA TYPE " + type
              : "ALTER TABLE " + widened.table() + " ALTER COLUMN " + widened.column() + " TYPE " + type;
      try (Statement statement = connection.createStatement()) {
        statement.execute(sql);
      } catch (SQLException e) {
        throw new SchemaException("schema statement failed (" + e.getMessage() + "): " + sql, e);
      }
    }
  }

  private static void verify(Connection connection, String dialect) {
    REQUIRED_COLUMNS.forEach(
        (table, columns) -> {
          String sql = "SELECT " + quoted(columns, table, dialect) + " FROM " + quote(table, dialect) + " WHERE 1 = 0";
          try (Statement statement = connection.createStatement()) {
            statement.executeQuery(sql).close();
          } catch (SQLException e) {
            throw new SchemaException(
                "table " + table + " is missing or lacks columns (" + columns + "): " + e.getMessage(), e);
          }
        });
  }

  /** The plugin tables are quoted lower case on H2; our own read-side tables are not quoted anywhere. */
  private static boolean pluginTable(String table) {
    return table.equals("event_journal")
        || table.equals("event_tag")
        || table.equals("snapshot")
        || table.startsWith("pekko_projection");
  }

  private static String quote(String table, String dialect) {
    return dialect.equals("h2") && pluginTable(table) ? "\"" + table + "\"" : table;
  }

  private static String quoted(String columns, String table, String dialect) {
    if (!(dialect.equals("h2") && pluginTable(table))) {
      return columns;
    }
    List<String> out = new ArrayList<>();
    for (String column : columns.split(",\\s*")) {
      out.add("\"" + column + "\"");
    }
    return String.join(", ", out);
  }

  static List<String> statements(String dialect) {
    String resource = "schema/" + dialect + ".sql";
    try (InputStream in = SchemaMigration.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new SchemaException("no schema for database dialect '" + dialect + "' (expected " + resource + ")", null);
      }
      return split(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new SchemaException("cannot read " + resource + ": " + e.getMessage(), e);
    }
  }

  /** Splits on semicolons that end a line; the schema files keep one statement per such block. */
  static List<String> split(String script) {
    List<String> statements = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : script.split("\n")) {
      String trimmed = line.strip();
      if (trimmed.startsWith("--") || trimmed.isEmpty()) {
        continue;
      }
      current.append(line).append('\n');
      if (trimmed.endsWith(";")) {
        String statement = current.toString().strip();
        statements.add(statement.substring(0, statement.length() - 1));
        current.setLength(0);
      }
    }
    if (!current.toString().isBlank()) {
      statements.add(current.toString().strip());
    }
    return statements;
  }

  private static String firstLine(String sql) {
    int newline = sql.indexOf('\n');
    return newline < 0 ? sql : sql.substring(0, newline);
  }
}
