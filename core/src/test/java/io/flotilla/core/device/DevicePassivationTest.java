package io.flotilla.core.device;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.ConfigFactory;
import io.flotilla.core.FlotillaCore;
import io.flotilla.core.testing.TestDatabases;
import io.flotilla.core.testing.TestNode;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.sharding.ShardRegion.CurrentShardRegionState;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The entity limit passivates devices through their own stop message (Device.Passivate), and a
 * passivated device comes back whole.
 */
class DevicePassivationTest {

  /**
   * A fresh node's first asks start sharding and recovery; on a loaded machine they outlast the 5 s
   * ask timeout.
   */
  static final Duration PATIENCE = Duration.ofSeconds(30);

  @TempDir static Path dataDir;

  @Test
  void aDevicePassivatedByTheEntityLimitStopsAndRecovers() throws Exception {
    var config =
        ConfigFactory.parseString(
                "flotilla.device.active-entity-limit = 1\npekko.cluster.sharding.number-of-shards = 1")
            .withFallback(TestNode.config(TestDatabases.fresh(TestDatabases.Kind.H2), dataDir));
    try (TestNode node = TestNode.start(config)) {
      FlotillaCore core = node.core();
      String first = UUID.randomUUID().toString();
      String second = UUID.randomUUID().toString();
      Instant now = Instant.now();
      Map<String, Device.Summary> summaries =
          Map.of(
              first, checkIn(core, first, now), second, checkIn(core, second, now.plusSeconds(1)));

      TestProbe<CurrentShardRegionState> probe = node.testKit().createTestProbe();
      Set<String> active =
          eventually(
              Duration.ofSeconds(10),
              () -> {
                ClusterSharding.get(node.system())
                    .shardState()
                    .tell(new GetShardRegionState(Device.ENTITY_KEY, probe.ref()));
                Set<String> ids =
                    probe.receiveMessage().getShards().stream()
                        .flatMap(shard -> shard.getEntityIds().stream())
                        .collect(Collectors.toSet());
                assertEquals(1, ids.size(), "one of the two devices was passivated: " + ids);
                return ids;
              });
      // the default strategy's admission filter may keep either, the older or the newer
      String passivated = active.contains(first) ? second : first;

      Device.Summary recovered =
          core.device(passivated)
              .<Device.Summary>askWithStatus(r -> new Device.Get("pas", r), PATIENCE)
              .toCompletableFuture()
              .get(40, TimeUnit.SECONDS);
      assertEquals(summaries.get(passivated), recovered);
    }
  }

  private static Device.Summary checkIn(FlotillaCore core, String uuid, Instant at)
      throws Exception {
    Device.Contact contact =
        new Device.Contact(
            "pas", false, "0a", "PEM", "main", "amd64-linux-1", List.of("shellhttpd"), at);
    return core.device(uuid)
        .<Device.Summary>askWithStatus(r -> new Device.CheckIn(contact, r), PATIENCE)
        .toCompletableFuture()
        .get(40, TimeUnit.SECONDS);
  }
}
