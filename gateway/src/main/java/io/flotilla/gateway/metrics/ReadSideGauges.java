package io.flotilla.gateway.metrics;

import io.flotilla.builder.build.Build;
import io.flotilla.core.FlotillaCore;
import io.flotilla.core.projection.ProjectionHealth;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.cluster.sharding.ClusterSharding;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.pattern.Patterns;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gauges that need a query: devices and devices online per factory, builds per status, each
 * projection's lag, the entities alive in each shard region of this node. They are refreshed every
 * {@code flotilla.metrics.refresh-interval} on the blocking executor, never on a scrape, so a slow
 * database cannot hold up Prometheus and a scrape costs nothing.
 */
final class ReadSideGauges {

  private static final Logger log = LoggerFactory.getLogger(ReadSideGauges.class);

  /**
   * How far past a projection's offset lag is counted: a projection further behind shows this, and
   * the query stays bounded however far behind it is.
   */
  static final long MAX_COUNTED_LAG = 100_000;

  private final FlotillaCore core;
  private final Series devices;
  private final Series devicesOnline;
  private final Series builds;
  private final Series lagEvents;
  private final Series lagSeconds;
  private final Series entities;
  private final MeterRegistry registry;
  private final AtomicBoolean running = new AtomicBoolean();
  private Instant buildsFinishedAfter = Instant.now();

  ReadSideGauges(FlotillaCore core, MeterRegistry registry) {
    this.core = core;
    this.registry = registry;
    this.devices =
        new Series(
            MultiGauge.builder("flotilla.devices")
                .description("active (not decommissioned) devices, per factory")
                .register(registry));
    this.devicesOnline =
        new Series(
            MultiGauge.builder("flotilla.devices.online")
                .description("devices seen within flotilla.device.online-window, per factory")
                .register(registry));
    this.builds =
        new Series(
            MultiGauge.builder("flotilla.builds")
                .description("builds per status (queued and running are the queue)")
                .register(registry));
    this.lagEvents =
        new Series(
            MultiGauge.builder("flotilla.projection.lag.events")
                .description(
                    "events of the projection's tag written after its stored offset (at most "
                        + MAX_COUNTED_LAG
                        + ")")
                .register(registry));
    this.lagSeconds =
        new Series(
            MultiGauge.builder("flotilla.projection.lag.seconds")
                .description(
                    "age of the oldest event the projection has not stored yet (0 when caught up)")
                .register(registry));
    this.entities =
        new Series(
            MultiGauge.builder("flotilla.entities")
                .description("entities alive on this node, per shard region (entity type)")
                .register(registry));
  }

  void start(Duration interval) {
    core.system()
        .scheduler()
        .scheduleWithFixedDelay(
            Duration.ZERO,
            interval,
            this::refresh,
            scala.concurrent.ExecutionContext.fromExecutor(core.blocking()));
  }

  /** Skipped while the previous refresh still runs: a slow database never piles them up. */
  void refresh() {
    if (!running.compareAndSet(false, true)) {
      return;
    }
    try {
      core.database()
          .withConnection(
              connection -> {
                refreshDevices(connection);
                refreshBuilds(connection);
                refreshLag(connection);
                return null;
              });
      refreshEntities();
    } catch (SQLException | RuntimeException e) {
      log.debug("metrics refresh failed: {}", e.toString());
    } finally {
      running.set(false);
    }
  }

