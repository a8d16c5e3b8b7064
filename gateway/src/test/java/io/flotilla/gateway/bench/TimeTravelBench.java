package io.flotilla.gateway.bench;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.device.Device;
import io.flotilla.core.device.FleetHistory;
import io.flotilla.core.projection.ProjectionAdmin;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.testing.TestServers;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.projection.javadsl.ProjectionManagement;

/**
 * The fleet at a moment and a projection rebuild on one in-process node (embedded H2): N devices,
 * each with E status changes (so each has snapshots), then {@code FleetHistory.at} over every page
 * at the newest moment and at the moment half-way through, and a rebuild of the devices projection
 * until it has caught up. Usage: TimeTravelBench DATA_DIR [devices=1000] [events=60]; prints
 * Markdown table rows.
 */
public final class TimeTravelBench {

  private static final String FACTORY = "timetravel";

  public static void main(String[] args) throws Exception {
    Path dataDir = Path.of(args[0]);
    int devices = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
    int events = args.length > 2 ? Integer.parseInt(args[2]) : 60;
    try (FlotillaServer server = TestServers.start(dataDir, null)) {
      FlotillaCore core = server.core();
      List<String> uuids = new ArrayList<>();
      for (int i = 0; i < devices; i++) {
        uuids.add(UUID.randomUUID().toString());
      }
      long start = System.nanoTime();
      Instant middle = null;
      for (int e = 0; e <= events; e++) {
        int round = e;
        List<CompletableFuture<?>> batch = new ArrayList<>();
        for (String uuid : uuids) {
          batch.add(
              core.device(uuid)
                  .<Device.Summary>askWithStatus(
                      replyTo ->
                          round == 0
                              ? new Device.Register(
                                  FACTORY,
                                  uuid.substring(0, 8),
                                  "amd64-linux",
                                  null,
                                  "main",
                                  false,
                                  "1",
                                  null,
                                  Instant.now(),
                                  replyTo)
                              : new Device.CheckIn(
                                  new Device.Contact(
                                      FACTORY,
                                      false,
                                      "1",
                                      null,
                                      "main",
                                      "amd64-linux-" + round,
                                      List.of("app"),
                                      Instant.now()),
                                  replyTo),
                      java.time.Duration.ofSeconds(120))
                  .toCompletableFuture());
        }
        CompletableFuture.allOf(batch.toArray(CompletableFuture[]::new)).get(300, TimeUnit.SECONDS);
        if (e == events / 2) {
          Thread.sleep(5);
          middle = Instant.now();
          Thread.sleep(5);
        }
      }
      System.err.printf(
          "wrote %d devices x %d events in %.1f s%n",
          devices, events + 1, (System.nanoTime() - start) / 1e9);
      ProjectionAdmin admin = core.projectionAdmin();
      while (!admin
          .progress("devices")
          .toCompletableFuture()
          .get(60, TimeUnit.SECONDS)
          .caughtUp()) {
        Thread.sleep(500);
      }
      System.out.println(
          "| what | devices | events per device | wall time, s | devices or events per s |");
      System.out.println("|---|---|---|---|---|");
      Instant now = Instant.now();
      for (Instant at : List.of(now, middle, now)) {
        long t0 = System.nanoTime();
        long counted = 0;
        String cursor = null;
        do {
          FleetHistory.FleetPage page =
              core.fleetHistory()
                  .at(FACTORY, at, FleetHistory.MAX_PAGE, cursor)
                  .toCompletableFuture()
                  .get(600, TimeUnit.SECONDS);
          counted += page.devices();
          cursor = page.nextCursor();
        } while (cursor != null);
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf(
            "| fleet at %s (%s) | %d | %d | %.2f | %.0f |%n",
            at == middle ? "the middle" : "the end",
            at == middle ? "targets " + (events / 2) : "targets " + events,
            counted,
            events + 1,
            seconds,
            counted / seconds);
      }
      long t0 = System.nanoTime();
      ProjectionAdmin.Progress progress =
          admin
              .rebuild("devices", ProjectionManagement.get(server.system()))
              .toCompletableFuture()
              .get(120, TimeUnit.SECONDS);
      while (!progress.caughtUp()) {
        Thread.sleep(200);
        progress = admin.progress("devices").toCompletableFuture().get(60, TimeUnit.SECONDS);
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      System.out.printf(
          "| rebuild of the devices projection | %d | %d | %.2f | %.0f |%n",
          devices, events + 1, seconds, progress.total() / seconds);
    }
    System.exit(0);
  }
}
