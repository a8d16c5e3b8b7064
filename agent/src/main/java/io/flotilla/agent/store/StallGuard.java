package io.flotilla.agent.store;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Closes a download stream that delivered nothing for a while. The JDK's HttpClient has no read
 * timeout for a body being streamed, so a server that stops sending mid-blob would otherwise hang
 * the fetch forever; closing the stream makes the blocked read fail, and the partial blob is
 * resumed on the next attempt.
 */
final class StallGuard extends FilterInputStream {

  private static final ScheduledExecutorService WATCHDOG =
      Executors.newSingleThreadScheduledExecutor(
          runnable -> {
            Thread thread = new Thread(runnable, "download-stall-guard");
            thread.setDaemon(true);
            return thread;
          });

  private final long limitNanos;
  private final ScheduledFuture<?> check;
  private volatile long lastProgress = System.nanoTime();
  private volatile boolean stalled;

  StallGuard(InputStream in, Duration limit) {
    super(in);
    this.limitNanos = limit.toNanos();
    long period = Math.max(100, limit.toMillis() / 4);
    this.check =
        WATCHDOG.scheduleAtFixedRate(this::closeIfStalled, period, period, TimeUnit.MILLISECONDS);
  }

  private void closeIfStalled() {
    if (System.nanoTime() - lastProgress > limitNanos) {
      stalled = true;
      check.cancel(false);
      try {
        in.close();
      } catch (IOException ignored) {
        // the reader fails either way
      }
    }
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] buffer, int offset, int length) throws IOException {
    try {
      int n = in.read(buffer, offset, length);
      lastProgress = System.nanoTime();
      if (stalled) {
        throw new IOException("download stalled: no data for " + limitNanos / 1_000_000_000 + " s");
      }
      return n;
    } catch (IOException e) {
      if (stalled) {
        throw new IOException(
            "download stalled: no data for " + limitNanos / 1_000_000_000 + " s", e);
      }
      throw e;
    }
  }

  @Override
  public void close() throws IOException {
    check.cancel(false);
    super.close();
  }
}
