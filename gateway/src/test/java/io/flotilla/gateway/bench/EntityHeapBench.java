package io.flotilla.gateway.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.flotilla.core.FlotillaCore;
import io.flotilla.core.device.Device;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.testing.TestServers;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.ObjectName;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;

/**
 * Benchmark 3's decomposition: the heap one active entity holds, on one node, for three entity
 * types started the same way (cluster sharding with the Device entity's passivation settings and a
 * stop message): a plain typed actor that persists nothing, the smallest event-sourced entity (one
 * constant state, no events; it still recovers from the journal), and the Device entity itself,
 * created by a first-contact check-in as the device port sends it. The difference between the last
 * two is what Flotilla adds to Pekko's own cost of an event-sourced sharded entity. Each figure is
 * the growth of the heap histogram (a full GC first) divided by the entities added, counted in the
 * histogram; H2's share (its page cache holds the rows the Device entities wrote and read, up to
 * the cache's bound) is shown apart. Usage: EntityHeapBench DATA_DIR [entities per type=100000];
 * prints a Markdown table.
 */
public final class EntityHeapBench {

  private static final String FACTORY = "heap";
  private static final int IN_FLIGHT = 256;

  sealed interface Touch {}

  record Ping(ActorRef<Done> replyTo) implements Touch {}

  record Stop() implements Touch {}

  static final EntityTypeKey<Touch> PLAIN =
      EntityTypeKey.create(Touch.class, "HeapBenchPlainActor");
  static final EntityTypeKey<Touch> EVENT_SOURCED =
      EntityTypeKey.create(Touch.class, "HeapBenchEventSourced");

  /** A class of its own so that the histogram counts exactly the entities of this type. */
  static final class PlainActor extends AbstractBehavior<Touch> {

    PlainActor(ActorContext<Touch> context) {
      super(context);
    }

    @Override
    public Receive<Touch> createReceive() {
      return newReceiveBuilder()
          .onMessage(
              Ping.class,
              ping -> {
                ping.replyTo().tell(Done.getInstance());
                return this;
              })
          .onMessage(Stop.class, stop -> Behaviors.stopped())
          .build();
    }
  }

  /** The least an event-sourced entity can be: a shared constant state and no events. */
  static final class MinimalEventSourced extends EventSourcedBehavior<Touch, Object, Done> {

    MinimalEventSourced(String entityId) {
      super(PersistenceId.of(EVENT_SOURCED.name(), entityId));
    }

    @Override
    public Done emptyState() {
      return Done.getInstance();
    }

    @Override
    public CommandHandler<Touch, Object, Done> commandHandler() {
      return (state, command) -> {
        if (command instanceof Ping ping) {
          return Effect().reply(ping.replyTo(), Done.getInstance());
        }
        return Effect().stop();
      };
    }

    @Override
    public EventHandler<Done, Object> eventHandler() {
      return (state, event) -> state;
    }
  }

  public static void main(String[] args) throws Exception {
    Path dataDir = Path.of(args[0]);
    int n = args.length > 1 ? Integer.parseInt(args[1]) : 100_000;
    int limit = 4 * n + 10_000;
    Config overrides =
        ConfigFactory.parseMap(
            Map.of(
                "flotilla.device.active-entity-limit", limit,
                "pekko.cluster.sharding.passivation.default-strategy.active-entity-limit", limit));
    try (FlotillaServer server = FlotillaServer.start(TestServers.config(dataDir, overrides))) {
      FlotillaCore core = server.core();
      ActorSystem<?> system = server.system();
      ClusterSharding sharding = ClusterSharding.get(system);
      ClusterShardingSettings settings = ClusterShardingSettings.create(system);
      settings =
          settings.withPassivationStrategy(
              settings.passivationStrategySettings().withActiveEntityLimit(limit));
      sharding.init(
          Entity.of(PLAIN, ctx -> Behaviors.setup(PlainActor::new))
              .withSettings(settings)
              .withStopMessage(new Stop()));
      sharding.init(
          Entity.of(EVENT_SOURCED, ctx -> new MinimalEventSourced(ctx.getEntityId()))
              .withSettings(settings)
              .withStopMessage(new Stop()));

      IntFunction<CompletableFuture<?>> plain =
          i ->
              sharding
                  .entityRefFor(PLAIN, "p-" + i)
                  .ask(Ping::new, Duration.ofSeconds(60))
                  .toCompletableFuture();
      IntFunction<CompletableFuture<?>> eventSourced =
          i ->
              sharding
                  .entityRefFor(EVENT_SOURCED, "e-" + i)
                  .ask(Ping::new, Duration.ofSeconds(60))
                  .toCompletableFuture();
      List<String> uuids = new ArrayList<>();
      for (int i = 0; i < n + 1_000; i++) {
        uuids.add(UUID.randomUUID().toString());
      }
      IntFunction<CompletableFuture<?>> device = i -> checkIn(core, uuids.get(i));

      // what the first entities of each type allocate once (classes, compiled code, pools) stays
      // out of the figures
      run(plain, n, n + 1_000);
      run(eventSourced, n, n + 1_000);
      run(device, n, n + 1_000);

      // each measurement starts from the histogram the previous one ended with
      Measured plainActors =
          measure(
              "plain typed actor (sharded, persists nothing)",
              plain,
              n,
              PlainActor.class.getName(),
              histogram());
      Measured eventSourcedEntities =
          measure(
              "smallest event-sourced entity (constant state, no events)",
              eventSourced,
              n,
              MinimalEventSourced.class.getName(),
              plainActors.after());
      Measured devices =
          measure(
              "Device entity, first-contact check-in",
              device,
              n,
              Device.class.getName(),
              eventSourcedEntities.after());
      List<String[]> rows = List.of(plainActors.row(), eventSourcedEntities.row(), devices.row());

      System.out.println(
          "| entity type ("
              + n
              + " each, one node) | entities added | heap growth per entity (bytes) | of which H2's page cache |");
      System.out.println("|---|---|---|---|");
      rows.forEach(r -> System.out.printf("| %s | %s | %s | %s |%n", r[0], r[1], r[2], r[3]));
    }
    System.exit(0);
  }

