package io.flotilla.core.device;

import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.core.Rejection;
import io.flotilla.core.device.Device.ConfigFile;
import io.flotilla.core.testing.EntityTestKit;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class FleetConfigTest {

  private static final ActorTestKit testKit = EntityTestKit.create();
  private static final Instant T0 = Instant.parse("2026-11-27T10:00:00Z");

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void factoryAndGroupLayersAreKeptApart() {
    ActorRef<Topic.Command<ConfigPublished>> topic =
        testKit.spawn(Topic.create(ConfigPublished.class, "config-" + UUID.randomUUID()));
    TestProbe<ConfigPublished> published = testKit.createTestProbe();
    topic.tell(Topic.subscribe(published.ref()));
    var config =
        EventSourcedBehaviorTestKit
            .<FleetConfig.Command, FleetConfig.Event, FleetConfig.State>create(
                testKit.system(), FleetConfig.create("acme", topic));
    ConfigFile a = new ConfigFile("a", "1", true, List.of());
    ConfigFile b = new ConfigFile("b", "2", false, List.of("/h"));
    config.<StatusReply<FleetConfig.Layers>>runCommand(
        r -> new FleetConfig.SetFiles(null, List.of(a), "r", T0, r));
    assertEquals(ConfigPublished.layer("acme", null), published.receiveMessage());
    config.<StatusReply<FleetConfig.Layers>>runCommand(
        r -> new FleetConfig.SetFiles("lab", List.of(b), "r", T0.plusSeconds(1), r));
    FleetConfig.Layers lab =
        config.<FleetConfig.Layers>runCommand(r -> new FleetConfig.GetLayers("lab", r)).reply();
    assertEquals(new FleetConfig.Layers(List.of(a), T0, List.of(b), T0.plusSeconds(1)), lab);
    FleetConfig.Layers none =
        config.<FleetConfig.Layers>runCommand(r -> new FleetConfig.GetLayers(null, r)).reply();
    assertEquals(new FleetConfig.Layers(List.of(a), T0, List.of(), null), none);
    var bad =
        config.<StatusReply<FleetConfig.Layers>>runCommand(
            r -> new FleetConfig.SetFiles("bad group", List.of(a), "r", T0, r));
    assertEquals(Rejection.Kind.INVALID, Rejection.of(bad.reply().getError()).orElseThrow().kind());
    assertTrue(bad.hasNoEvents());
    assertEquals(ConfigPublished.layer("acme", "lab"), published.receiveMessage());
    published.expectNoMessage(Duration.ofMillis(200));
    config.restart();
    assertEquals(
        lab,
        config.<FleetConfig.Layers>runCommand(r -> new FleetConfig.GetLayers("lab", r)).reply());
  }
}
