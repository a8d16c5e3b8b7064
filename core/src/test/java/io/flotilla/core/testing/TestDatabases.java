package io.flotilla.core.testing;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Fresh, empty databases for persistence tests: an in-memory H2 database, or a new database on a
 * real PostgreSQL server — the one named by {@code FLOTILLA_TEST_PG_URL} (with {@code
 * FLOTILLA_TEST_PG_USER} and {@code FLOTILLA_TEST_PG_PASSWORD}), else an embedded PostgreSQL
 * started once per test JVM and stopped when it exits.
 */
public final class TestDatabases {

  public enum Kind {
    H2,
    POSTGRES
  }

  private static EmbeddedPostgres embedded;

  private TestDatabases() {}

  /** Settings that point {@code flotilla.db} at a new empty database of the given kind. */
  public static Config fresh(Kind kind) {
    String name = "flotilla_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    Map<String, Object> db = new HashMap<>();
    if (kind == Kind.H2) {
      db.put("flotilla.db.dialect", "h2");
      db.put("flotilla.db.url", "jdbc:h2:mem:" + name + ";DB_CLOSE_DELAY=-1");
      db.put("flotilla.db.user", "flotilla");
      db.put("flotilla.db.password", "");
      db.put("flotilla.db.driver", "org.h2.Driver");
      db.put("pekko-persistence-jdbc.shared-databases.slick.profile", "slick.jdbc.H2Profile$");
      db.put("pekko.projection.jdbc.dialect", "h2-dialect");
    } else {
      return freshOn(postgres(), name);
    }
    db.put("flotilla.db.max-connections", 4);
    return ConfigFactory.parseMap(db);
  }

  /**
   * A new empty database on the PostgreSQL server at {@code serverUrl} (any database name in it).
   */
  public static Config freshOnPostgres(String serverUrl, String user, String password) {
    return freshOn(
        new Server(serverUrl, user, password),
        "flotilla_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12));
  }

  private static Config freshOn(Server server, String name) {
    try (Connection admin =
            DriverManager.getConnection(server.url(), server.user(), server.password());
        Statement statement = admin.createStatement()) {
      statement.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      throw new IllegalStateException(
          "cannot create a test database on " + server.url() + ": " + e.getMessage(), e);
    }
    Map<String, Object> db = new HashMap<>();
    db.put("flotilla.db.dialect", "postgres");
    db.put("flotilla.db.url", withDatabase(server.url(), name));
    db.put("flotilla.db.user", server.user());
    db.put("flotilla.db.password", server.password());
    db.put("flotilla.db.driver", "org.postgresql.Driver");
    db.put("pekko-persistence-jdbc.shared-databases.slick.profile", "slick.jdbc.PostgresProfile$");
    db.put("pekko.projection.jdbc.dialect", "postgres-dialect");
    db.put("flotilla.db.max-connections", 4);
    return ConfigFactory.parseMap(db);
  }

  private record Server(String url, String user, String password) {}

  private static synchronized Server postgres() {
    String external = System.getenv("FLOTILLA_TEST_PG_URL");
    if (external != null && !external.isBlank()) {
      return new Server(
          external,
          System.getenv().getOrDefault("FLOTILLA_TEST_PG_USER", "postgres"),
          System.getenv().getOrDefault("FLOTILLA_TEST_PG_PASSWORD", ""));
    }
    if (embedded == null) {
      try {
        embedded = EmbeddedPostgres.builder().start();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot start the embedded PostgreSQL", e);
      }
      EmbeddedPostgres started = embedded;
      Runtime.getRuntime().addShutdownHook(new Thread(() -> close(started)));
    }
    return new Server(embedded.getJdbcUrl("postgres", "postgres"), "postgres", "postgres");
  }

  private static void close(EmbeddedPostgres postgres) {
    try {
      postgres.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Replaces the database name of a {@code jdbc:postgresql://host:port/db?params} URL. */
  static String withDatabase(String url, String database) {
    int query = url.indexOf('?');
    String base = query < 0 ? url : url.substring(0, query);
    String params = query < 0 ? "" : url.substring(query);
    int slash = base.lastIndexOf('/');
    return base.substring(0, slash + 1) + database + params;
  }
}