  private void refreshDevices(Connection connection) throws SQLException {
    Instant onlineSince = Instant.now().minus(core.deviceSettings().onlineWindow());
    Map<Tags, Number> all = new HashMap<>();
    Map<Tags, Number> online = new HashMap<>();
    try (PreparedStatement s =
        connection.prepareStatement(
            "SELECT factory, COUNT(*), SUM(CASE WHEN last_seen >= ? THEN 1 ELSE 0 END)"
                + " FROM device_status WHERE decommissioned_at IS NULL GROUP BY factory")) {
      s.setTimestamp(1, Timestamp.from(onlineSince));
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          Tags tags = Tags.of("factory", r.getString(1));
          all.put(tags, r.getLong(2));
          online.put(tags, r.getLong(3));
        }
      }
    }
    devices.set(all);
    devicesOnline.set(online);
  }

  /**
   * Counts per status, and the duration of each build finished since the last refresh into {@code
   * flotilla.build.duration} (per node: each node of a cluster records every build).
   */
  private void refreshBuilds(Connection connection) throws SQLException {
    Map<String, Long> counts = new java.util.TreeMap<>();
    for (Build.Status status : Build.Status.values()) {
      counts.put(status.wireName(), 0L);
    }
    try (PreparedStatement s =
            connection.prepareStatement("SELECT status, COUNT(*) FROM builds GROUP BY status");
        ResultSet r = s.executeQuery()) {
      while (r.next()) {
        counts.put(r.getString(1), r.getLong(2));
      }
    }
    Map<Tags, Number> rows = new HashMap<>();
    counts.forEach((status, n) -> rows.put(Tags.of("status", status), n));
    builds.set(rows);
    Instant newest = buildsFinishedAfter;
    try (PreparedStatement s =
        connection.prepareStatement(
            "SELECT status, created_at, finished_at FROM builds WHERE finished_at > ?"
                + " ORDER BY finished_at LIMIT 1000")) {
      s.setTimestamp(1, Timestamp.from(buildsFinishedAfter));
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          Instant created = r.getTimestamp(2).toInstant();
          Instant finished = r.getTimestamp(3).toInstant();
          Timer.builder("flotilla.build.duration")
              .description("from queued to finished, per outcome")
              .tag("outcome", r.getString(1))
              .publishPercentileHistogram()
              .minimumExpectedValue(Duration.ofSeconds(1))
              .maximumExpectedValue(Duration.ofHours(1))
              .register(registry)
              .record(Duration.between(created, finished));
          if (finished.isAfter(newest)) {
            newest = finished;
          }
        }
      }
    }
    buildsFinishedAfter = newest;
  }

  private void refreshLag(Connection connection) throws SQLException {
    Map<String, Long> offsets = new HashMap<>();
    try (PreparedStatement s =
            connection.prepareStatement(
                "SELECT \"projection_name\", \"projection_key\", \"current_offset\""
                    + " FROM \"pekko_projection_offset_store\"");
        ResultSet r = s.executeQuery()) {
      while (r.next()) {
        try {
          offsets.put(r.getString(1) + "/" + r.getString(2), Long.parseLong(r.getString(3)));
        } catch (NumberFormatException e) {
          log.debug("projection offset {} is not a sequence", r.getString(3));
        }
      }
    }
    Map<Tags, Number> events = new HashMap<>();
    Map<Tags, Number> seconds = new HashMap<>();
    long now = System.currentTimeMillis();
    for (ProjectionHealth.Status status : ProjectionHealth.get(core.system()).statuses()) {
      long offset = offsets.getOrDefault(status.name() + "/" + status.key(), 0L);
      try (PreparedStatement s =
          connection.prepareStatement(
              "SELECT COUNT(*), MIN(j.\"write_timestamp\") FROM \"event_tag\" t"
                  + " JOIN \"event_journal\" j ON j.\"ordering\" = t.\"event_id\""
                  + " WHERE t.\"event_id\" > ? AND t.\"event_id\" <= ? AND t.\"tag\" = ?")) {
        s.setLong(1, offset);
        s.setLong(2, offset + MAX_COUNTED_LAG);
        s.setString(3, status.key());
        try (ResultSet r = s.executeQuery()) {
          r.next();
          long behind = r.getLong(1);
          long oldest = r.getLong(2);
          Tags tags = Tags.of("projection", status.name(), "key", status.key());
          events.put(tags, behind);
          seconds.put(tags, behind == 0 ? 0 : (now - oldest) / 1000.0);
        }
      }
    }
    lagEvents.set(events);
    lagSeconds.set(seconds);
  }

  private void refreshEntities() {
    ClusterSharding sharding = ClusterSharding.get(core.system().classicSystem());
    Map<Tags, Number> rows = new HashMap<>();
    for (String typeName : sharding.getShardTypeNames()) {
      ActorRef region = sharding.shardRegion(typeName);
      try {
        Object answer =
            Patterns.ask(region, ShardRegion.getShardRegionStateInstance(), Duration.ofSeconds(5))
                .toCompletableFuture()
                .get(6, java.util.concurrent.TimeUnit.SECONDS);
        if (answer instanceof ShardRegion.CurrentShardRegionState state) {
          long count = 0;
          for (ShardRegion.ShardState shard : state.getShards()) {
            count += shard.getEntityIds().size();
          }
          rows.put(Tags.of("region", typeName), count);
        }
      } catch (Exception e) {
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
          return;
        }
        log.debug("shard region {} did not answer: {}", typeName, e.toString());
      }
    }
    entities.set(rows);
  }

  /**
   * A multi-gauge whose rows keep their meters: each refresh sets the values of the rows that stay,
   * adds new ones and drops those gone. Re-registering a row (remove, then add) while Prometheus
   * scrapes can show it twice, and the scrape then fails on duplicate labels.
   */
  private static final class Series {
    private final MultiGauge gauge;
    private final Map<Tags, AtomicLong> values = new ConcurrentHashMap<>();

    Series(MultiGauge gauge) {
      this.gauge = gauge;
    }

    void set(Map<Tags, Number> current) {
      List<MultiGauge.Row<?>> rows = new ArrayList<>();
      current.forEach(
          (tags, value) -> {
            AtomicLong bits = values.computeIfAbsent(tags, t -> new AtomicLong());
            bits.set(Double.doubleToLongBits(value.doubleValue()));
            rows.add(MultiGauge.Row.of(tags, bits, b -> Double.longBitsToDouble(b.get())));
          });
      values.keySet().retainAll(current.keySet());
      gauge.register(rows, false);
    }
  }
}
