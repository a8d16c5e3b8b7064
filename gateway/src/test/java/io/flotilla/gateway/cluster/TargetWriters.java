package io.flotilla.gateway.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.gateway.testing.ApiClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Load through the load balancer that counts what it was promised: each writer publishes targets to
 * its own factory (one Targets entity each, so the entities spread over the shards of every node)
 * and remembers every version a 201 acknowledged. {@link #longestGap} is the longest time a writer
 * went without an acknowledged write: how long its entity was not served.
 */
final class TargetWriters implements AutoCloseable {

  private static final String DIGEST = "@sha256:" + "a".repeat(64);

  private final ApiClient api;
  private final int lbPort;
  private final String token;
  private final List<String> factories = new ArrayList<>();
  private final List<Thread> threads = new ArrayList<>();
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final ConcurrentHashMap<String, Set<Long>> acknowledged = new ConcurrentHashMap<>();
  private final AtomicLong failures = new AtomicLong();
  private final AtomicLong notRetryable = new AtomicLong();
  private final List<String> failureSamples = new CopyOnWriteArrayList<>();
  private final ConcurrentHashMap<String, Long> longestGapMillis = new ConcurrentHashMap<>();

  /** Creates {@code writers} factories named {@code <prefix>-<n>} and starts writing. */
  TargetWriters(int lbPort, String token, String prefix, int writers) throws Exception {
    this.api = new ApiClient(lbPort);
    this.lbPort = lbPort;
    this.token = token;
    for (int n = 0; n < writers; n++) {
      String factory = prefix + "-" + n;
      ApiClient.Answer created =
          api.post(
              "/api/v1/factories",
              token,
              "{\"name\":\"" + factory + "\",\"platforms\":[\"amd64-linux\"]}");
      if (created.status() != 201) {
        throw new AssertionError("creating " + factory + ": " + created.status() + created.body());
      }
      factories.add(factory);
      acknowledged.put(factory, ConcurrentHashMap.newKeySet());
    }
    for (String factory : factories) {
      Thread thread = new Thread(() -> write(factory), "writer-" + factory);
      thread.setDaemon(true);
      threads.add(thread);
      thread.start();
    }
  }

  private void write(String factory) {
    long lastSuccess = System.nanoTime();
    while (running.get()) {
      try {
        ApiClient.Answer answer =
            api.post(
                "/api/v1/factories/" + factory + "/targets",
                token,
                "{\"tags\":[\"main\"],\"apps\":{\"shellhttpd\":\"127.0.0.1:"
                    + lbPort
                    + "/"
                    + factory
                    + "/shellhttpd"
                    + DIGEST
                    + "\"}}");
        if (answer.status() == 201) {
          for (JsonNode target : answer.json().get("targets")) {
            acknowledged.get(factory).add(target.get("version").asLong());
          }
          long now = System.nanoTime();
          longestGapMillis.merge(
              factory, TimeUnit.NANOSECONDS.toMillis(now - lastSuccess), Math::max);
          lastSuccess = now;
        } else {
          if (answer.status() != 503) {
            notRetryable.incrementAndGet();
          }
          fail(factory + ": " + answer.status() + " " + answer.body());
        }
      } catch (Exception e) {
        notRetryable.incrementAndGet();
        fail(factory + ": " + e);
      }
    }
  }

  private void fail(String sample) {
    failures.incrementAndGet();
    if (failureSamples.size() < 5) {
      failureSamples.add(sample);
    }
    try {
      Thread.sleep(100);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  long acknowledgedCount() {
    return acknowledged.values().stream().mapToLong(Set::size).sum();
  }

  long failures() {
    return failures.get();
  }

  /** Failures other than a 503 that says "try again": cut connections, 502s, timeouts. */
  long notRetryable() {
    return notRetryable.get();
  }

  List<String> failureSamples() {
    return failureSamples;
  }

  Duration longestGap() {
    return Duration.ofMillis(longestGapMillis.values().stream().mapToLong(l -> l).max().orElse(0));
  }

  /**
   * Every acknowledged version that the factory's targets, read through the load balancer, do not
   * hold (empty: nothing lost).
   */
  List<String> lost() throws Exception {
    List<String> lost = new ArrayList<>();
    // The list is read from the read side, which may still be catching up after the chaos.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    for (String factory : factories) {
      List<String> missing = missing(factory);
      while (!missing.isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(500);
        missing = missing(factory);
      }
      lost.addAll(missing);
    }
    return lost;
  }

  private List<String> missing(String factory) throws Exception {
    ApiClient.Answer answer = api.get("/api/v1/factories/" + factory + "/targets", token);
    List<String> missing = new ArrayList<>();
    if (answer.status() != 200) {
      missing.add(factory + ": reading its targets answered " + answer.status());
      return missing;
    }
    Set<Long> stored = ConcurrentHashMap.newKeySet();
    for (JsonNode target : answer.json().get("targets")) {
      stored.add(target.get("version").asLong());
    }
    for (long version : acknowledged.get(factory)) {
      if (!stored.contains(version)) {
        missing.add(factory + " v" + version);
      }
    }
    return missing;
  }

  @Override
  public void close() throws InterruptedException {
    running.set(false);
    for (Thread thread : threads) {
      thread.join(30_000);
    }
  }
}
