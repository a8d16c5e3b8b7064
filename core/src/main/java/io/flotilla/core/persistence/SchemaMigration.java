package io.flotilla.core.persistence;

import java.sql.SQLException;
import java.util.List;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.internal.exception.FlywayMigrateException;
import org.flywaydb.core.internal.sqlscript.FlywaySqlScriptException;

/**
 * Brings the database to the schema of this build with Flyway's versioned migrations. Each module
 * ships the migrations of its own tables under {@code db/migration/<module>/<dialect>/}; the node's
 * composition root names the modules it runs. Versions are {@code V<step>_<module slot>} (core 1,
 * builder 2): two modules never write the same version, and a step orders migrations across modules
 * (docs/architecture.md, "Schema").
 *
 * <p>A database made before Flyway holds the tables but no history: it is baselined at version 0
 * and then runs every migration, which the first ones allow by being idempotent. Every failure
 * stops the node with one line that names the migration and the statement.
 */
public final class SchemaMigration {

  /**
   * Core's tables: the journal and snapshots of pekko-persistence-jdbc, projection offsets and
   * core's read side.
   */
  public static final String CORE = "core";

  private SchemaMigration() {}

  public static final class SchemaException extends RuntimeException {
    SchemaException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** Applies the pending migrations of {@code modules}, in version order across them. */
  public static void migrate(Database database, List<String> modules) {
    Flyway flyway =
        Flyway.configure(SchemaMigration.class.getClassLoader())
            .dataSource(database.dataSource())
            .locations(
                modules.stream()
                    .map(module -> location(module, database.dialect()))
                    .toArray(String[]::new))
            .failOnMissingLocations(true)
            .baselineOnMigrate(true)
            .baselineVersion("0")
            .baselineDescription("schema made before Flyway")
            .placeholderReplacement(false)
            .load();
    try {
      flyway.migrate();
    } catch (FlywayException e) {
      throw new SchemaException(oneLine(e), e);
    }
  }

  static String location(String module, String dialect) {
    return "classpath:db/migration/" + module + "/" + dialect;
  }

  /**
   * Flyway's own message is a block of a dozen lines; the node prints one, with what an operator
   * needs to find the cause: the migration, the line and statement that failed, and the database's
   * words.
   */
  static String oneLine(FlywayException e) {
    FlywayMigrateException failed = find(e, FlywayMigrateException.class);
    FlywaySqlScriptException script = find(e, FlywaySqlScriptException.class);
    SQLException sql = find(e, SQLException.class);
    if (failed == null || failed.getMigration() == null) {
      // validation and connection failures: Flyway's lines together say what is wrong and what to
      // do
      return "schema migration failed: "
          + (sql != null ? firstLine(sql.getMessage()) : joined(e.getMessage()));
    }
    // H2 ends its first line with "SQL statement:" and puts the statement on the next; it is named
    // below anyway
    String cause =
        firstLine(sql != null ? sql.getMessage() : e.getMessage())
            .replaceFirst(";? ?SQL statement:$", "");
    MigrationInfo migration = failed.getMigration();
    StringBuilder line =
        new StringBuilder("schema migration ").append(migration.getScript()).append(" failed");
    if (script != null) {
      line.append(" at line ")
          .append(script.getLineNumber())
          .append(" (")
          .append(cause)
          .append("): ")
          .append(firstLine(script.getStatement()));
    } else {
      line.append(" (").append(cause).append(")");
    }
    return line.toString();
  }

  private static <T extends Throwable> T find(Throwable e, Class<T> type) {
    for (Throwable cause = e;
        cause != null;
        cause = cause.getCause() == cause ? null : cause.getCause()) {
      if (type.isInstance(cause)) {
        return type.cast(cause);
      }
    }
    return null;
  }

  private static String joined(String text) {
    return text == null ? "" : String.join(" ", text.strip().split("\\s*\n\\s*"));
  }

  private static String firstLine(String text) {
    if (text == null) {
      return "";
    }
    String stripped = text.strip();
    int newline = stripped.indexOf('\n');
    return newline < 0 ? stripped : stripped.substring(0, newline).strip();
  }
}
