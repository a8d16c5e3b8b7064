package io.flotilla.core.persistence;

import com.typesafe.config.Config;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import javax.sql.DataSource;

/**
 * The connection pool for everything that is not the journal: schema migration, projections and
 * read-side queries. The journal plugin keeps its own Slick pool configured from the same {@code
 * flotilla.db} settings.
 */
public final class Database implements AutoCloseable {

  private final HikariDataSource dataSource;
  private final String dialect;

  private Database(HikariDataSource dataSource, String dialect) {
    this.dataSource = dataSource;
    this.dialect = dialect;
  }

  public static Database open(Config config) {
    return open(config, java.time.Duration.ofSeconds(10));
  }

  /**
   * @param failAfter how long to keep trying to reach the database before giving up with its error
   */
  public static Database open(Config config, java.time.Duration failAfter) {
    Config db = config.getConfig("flotilla.db");
    HikariConfig hikari = new HikariConfig();
    hikari.setJdbcUrl(db.getString("url"));
    hikari.setUsername(db.getString("user"));
    hikari.setPassword(db.getString("password"));
    hikari.setDriverClassName(db.getString("driver"));
    hikari.setMaximumPoolSize(db.getInt("max-connections"));
    hikari.setMinimumIdle(1);
    hikari.setAutoCommit(true);
    hikari.setPoolName("flotilla-read-side");
    // Fail fast when the database is not there: a node that cannot reach it must not half-start.
    hikari.setInitializationFailTimeout(failAfter.toMillis());
    // A request waits for a connection no longer than the journal's pool does (3 s, core's
    // flotilla-library.conf), within the ask timeout: with the startup's 10 s here, a read that
    // began just before the database went away answered its 503 only after 10 s (ClusterChaosTest).
    hikari.setConnectionTimeout(Math.max(250, Math.min(failAfter.toMillis(), 3_000)));
    Database database = new Database(new HikariDataSource(hikari), db.getString("dialect"));
    if (database.dialect.equals("h2")) {
      database.setWriteDelay(
          db.hasPath("h2-write-delay") ? db.getDuration("h2-write-delay").toMillis() : 0);
    }
    return database;
  }

  /**
   * H2 writes a committed transaction to its file only up to WRITE_DELAY (500 ms by default) later,
   * from a background thread: a process killed in that window loses commits that were already
   * acknowledged. At 0 each commit is written before it returns. The setting belongs to the
   * database (every connection of this process shares it), so it is made here, on the first
   * connection, whatever the configured URL says. H2 still does not fsync a commit: see
   * docs/durability.md.
   */
  private void setWriteDelay(long millis) {
    try (Connection connection = dataSource.getConnection();
        Statement statement = connection.createStatement()) {
      statement.execute("SET WRITE_DELAY " + millis);
    } catch (SQLException e) {
      dataSource.close();
      throw new DatabaseException(e);
    }
  }

  public DataSource dataSource() {
    return dataSource;
  }

  /** {@code h2} or {@code postgres}. */
  public String dialect() {
    return dialect;
  }

  public interface ConnectionFunction<T> {
    T apply(Connection connection) throws SQLException;
  }

  public <T> T withConnection(ConnectionFunction<T> work) throws SQLException {
    try (Connection connection = dataSource.getConnection()) {
      return work.apply(connection);
    }
  }

  /** Runs a query on the given (blocking) executor, never on the caller's thread. */
  public <T> CompletionStage<T> query(Executor blockingExecutor, ConnectionFunction<T> work) {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            return withConnection(work);
          } catch (SQLException e) {
            throw new DatabaseException(e);
          }
        },
        blockingExecutor);
  }

  @Override
  public void close() {
    dataSource.close();
  }

  public static final class DatabaseException extends RuntimeException {
    public DatabaseException(SQLException cause) {
      super(cause.getMessage(), cause);
    }
  }
}
