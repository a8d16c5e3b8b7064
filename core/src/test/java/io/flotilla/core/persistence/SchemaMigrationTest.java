package io.flotilla.core.persistence;

import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.flotilla.core.testing.TestDatabases;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

abstract class SchemaMigrationTest {

  abstract TestDatabases.Kind kind();

  private Config config() {
    return TestDatabases.fresh(kind()).withFallback(ConfigFactory.parseResources("application.conf")).withFallback(ConfigFactory.parseMap(Map.of("flotilla.data-dir", "/tmp"))).resolve();
  }

  @Test
  void migrationIsIdempotent() {
    try (Database database = Database.open(config())) {
      SchemaMigration.migrate(database);
      SchemaMigration.migrate(database);
    }
  }

  @Test
  void aBrokenTableStopsTheMigrationWithItsName() throws Exception {
    try (Database database = Database.open(config())) {
      database.withConnection(
          connection -> {
            try (Statement statement = connection.createStatement()) {
              statement.execute("CREATE TABLE targets (factory VARCHAR(63), something_else INT)");
            }
            return null;
          });
      SchemaMigration.SchemaException failure = assertThrows(SchemaMigration.SchemaException.class, () -> SchemaMigration.migrate(database));
      assertTrue(failure.getMessage().contains("targets"), failure.getMessage());
    }
  }

  @Test
  void aColumnOfAnOlderSchemaIsWidenedToHoldTheLimits() throws Exception {
    try (Database database = Database.open(config())) {
      database.withConnection(
          connection -> {
            try (Statement statement = connection.createStatement()) {
              statement.execute(
                  "CREATE TABLE factories (name VARCHAR(63) PRIMARY KEY, platforms VARCHAR(4000) NOT NULL, branch_tags VARCHAR(4000) NOT NULL, created_at TIMESTAMP WITH TIME ZONE NOT NULL)");
              statement.execute("INSERT INTO factories VALUES ('acme', 'amd64-linux', '{}', CURRENT_TIMESTAMP)");
            }
            return null;
          });
      SchemaMigration.migrate(database);
      SchemaMigration.migrate(database);
      database.withConnection(
          connection -> {
            try (Statement statement = connection.createStatement()) {
              statement.execute("UPDATE factories SET branch_tags = '" + "x".repeat(29000) + "' WHERE name = 'acme'");
              var rows = statement.executeQuery("SELECT LENGTH(branch_tags) FROM factories WHERE name = 'acme'");
              assertTrue(rows.next());
              assertEquals(29000, rows.getInt(1));
              assertThrows(java.sql.SQLException.class, () -> statement.execute("UPDATE factories SET branch_tags = NULL"));
            }
            return null;
          });
    }
  }

  @Test
  void anUnreachableDatabaseFailsFast() {
    Config unreachable =
        ConfigFactory.parseMap(Map.of("flotilla.db.url", kind() == TestDatabases.Kind.H2 ? "jdbc:h2:/proc/no/such/dir/db" : "jdbc:postgresql://127.0.0.1:1/none"))
            .withFallback(config());
    RuntimeException failure = assertThrows(RuntimeException.class, () -> Database.open(unreachable, Duration.ofSeconds(1)).close());
    assertNotNull(failure.getMessage());
  }

  @Test
  void statementsSplitOnLineEndingSemicolons() {
    assertEquals(List.of("CREATE TABLE a (x INT)", "CREATE INDEX i ON a (x)"), SchemaMigration.split("-- c\nCREATE TABLE a (x INT);\n\nCREATE INDEX i ON a (x);\n"));
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
