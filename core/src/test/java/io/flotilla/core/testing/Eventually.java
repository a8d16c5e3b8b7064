package io.flotilla.core.testing;

import java.time.Duration;
import java.util.concurrent.Callable;

/** Bounded polling for what happens asynchronously (projections, cluster membership). */
public final class Eventually {

  private Eventually() {}

  /**
   * Re-runs {@code check} until it returns without throwing, or rethrows its last failure after
   * {@code within}.
   */
  public static <T> T eventually(Duration within, Callable<T> check) throws Exception {
    long deadline = System.nanoTime() + within.toNanos();
    while (true) {
      try {
        return check.call();
      } catch (Exception | AssertionError e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(100);
      }
    }
  }
}
