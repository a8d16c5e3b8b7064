package io.flotilla.core.cluster;

import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.Config;
import io.flotilla.core.auth.ApiToken;
import io.flotilla.core.factory.Factory;
import io.flotilla.core.journal.JournalReader;
import io.flotilla.core.testing.TestDatabases;
import io.flotilla.core.testing.TestNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two nodes of one cluster share one database and both send commands to the same entity: sharding
 * runs it on exactly one node, so its journal stays one gap-free sequence and no write is lost.
 */
abstract class SingleWriterTest {

  @TempDir Path dataDir;

  abstract TestDatabases.Kind kind();

  @Test
  void oneEntityRunsOnOneNodeAndItsJournalStaysConsistent() throws Exception {
    Config database = TestDatabases.fresh(kind());
    try (TestNode first = TestNode.start(TestNode.config(database, dataDir.resolve("a")));
        TestNode second = TestNode.start(TestNode.config(database, dataDir.resolve("b")), first)) {
      awaitMembers(first, 2);
      awaitMembers(second, 2);

      first
          .core()
          .factory("shared")
          .<Factory.Summary>askWithStatus(
              replyTo -> new Factory.Create(List.of(), replyTo), Duration.ofSeconds(15))
          .toCompletableFuture()
          .get(20, TimeUnit.SECONDS);

      int writes = 40;
      List<CompletableFuture<Factory.TokenInfo>> answers = new ArrayList<>();
      for (int i = 0; i < writes; i++) {
        TestNode via = i % 2 == 0 ? first : second;
        ApiToken token = ApiToken.newFactoryToken("shared");
        answers.add(
            via.core()
                .factory("shared")
                .<Factory.TokenInfo>askWithStatus(
                    replyTo ->
                        new Factory.CreateToken(
                            token.id(), "t", List.of("targets:read"), token.secretHash(), replyTo),
                    Duration.ofSeconds(15))
                .toCompletableFuture());
      }
      CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);

      List<JournalReader.Entry> journal =
          first
              .core()
              .journalReader()
              .events("Factory|shared", 1)
              .runWith(Sink.seq(), first.system())
              .toCompletableFuture()
              .get(15, TimeUnit.SECONDS);
      assertEquals(
          LongStream.rangeClosed(1, writes + 1).boxed().toList(),
          journal.stream().map(JournalReader.Entry::sequenceNr).toList());

      int hosts = hostsOf(first, "shared") + hostsOf(second, "shared");
      assertEquals(1, hosts, "the entity must live on exactly one node");
    }
  }

  private static void awaitMembers(TestNode node, int count) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (true) {
      long up = 0;
      for (var member : Cluster.get(node.system()).state().getMembers()) {
        if (member.status() == MemberStatus.up()) {
          up++;
        }
      }
      if (up == count) {
        return;
      }
      assertTrue(System.nanoTime() < deadline, "cluster did not reach " + count + " Up members");
      Thread.sleep(100);
    }
  }

  private static int hostsOf(TestNode node, String entityId) {
    TestProbe<ShardRegion.CurrentShardRegionState> probe = node.testKit().createTestProbe();
    ClusterSharding.get(node.system())
        .shardState()
        .tell(new GetShardRegionState(Factory.ENTITY_KEY, probe.ref()));
    ShardRegion.CurrentShardRegionState state = probe.receiveMessage(Duration.ofSeconds(10));
    int hosts = 0;
    for (ShardRegion.ShardState shard : state.getShards()) {
      if (shard.getEntityIds().contains(entityId)) {
        hosts++;
      }
    }
    return hosts;
  }
}

class SingleWriterOnH2Test extends SingleWriterTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.H2;
  }
}

class SingleWriterOnPostgresTest extends SingleWriterTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.POSTGRES;
  }
}
