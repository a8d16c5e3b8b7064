package io.flotilla.gateway.cluster;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.flotilla.gateway.NodeConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SingleProcessDatabaseTest {

  @TempDir Path dataDir;

  private Config node(String dialect, List<String> seeds, int port) {
    return NodeConfig.load(
        null,
        dataDir,
        null,
        null,
        ConfigFactory.parseMap(
            Map.of(
                "flotilla.db.dialect", dialect,
                "pekko.cluster.seed-nodes", seeds,
                "pekko.remote.artery.canonical.port", port)));
  }

  @Test
  void anH2NodeRefusesOtherSeedNodesAndSaysWhy() {
    IllegalStateException refused =
        assertThrows(
            IllegalStateException.class,
            () ->
                SingleProcessDatabase.refuseSeeds(
                    node(
                        "h2",
                        List.of(
                            "pekko://flotilla@127.0.0.1:25521", "pekko://flotilla@127.0.0.1:25522"),
                        25521)));
    assertTrue(refused.getMessage().contains("only one process can open"), refused.getMessage());
    assertTrue(refused.getMessage().contains("PostgreSQL"), refused.getMessage());
  }

  @Test
  void anH2NodeAloneOrSeedingItselfStarts() {
    assertDoesNotThrow(() -> SingleProcessDatabase.refuseSeeds(node("h2", List.of(), 0)));
    assertDoesNotThrow(
        () ->
            SingleProcessDatabase.refuseSeeds(
                node("h2", List.of("pekko://flotilla@127.0.0.1:25529"), 25529)));
  }

  @Test
  void aPostgresNodeTakesAnySeeds() {
    assertDoesNotThrow(
        () ->
            SingleProcessDatabase.refuseSeeds(
                node(
                    "postgres",
                    List.of("pekko://flotilla@127.0.0.1:25521", "pekko://flotilla@127.0.0.1:25522"),
                    25521)));
  }
}
