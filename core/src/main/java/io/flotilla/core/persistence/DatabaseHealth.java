package io.flotilla.core.persistence;

import com.typesafe.config.Config;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLTransientConnectionException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.pattern.CircuitBreakerOpenException;
import org.apache.pekko.persistence.jdbc.db.SlickExtension;
import org.apache.pekko.persistence.jdbc.db.SlickExtensionImpl;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.concurrent.ExecutionContextExecutor;

/**
 * Whether the journal's database answers, probed with {@code SELECT 1} through the journal's own
 * connection pool every {@code flotilla.db.health.interval}. The HTTP layer answers 503 at once
 * while it is down (instead of letting each request wait out the ask timeout behind an entity that
 * stopped on the journal failure), readiness reports it, and the log gets one line when it goes
 * down and one when it comes back.
 *
 * <p>The probe runs on its own one-thread dispatcher: while the database is away a probe waits up
 * to the pool's connection timeout, and neither the read side's queries nor the probe should wait
 * behind each other.
 */
public final class DatabaseHealth {

  private static final Logger log = LoggerFactory.getLogger(DatabaseHealth.class);

  /** {@code problem} is null while available; {@code since} is when the current state began. */
  public record Status(boolean available, Instant since, String problem) {}

  /** Where the probe gets its connection. */
  public interface ConnectionSource {
    Connection open() throws SQLException;
  }

  private final ConnectionSource source;
  private final int queryTimeoutSeconds;
  private volatile Status status = new Status(true, Instant.now(), null);
  private volatile Cancellable schedule;

  DatabaseHealth(ConnectionSource source, Duration queryTimeout) {
    this.source = source;
    this.queryTimeoutSeconds = (int) Math.max(1, queryTimeout.toSeconds());
  }

  /**
   * Starts probing the journal's pool (the node's schema migration has just reached the same
   * database).
   */
  public static DatabaseHealth start(ActorSystem<?> system) {
    Config config = system.settings().config();
    SlickExtensionImpl slick = (SlickExtensionImpl) SlickExtension.get(system.classicSystem());
    var journalDatabase = slick.database(config.getConfig("jdbc-journal")).database();
    Duration interval = config.getDuration("flotilla.db.health.interval");
    DatabaseHealth health =
        new DatabaseHealth(
            () -> journalDatabase.source().createConnection(),
            config.getDuration("flotilla.db.health.query-timeout"));
    ExecutionContextExecutor probes =
        system.dispatchers().lookup(DispatcherSelector.fromConfig("flotilla-db-health-dispatcher"));
    health.schedule =
        system.scheduler().scheduleWithFixedDelay(interval, interval, health::probe, probes);
    return health;
  }

  public boolean available() {
    return status.available();
  }

  public Status status() {
    return status;
  }

  void probe() {
    try (Connection connection = source.open()) {
      selectOne(connection);
      up();
    } catch (SQLException | RuntimeException e) {
      down(e);
    }
  }

  /**
   * H2 keeps a statement's query timeout on its session: left there, it would cancel every journal
   * query on this pooled connection that takes longer than a probe may (a long journal read under
   * load broke off so). The timeout goes back before the connection does.
   */
  private void selectOne(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      int before = statement.getQueryTimeout();
      statement.setQueryTimeout(queryTimeoutSeconds);
      try {
        statement.execute("SELECT 1");
      } finally {
        statement.setQueryTimeout(before);
      }
    }
  }

  private void up() {
    Status was = status;
    if (!was.available()) {
      Instant now = Instant.now();
      status = new Status(true, now, null);
      log.info(
          "The database is available again (it was unavailable for {} s)",
          Duration.between(was.since(), now).toSeconds());
    }
  }

  private void down(Exception e) {
    if (status.available()) {
      String problem = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
      status = new Status(false, Instant.now(), problem);
      log.warn(
          "The database is unavailable: {}; API requests are answered 503 until it answers again",
          problem);
    }
  }

  /**
   * Whether a failure means the database could not be reached or dropped the connection (SQL states
   * of class 08, connection exceptions, an administrator shutdown, a journal breaker that is open),
   * as opposed to refusing a statement.
   */
  public static boolean isConnectionFailure(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof SQLTransientConnectionException
          || t instanceof SQLNonTransientConnectionException
          || t instanceof CircuitBreakerOpenException
          || (t instanceof SQLException sql
              && sql.getSQLState() != null
              && (sql.getSQLState().startsWith("08") || sql.getSQLState().startsWith("57P")))) {
        return true;
      }
    }
    return false;
  }

  public void stop() {
    Cancellable running = schedule;
    if (running != null) {
      running.cancel();
    }
  }
}
