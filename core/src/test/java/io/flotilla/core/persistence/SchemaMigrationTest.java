package io.flotilla.core.persistence;

import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.flotilla.core.testing.TestDatabases;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

abstract class SchemaMigrationTest {

  private static final List<String> CORE = List.of(SchemaMigration.CORE);

  abstract TestDatabases.Kind kind();

  private Config config() {
    return TestDatabases.fresh(kind())
        .withFallback(ConfigFactory.parseMap(Map.of("flotilla.data-dir", "/tmp")))
        .withFallback(ConfigFactory.parseResources("flotilla-library.conf"))
        .withFallback(ConfigFactory.defaultReferenceUnresolved())
        .resolve();
  }

  @Test
  void aNewDatabaseGetsEveryMigrationOnceAndNoBaseline() throws Exception {
    try (Database database = Database.open(config())) {
      SchemaMigration.migrate(database, CORE);
      SchemaMigration.migrate(database, CORE);
      assertEquals(
          List.of("1.1 core tables true", "2.1 labels and rollouts true", "3.1 webhooks true"),
          history(database));
      assertEquals(
          0,
          ((com.zaxxer.hikari.HikariDataSource) database.dataSource())
              .getHikariPoolMXBean()
              .getActiveConnections(),
          "connections Flyway kept");
    }
  }

  @Test
  void aBrokenTableStopsTheMigrationWithOneLineNamingTheMigrationAndStatement() throws Exception {
    try (Database database = Database.open(config())) {
      execute(database, "CREATE TABLE targets (factory VARCHAR(63), something_else INT)");
      SchemaMigration.SchemaException failure =
          assertThrows(
              SchemaMigration.SchemaException.class, () -> SchemaMigration.migrate(database, CORE));
      String message = failure.getMessage();
      assertFalse(message.contains("\n"), message);
      assertTrue(
          message.startsWith("schema migration V1_1__core_tables.sql failed at line "), message);
      assertTrue(
          message.contains(
              "CREATE INDEX IF NOT EXISTS targets_by_version ON targets (factory, version)"),
          message);

      // PostgreSQL rolled the migration back and runs it again; H2 committed its DDL and Flyway
      // marked it failed
      String again =
          assertThrows(
                  SchemaMigration.SchemaException.class,
                  () -> SchemaMigration.migrate(database, CORE))
              .getMessage();
      assertFalse(again.contains("\n"), again);
      assertTrue(
          again.contains(
              kind() == TestDatabases.Kind.H2
                  ? "Detected failed migration to version 1.1"
                  : "V1_1__core_tables.sql failed at line"),
          again);
    }
  }

  @Test
  void aColumnOfAnOlderSchemaIsWidenedToHoldTheLimits() throws Exception {
    try (Database database = Database.open(config())) {
      execute(
          database,
          "CREATE TABLE factories (name VARCHAR(63) PRIMARY KEY, platforms VARCHAR(4000) NOT NULL, branch_tags VARCHAR(4000) NOT NULL, created_at TIMESTAMP WITH TIME ZONE NOT NULL)",
          "INSERT INTO factories VALUES ('acme', 'amd64-linux', '{}', CURRENT_TIMESTAMP)");
      SchemaMigration.migrate(database, CORE);
      SchemaMigration.migrate(database, CORE);
      database.withConnection(
          connection -> {
            try (Statement statement = connection.createStatement()) {
              statement.execute(
                  "UPDATE factories SET branch_tags = '"
                      + "x".repeat(29000)
                      + "' WHERE name = 'acme'");
              var rows =
                  statement.executeQuery(
                      "SELECT LENGTH(branch_tags) FROM factories WHERE name = 'acme'");
              assertTrue(rows.next());
              assertEquals(29000, rows.getInt(1));
              assertThrows(
                  java.sql.SQLException.class,
                  () -> statement.execute("UPDATE factories SET branch_tags = NULL"));
            }
            return null;
          });
      assertEquals(
          List.of(
              "0 schema made before Flyway true",
              "1.1 core tables true",
              "2.1 labels and rollouts true",
              "3.1 webhooks true"),
          history(database));
    }
  }

  @Test
  void aModuleWithoutMigrationsForTheDialectIsRefusedByName() {
    try (Database database = Database.open(config())) {
      SchemaMigration.SchemaException failure =
          assertThrows(
              SchemaMigration.SchemaException.class,
              () ->
                  SchemaMigration.migrate(database, List.of(SchemaMigration.CORE, "nosuchmodule")));
      assertFalse(failure.getMessage().contains("\n"), failure.getMessage());
      assertTrue(
          failure.getMessage().contains("db/migration/nosuchmodule/" + database.dialect()),
          failure.getMessage());
    }
  }

  @Test
  void anUnreachableDatabaseFailsFast() {
    Config unreachable =
        ConfigFactory.parseMap(
                Map.of(
                    "flotilla.db.url",
                    kind() == TestDatabases.Kind.H2
                        ? "jdbc:h2:/proc/no/such/dir/db"
                        : "jdbc:postgresql://127.0.0.1:1/none"))
            .withFallback(config());
    RuntimeException failure =
        assertThrows(
            RuntimeException.class,
            () -> Database.open(unreachable, Duration.ofSeconds(1)).close());
    assertNotNull(failure.getMessage());
  }

  private static void execute(Database database, String... statements) throws Exception {
    database.withConnection(
        connection -> {
          try (Statement statement = connection.createStatement()) {
            for (String sql : statements) {
              statement.execute(sql);
            }
          }
          return null;
        });
  }

  /**
   * Flyway's history of migrations as "version description success", in the order applied; on H2
   * Flyway also notes that it created its table, a row without a version, left out.
   */
  static List<String> history(Database database) throws Exception {
    return database.withConnection(
        connection -> {
          List<String> rows = new ArrayList<>();
          try (Statement statement = connection.createStatement();
              var result =
                  statement.executeQuery(
                      "SELECT \"version\", \"description\", \"success\" FROM \"flyway_schema_history\" WHERE \"version\" IS NOT NULL ORDER BY \"installed_rank\"")) {
            while (result.next()) {
              rows.add(
                  result.getString(1) + " " + result.getString(2) + " " + result.getBoolean(3));
            }
          }
          return rows;
        });
  }
}

class SchemaMigrationOnH2Test extends SchemaMigrationTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.H2;
  }
}

class SchemaMigrationOnPostgresTest extends SchemaMigrationTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.POSTGRES;
  }
}
