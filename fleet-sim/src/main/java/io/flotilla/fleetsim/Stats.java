package io.flotilla.fleetsim;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Counters and latency histograms shared by the I/O threads; read by the progress printer and the
 * final report.
 */
final class Stats {

  /** One targets change pushed over WebSocket and how fast the pushed devices fetched it. */
  static final class Push {
    final AtomicInteger pushed = new AtomicInteger();
    final AtomicInteger fetched = new AtomicInteger();
    final AtomicLong firstPushEpochMs = new AtomicLong(Long.MAX_VALUE);
    final AtomicLong lastFetchEpochMs = new AtomicLong();
  }

  private final Recorder latency = new Recorder(3);
  private final Histogram total = new Histogram(3);
  final LongAdder checkIns = new LongAdder();
  final LongAdder checkInsAfterRamp = new LongAdder();
  final LongAdder updates = new LongAdder();
  final LongAdder events = new LongAdder();
  final LongAdder overruns = new LongAdder();
  final LongAdder fullHandshakes = new LongAdder();
  final LongAdder resumedHandshakes = new LongAdder();
  final AtomicInteger webSockets = new AtomicInteger();
  final AtomicInteger peakWebSockets = new AtomicInteger();
  private final ConcurrentHashMap<String, LongAdder> errors = new ConcurrentHashMap<>();

  /**
   * The first message of each kind: a count says how often, not whether the server refused or the
   * client ran out.
   */
  private final ConcurrentHashMap<String, String> errorExamples = new ConcurrentHashMap<>();

  final ConcurrentHashMap<Long, Push> pushes = new ConcurrentHashMap<>();

  void latency(long startNanos) {
    latency.recordValue(Math.max(1, (System.nanoTime() - startNanos) / 1000));
  }

  void error(Failure failure) {
    errors.computeIfAbsent(failure.label(), k -> new LongAdder()).increment();
    errorExamples.putIfAbsent(failure.label(), String.valueOf(failure.getMessage()));
  }

  long errorCount() {
    return errors.values().stream().mapToLong(LongAdder::sum).sum();
  }

  Map<String, Long> errors() {
    Map<String, Long> counts = new TreeMap<>();
    errors.forEach((kind, count) -> counts.put(kind, count.sum()));
    return counts;
  }

  void webSocketOpened() {
    peakWebSockets.accumulateAndGet(webSockets.incrementAndGet(), Math::max);
  }

  void pushReceived(long version) {
    Push push = pushes.computeIfAbsent(version, v -> new Push());
    push.pushed.incrementAndGet();
    push.firstPushEpochMs.accumulateAndGet(System.currentTimeMillis(), Math::min);
  }

  void pushFetched(long version) {
    Push push = pushes.computeIfAbsent(version, v -> new Push());
    push.fetched.incrementAndGet();
    push.lastFetchEpochMs.accumulateAndGet(System.currentTimeMillis(), Math::max);
  }

  Map<String, String> errorExamples() {
    return new TreeMap<>(errorExamples);
  }

  /** The latencies since the previous call (microseconds), also folded into the run's total. */
  synchronized Histogram interval() {
    Histogram interval = latency.getIntervalHistogram();
    total.add(interval);
    return interval;
  }

  /**
   * Forgets what was measured so far, at the end of a warm-up; the WebSocket gauges and the pushes
   * stay, as they describe what is open and what the pushed devices still have to fetch.
   */
  synchronized void reset() {
    latency.reset();
    total.reset();
    for (LongAdder counter :
        List.of(
            checkIns,
            checkInsAfterRamp,
            updates,
            events,
            overruns,
            fullHandshakes,
            resumedHandshakes)) {
      counter.reset();
    }
    errors.clear();
    errorExamples.clear();
  }

  synchronized Histogram total() {
    total.add(latency.getIntervalHistogram());
    return total.copy();
  }
}
