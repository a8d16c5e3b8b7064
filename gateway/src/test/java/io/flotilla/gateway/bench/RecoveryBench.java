package io.flotilla.gateway.bench;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.device.Device;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.testing.TestServers;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Benchmark 6: how long a Device entity with many journal events takes to come back after a
 * restart, with its snapshots (as the entity writes them) and without (the snapshot rows deleted,
 * so every event is replayed). The time is that of the first ask after the restart, after a
 * one-event device warmed up sharding and the pool. Usage: RecoveryBench DATA_DIR [events=10000]
 * [restarts=3]; prints one Markdown table row per mode.
 */
public final class RecoveryBench {

  private static final String FACTORY = "recovery";

  public static void main(String[] args) throws Exception {
    Path dataDir = Path.of(args[0]);
    int events = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
    int restarts = args.length > 2 ? Integer.parseInt(args[2]) : 3;
    String heavy = UUID.randomUUID().toString();
    String light = UUID.randomUUID().toString();
    String jdbcUrl;
    try (FlotillaServer server = TestServers.start(dataDir, null)) {
      jdbcUrl = server.system().settings().config().getString("flotilla.db.url");
      FlotillaCore core = server.core();
      register(core, heavy);
      register(core, light);
      long start = System.nanoTime();
      for (int i = 0; i < events; i += 100) {
        List<CompletableFuture<?>> batch = new ArrayList<>();
        for (int j = i; j < Math.min(events, i + 100); j++) {
          batch.add(report(core, heavy, j));
        }
        CompletableFuture.allOf(batch.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
      }
      System.err.printf("wrote %d events in %.1f s%n", events, (System.nanoTime() - start) / 1e9);
    }
    System.out.println(
        "| snapshots | events in journal | first ask after restart, ms (each of "
            + restarts
            + " restarts) | median ms |");
    System.out.println("|---|---|---|---|");
    for (boolean snapshots : new boolean[] {true, false}) {
      List<Double> times = new ArrayList<>();
      for (int r = 0; r < restarts; r++) {
        if (!snapshots) {
          // before every restart: a recovery may leave a snapshot behind, which would turn the next
          // one into "on"
          try (Connection db = DriverManager.getConnection(jdbcUrl, "flotilla", "");
              Statement sql = db.createStatement()) {
            sql.executeUpdate("DELETE FROM PUBLIC.\"snapshot\"");
          }
        }
        try (FlotillaServer server = TestServers.start(dataDir, null)) {
          get(server.core(), light);
          long t0 = System.nanoTime();
          get(server.core(), heavy);
          times.add((System.nanoTime() - t0) / 1e6);
        }
      }
      List<Double> sorted = new ArrayList<>(times);
      sorted.sort(Double::compare);
      System.out.printf(
          "| %s | %d | %s | %.0f |%n",
          snapshots ? "on (every 50 events, as configured)" : "off (snapshot rows deleted)",
          events + 1,
          String.join(", ", times.stream().map(t -> String.format("%.0f", t)).toList()),
          sorted.get(sorted.size() / 2));
    }
    System.exit(0);
  }

  private static void register(FlotillaCore core, String uuid) throws Exception {
    core.device(uuid)
        .<Device.Summary>askWithStatus(
            replyTo ->
                new Device.Register(
                    FACTORY,
                    uuid,
                    "amd64-linux",
                    null,
                    "main",
                    false,
                    "1",
                    null,
                    Instant.now(),
                    replyTo),
            core.askTimeout())
        .toCompletableFuture()
        .get(30, TimeUnit.SECONDS);
  }

  /** One new update event per command, so each command persists exactly one journal event. */
  private static CompletableFuture<Device.Summary> report(FlotillaCore core, String uuid, int i) {
    Device.Contact contact =
        new Device.Contact(FACTORY, false, "1", null, null, null, null, Instant.now());
    Device.UpdateEvent event =
        new Device.UpdateEvent(
            UUID.randomUUID().toString(),
            Instant.now().toString(),
            "EcuDownloadStarted",
            2,
            "bench-" + (i / 7),
            null,
            "amd64-linux-1",
            "1",
            null);
    return core.device(uuid)
        .<Device.Summary>askWithStatus(
            replyTo -> new Device.ReportUpdateEvents(contact, List.of(event), replyTo),
            java.time.Duration.ofSeconds(60))
        .toCompletableFuture();
  }

  private static void get(FlotillaCore core, String uuid) throws Exception {
    core.device(uuid)
        .<Device.Summary>askWithStatus(
            replyTo -> new Device.Get(FACTORY, replyTo), java.time.Duration.ofSeconds(120))
        .toCompletableFuture()
        .get(120, TimeUnit.SECONDS);
  }
}
