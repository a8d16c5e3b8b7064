package io.flotilla.gateway.crash;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.core.testing.TestDatabases;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * "A 2xx means it is stored", tried the hard way: the real server in its own JVM takes every kind
 * of write at once, is SIGKILLed at a random moment, and is started again on the same data dir,
 * where every write it acknowledged must be found. The restart of one trial is the start of the
 * next. {@code -Dflotilla.crash.trials} sets the number of trials (20 by default; {@code
 * bench/crash-durability.sh} runs more), {@code -Dflotilla.crash.seed} repeats a run's kill moments
 * and blob sizes.
 */
abstract class CrashDurabilityTest {

  private static final int TRIALS = Integer.getInteger("flotilla.crash.trials", 20);
  private static final boolean PROGRESS = Boolean.getBoolean("flotilla.crash.progress");

  /** The node is killed this long after every kind of write was first acknowledged in the trial. */
  private static final int MIN_KILL_MS = 0;

  private static final int MAX_KILL_MS = 1500;

  @TempDir Path temp;
  private ServerProcess server;

  abstract TestDatabases.Kind kind();

  @AfterEach
  void stopServer() throws InterruptedException {
    if (server != null) {
      server.stop();
    }
  }

  @Test
  void everyAcknowledgedWriteSurvivesKill9() throws Exception {
    long seed = Long.getLong("flotilla.crash.seed", System.nanoTime());
    Random random = new Random(seed);
    Path dataDir = temp.resolve("data");
    Path work = Files.createDirectories(temp.resolve("clients"));
    Path log = temp.resolve("server.log");
    Map<String, String> settings = databaseSettings();
    Instant started = Instant.now();

    server = ServerProcess.start(dataDir, settings, log);
    CrashLoad load = new CrashLoad(work, seed);
    load.setUp(server);
    if (server.stopToShareClasses()) {
      server = ServerProcess.start(dataDir, settings, log);
    }
    CrashLoad.Tally total = new CrashLoad.Tally();
    List<Long> restartMillis = new ArrayList<>();
    for (int trial = 1; trial <= TRIALS; trial++) {
      Duration killAfter =
          Duration.ofMillis(MIN_KILL_MS + random.nextInt(MAX_KILL_MS - MIN_KILL_MS));
      List<CrashLoad.Ack> acks = load.runUntilKilled(server, trial, killAfter);
      server = null;
      Instant restart = Instant.now();
      ServerProcess restarted = ServerProcess.start(dataDir, settings, log);
      server = restarted;
      restartMillis.add(Duration.between(restart, Instant.now()).toMillis());
      CrashLoad.Tally tally = load.verify(restarted, acks);
      total.add(tally);
      if (!tally.lost.isEmpty() || PROGRESS) {
        System.out.println(
            "crash trial "
                + trial
                + " on "
                + kind()
                + " (killed after "
                + killAfter.toMillis()
                + " ms): "
                + tally.summary());
      }
    }
    long wall = Duration.between(started, Instant.now()).toSeconds();
    System.out.printf(
        "crash durability on %s: %d trials (seed %d, %d s, restart median %d ms): %s%n",
        kind(), TRIALS, seed, wall, median(restartMillis), total.summary());

    assertTrue(
        load.failures.isEmpty(),
        "writers failed for other reasons than the kill: " + load.failures);
    assertEquals(
        List.of(), total.lost, "acknowledged writes lost (seed " + seed + "); server log: " + log);
    for (CrashLoad.Kind kind : CrashLoad.Kind.values()) {
      assertTrue(
          total.acked.getOrDefault(kind, 0) > 0,
          "no " + kind.label + " were acknowledged at all: the trial proved nothing for them");
    }
    assertPrivate(dataDir);
  }

  private Map<String, String> databaseSettings() {
    Map<String, String> settings = new LinkedHashMap<>();
    // Only to show what the write delay costs: with it the test loses writes (docs/durability.md).
    String writeDelay = System.getProperty("flotilla.crash.h2-write-delay");
    if (writeDelay != null) {
      settings.put("flotilla.db.h2-write-delay", writeDelay);
    }
    if (kind() == TestDatabases.Kind.POSTGRES) {
      TestDatabases.fresh(kind())
          .entrySet()
          .forEach(e -> settings.put(e.getKey(), String.valueOf(e.getValue().unwrapped())));
    }
    return settings;
  }

  /**
   * What the node made while it was killed and restarted is private too (see
   * DataDirPermissionsTest).
   */
  private static void assertPrivate(Path dataDir) throws IOException {
    Set<PosixFilePermission> privateDir = PosixFilePermissions.fromString("rwx------");
    try (Stream<Path> all = Files.walk(dataDir)) {
      Path builder = dataDir.resolve("builder");
      for (Path path : all.filter(p -> p.equals(builder) || !p.startsWith(builder)).toList()) {
        Set<PosixFilePermission> mode =
            Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS);
        if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
          assertEquals(privateDir, mode, path + " is " + PosixFilePermissions.toString(mode));
        } else {
          assertTrue(
              mode.stream()
                  .noneMatch(p -> p.name().startsWith("GROUP") || p.name().startsWith("OTHERS")),
              path + " is " + PosixFilePermissions.toString(mode));
        }
      }
    }
  }

  private static long median(List<Long> values) {
    List<Long> sorted = values.stream().sorted().toList();
    return sorted.isEmpty() ? 0 : sorted.get(sorted.size() / 2);
  }
}

class CrashDurabilityOnH2Test extends CrashDurabilityTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.H2;
  }
}

class CrashDurabilityOnPostgresTest extends CrashDurabilityTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.POSTGRES;
  }
}
