package io.flotilla.fleetsim;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * One selector thread driving many simulated connections. The TLS scratch buffers belong to the
 * loop, not to a connection: a connection only keeps bytes that a partial read or write left over,
 * so an idle device costs a few hundred bytes instead of three 16 KiB buffers.
 */
final class IoLoop implements AutoCloseable {

  private static final long DEADLINE_SCAN_NANOS = 200_000_000L;

  private final Selector selector;
  private final Thread thread;
  private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();

  /**
   * Touched only on the loop's thread; the two lists take turns so that a loop iteration allocates
   * nothing.
   */
  private List<Runnable> afterNextSelect = new ArrayList<>();

  private List<Runnable> due = new ArrayList<>();
  final ByteBuffer netIn;
  final ByteBuffer netOut;
  final ByteBuffer appIn;
  private volatile boolean running = true;

  IoLoop(String name, int packetSize, int applicationSize) {
    try {
      selector = Selector.open();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    netIn = ByteBuffer.allocate(packetSize * 2);
    netOut = ByteBuffer.allocate(packetSize * 2);
    appIn = ByteBuffer.allocate(applicationSize + 1024);
    thread = new Thread(this::run, name);
    thread.setDaemon(true);
    thread.start();
  }

  void execute(Runnable task) {
    tasks.add(task);
    selector.wakeup();
  }

  Selector selector() {
    return selector;
  }

  /**
   * Runs {@code task} once the next select is done, on the loop's thread (and called only there). A
   * channel registered with a selector keeps its descriptor until the selector deregisters its
   * cancelled key, which it does at the start of a select.
   */
  void afterNextSelect(Runnable task) {
    afterNextSelect.add(task);
    selector.wakeup();
  }

  private void run() {
    long nextScan = System.nanoTime() + DEADLINE_SCAN_NANOS;
    while (running) {
      try {
        List<Runnable> requested = afterNextSelect;
        afterNextSelect = due;
        due = requested;
        selector.select(100);
        due.forEach(Runnable::run);
        due.clear();
        Runnable task;
        while ((task = tasks.poll()) != null) {
          task.run();
        }
        var selected = selector.selectedKeys().iterator();
        while (selected.hasNext()) {
          SelectionKey key = selected.next();
          selected.remove();
          if (key.isValid() && key.attachment() instanceof TlsConnection connection) {
            connection.onReady(key);
          }
        }
        long now = System.nanoTime();
        if (now - nextScan >= 0) {
          nextScan = now + DEADLINE_SCAN_NANOS;
          for (SelectionKey key : selector.keys()) {
            if (key.attachment() instanceof TlsConnection connection) {
              connection.checkDeadline(now);
            }
          }
        }
      } catch (IOException | RuntimeException e) {
        // one connection's bug must not stop every other simulated device on this loop
        System.err.println("flotilla-sim: I/O loop " + thread.getName() + ": " + e);
      }
    }
  }

  @Override
  public void close() {
    running = false;
    selector.wakeup();
    try {
      thread.join(2000);
      for (SelectionKey key : selector.keys()) {
        key.channel().close();
      }
      selector.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
