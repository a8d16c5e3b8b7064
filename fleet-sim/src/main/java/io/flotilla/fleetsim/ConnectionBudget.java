package io.flotilla.fleetsim;

import com.sun.management.UnixOperatingSystemMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayDeque;

/**
 * How many connections the simulator holds open at once. Real devices each have their own process;
 * one simulator process holding thousands of WebSockets runs out of file descriptors when a push
 * wakes them all and each opens a second connection to fetch. Past its limit, {@code socket()}
 * fails, which would be counted against the server. Opens beyond the budget wait, in order, for a
 * connection to close; how many waited is reported.
 */
final class ConnectionBudget {

  /**
   * Descriptors left for what is not a device connection: jars, logs, selectors, the registry
   * client.
   */
  static final int RESERVE = 256;

  private final int limit;
  private final ArrayDeque<Runnable> waiting = new ArrayDeque<>();
  private int open;
  private long waited;

  ConnectionBudget(int limit) {
    if (limit < 1) {
      throw new IllegalArgumentException(
          "a connection budget needs at least one connection, not " + limit);
    }
    this.limit = limit;
  }

  /**
   * This process's descriptor limit, less those open now and the reserve; unbounded where the JVM
   * cannot tell.
   */
  static ConnectionBudget forThisProcess() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean os) {
      long free = os.getMaxFileDescriptorCount() - os.getOpenFileDescriptorCount() - RESERVE;
      return new ConnectionBudget((int) Math.max(1, Math.min(Integer.MAX_VALUE, free)));
    }
    return new ConnectionBudget(Integer.MAX_VALUE);
  }

  /** Runs {@code start} now if the budget allows another connection, else once one is released. */
  void acquire(Runnable start) {
    synchronized (this) {
      if (open >= limit) {
        waiting.add(start);
        waited++;
        return;
      }
      open++;
    }
    start.run();
  }

  /** A connection closed: its place goes to the longest-waiting open, if any. */
  void release() {
    Runnable next;
    synchronized (this) {
      next = waiting.poll();
      if (next == null) {
        open--;
      }
    }
    if (next != null) {
      next.run();
    }
  }

  int limit() {
    return limit;
  }

  synchronized int open() {
    return open;
  }

  synchronized long waited() {
    return waited;
  }
}
