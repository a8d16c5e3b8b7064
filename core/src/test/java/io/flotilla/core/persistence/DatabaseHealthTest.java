package io.flotilla.core.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class DatabaseHealthTest {

  /** As a pool does: the probe's close hands the connection back, open, to the next user. */
  private static Connection pooled(Connection connection) {
    return (Connection)
        Proxy.newProxyInstance(
            Connection.class.getClassLoader(),
            new Class<?>[] {Connection.class},
            (proxy, method, args) ->
                method.getName().equals("close") ? null : method.invoke(connection, args));
  }

  @Test
  void aProbeLeavesNoQueryTimeoutOnTheConnectionTheJournalUsesNext() throws Exception {
    try (Connection connection =
        DriverManager.getConnection("jdbc:h2:mem:health-" + System.nanoTime())) {
      DatabaseHealth health = new DatabaseHealth(() -> pooled(connection), Duration.ofSeconds(1));
      health.probe();
      assertTrue(health.available());
      try (Statement next = connection.createStatement()) {
        assertEquals(0, next.getQueryTimeout(), "H2 keeps a query timeout on the session");
      }
    }
  }

  @Test
  void aFailingProbeMakesTheDatabaseUnavailableAndTheNextGoodOneAvailableAgain() throws Exception {
    try (Connection connection =
        DriverManager.getConnection("jdbc:h2:mem:health-" + System.nanoTime())) {
      boolean[] failing = {true};
      DatabaseHealth health =
          new DatabaseHealth(
              () -> {
                if (failing[0]) {
                  throw new SQLException("connection refused");
                }
                return pooled(connection);
              },
              Duration.ofSeconds(1));
      health.probe();
      assertFalse(health.available());
      assertEquals("connection refused", health.status().problem());
      failing[0] = false;
      health.probe();
      assertTrue(health.available());
    }
  }
}