  private record Measured(String[] row, Map<String, long[]> after) {}

  private static Measured measure(
      String name,
      IntFunction<CompletableFuture<?>> touch,
      int n,
      String countedClass,
      Map<String, long[]> before)
      throws Exception {
    long start = System.nanoTime();
    run(touch, 0, n);
    System.err.printf("%s: %d entities in %.1f s%n", name, n, (System.nanoTime() - start) / 1e9);
    Map<String, long[]> after = histogram();
    long entities = count(after, countedClass) - count(before, countedClass);
    long bytes = total(after, "") - total(before, "");
    long database = total(after, "org.h2.") - total(before, "org.h2.");
    printLargestGrowth(name, before, after, entities);
    String[] row = {
      name,
      Long.toString(entities),
      String.format("%.0f", (double) bytes / entities),
      String.format("%.0f", (double) database / entities)
    };
    return new Measured(row, after);
  }

  /** Touches entities {@code from} to {@code to - 1}, IN_FLIGHT at a time. */
  private static void run(IntFunction<CompletableFuture<?>> touch, int from, int to)
      throws Exception {
    List<CompletableFuture<?>> window = new ArrayList<>();
    for (int i = from; i < to; i++) {
      window.add(touch.apply(i));
      if (window.size() == IN_FLIGHT) {
        CompletableFuture.allOf(window.toArray(CompletableFuture[]::new))
            .get(120, TimeUnit.SECONDS);
        window.clear();
      }
    }
    CompletableFuture.allOf(window.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
  }

  private static CompletableFuture<?> checkIn(FlotillaCore core, String uuid) {
    Device.Contact contact =
        new Device.Contact(
            FACTORY,
            false,
            "1",
            null,
            "main",
            "amd64-linux-1",
            List.of("shellhttpd"),
            Instant.now());
    return core.device(uuid)
        .<Device.Summary>askWithStatus(
            replyTo -> new Device.CheckIn(contact, replyTo), Duration.ofSeconds(60))
        .toCompletableFuture();
  }

  private static final Pattern ROW = Pattern.compile("\\s*\\d+:\\s+(\\d+)\\s+(\\d+)\\s+(\\S+).*");

  /** {@code jcmd GC.class_histogram} of this JVM: a full GC, then instances and bytes per class. */
  private static Map<String, long[]> histogram() throws Exception {
    String text =
        (String)
            ManagementFactory.getPlatformMBeanServer()
                .invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"),
                    "gcClassHistogram",
                    new Object[] {null},
                    new String[] {String[].class.getName()});
    Map<String, long[]> rows = new HashMap<>();
    for (String line : text.split("\n")) {
      Matcher m = ROW.matcher(line);
      if (m.matches()) {
        rows.merge(
            m.group(3),
            new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))},
            (a, b) -> new long[] {a[0] + b[0], a[1] + b[1]});
      }
    }
    return rows;
  }

  private static long count(Map<String, long[]> histogram, String className) {
    return histogram.getOrDefault(className, new long[2])[0];
  }

  private static long total(Map<String, long[]> histogram, String classPrefix) {
    return histogram.entrySet().stream()
        .filter(e -> e.getKey().startsWith(classPrefix))
        .mapToLong(e -> e.getValue()[1])
        .sum();
  }

  private static void printLargestGrowth(
      String name, Map<String, long[]> before, Map<String, long[]> after, long entities) {
    System.err.println("largest growth per entity, " + name + ":");
    after.entrySet().stream()
        .map(
            e ->
                Map.entry(
                    e.getKey(), e.getValue()[1] - before.getOrDefault(e.getKey(), new long[2])[1]))
        .sorted((a, b) -> Long.compare(b.getValue(), a.getValue()))
        .limit(25)
        .forEach(
            e ->
                System.err.printf("  %8.1f B  %s%n", (double) e.getValue() / entities, e.getKey()));
  }
}
