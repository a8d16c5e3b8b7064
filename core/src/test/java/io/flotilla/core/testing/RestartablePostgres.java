package io.flotilla.core.testing;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Path;

/**
 * An embedded PostgreSQL of a test's own that can be stopped and started again on the same port and
 * data, for database-outage tests (the shared one of {@link TestDatabases} must stay up for every
 * other test).
 */
public final class RestartablePostgres implements AutoCloseable {

  private final Path dataDir;
  private final int port;
  private EmbeddedPostgres running;

  private RestartablePostgres(Path dataDir, int port) {
    this.dataDir = dataDir;
    this.port = port;
  }

  /** Initializes a data directory under {@code dataDir} and starts the server on a free port. */
  public static RestartablePostgres start(Path dataDir) {
    RestartablePostgres postgres = new RestartablePostgres(dataDir, freePort());
    postgres.start();
    return postgres;
  }

  public synchronized void start() {
    if (running != null) {
      return;
    }
    try {
      running =
          EmbeddedPostgres.builder()
              .setDataDirectory(dataDir)
              .setCleanDataDirectory(false)
              .setPort(port)
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start PostgreSQL on port " + port, e);
    }
  }

  /** A fast shutdown: open connections are cut, as when an operator stops the server. */
  public synchronized void stop() {
    if (running == null) {
      return;
    }
    try {
      running.close();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot stop PostgreSQL on port " + port, e);
    } finally {
      running = null;
    }
  }

  public String url() {
    return "jdbc:postgresql://localhost:" + port + "/postgres";
  }

  @Override
  public void close() {
    stop();
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
