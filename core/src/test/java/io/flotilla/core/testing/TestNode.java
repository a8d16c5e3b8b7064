package io.flotilla.core.testing;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.flotilla.core.FlotillaCore;
import io.flotilla.core.persistence.Database;
import io.flotilla.core.persistence.SchemaMigration;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;

/**
 * A real node for tests: the node's own configuration on a test database, remoting on a free port,
 * the schema migrated, a one-member cluster (or joined to another node) and the OTA core started.
 *
 * <p>Closing waits up to 60 s: a cluster member's coordinated shutdown has phases that may each
 * take their own 10 s timeout (sharding hand-off, cluster exiting), so the test kit's default bound
 * of 10 s for the whole shutdown failed a passing test on a loaded CI machine.
 */
public final class TestNode implements AutoCloseable {

  private final ActorTestKit testKit;
  private final Database database;
  private final FlotillaCore core;

  private TestNode(ActorTestKit testKit, Database database, FlotillaCore core) {
    this.testKit = testKit;
    this.database = database;
    this.core = core;
  }

  /**
   * Node settings for a test: {@code database} from {@link TestDatabases#fresh}, data under {@code
   * dataDir}, every other setting the modules' defaults (their reference.conf), as a node without
   * an operator's application.conf.
   */
  public static Config config(Config database, Path dataDir) {
    return ConfigFactory.parseMap(
            Map.of(
                "flotilla.data-dir", dataDir.toString(),
                "pekko.remote.artery.canonical.port", 0,
                "pekko.cluster.jmx.multi-mbeans-in-same-jvm", "on",
                "pekko.actor.testkit.typed.system-shutdown-default", "60s",
                "pekko.loglevel", "WARNING"))
        .withFallback(database)
        // every module's settings of its libraries on the class path (core's, and the gateway's in
        // its tests)
        .withFallback(ConfigFactory.parseResources("flotilla-library.conf"))
        // unresolved, so that reference.conf's substitutions (the journal pool's URL from
        // flotilla.db) see the test's
        // database rather than the default one
        .withFallback(ConfigFactory.defaultReferenceUnresolved())
        .resolve();
  }

  /** A single node: it forms its own cluster. */
  public static TestNode start(Config config) {
    return start(config, null);
  }

  /** Joins the cluster of {@code seed}, or forms its own when {@code seed} is null. */
  public static TestNode start(Config config, TestNode seed) {
    Database database = Database.open(config);
    SchemaMigration.migrate(database, List.of(SchemaMigration.CORE));
    ActorTestKit testKit = ActorTestKit.create("flotilla", config);
    Cluster cluster = Cluster.get(testKit.system());
    cluster
        .manager()
        .tell(
            Join.create(
                seed == null
                    ? cluster.selfMember().address()
                    : Cluster.get(seed.system()).selfMember().address()));
    awaitUp(cluster);
    return new TestNode(testKit, database, FlotillaCore.start(testKit.system(), database));
  }

  private static void awaitUp(Cluster cluster) {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (cluster.selfMember().status() != MemberStatus.up()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "the test node did not become an Up cluster member in 30 s");
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }

  public ActorTestKit testKit() {
    return testKit;
  }

  public ActorSystem<Void> system() {
    return testKit.system();
  }

  public FlotillaCore core() {
    return core;
  }

  public Database database() {
    return database;
  }

  @Override
  public void close() {
    testKit.shutdownTestKit();
    database.close();
  }
}
