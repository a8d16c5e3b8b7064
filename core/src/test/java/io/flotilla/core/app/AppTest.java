package io.flotilla.core.app;

import static org.junit.jupiter.api.Assertions.*;

import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class AppTest {

  private static final ActorTestKit testKit = io.flotilla.core.testing.EntityTestKit.create();
  private static final String URI = "hub.local/acme/shellhttpd@sha256:" + "0f".repeat(32);

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void publishingTheSameDigestTwiceKeepsOneVersion() {
    var app =
        EventSourcedBehaviorTestKit.<App.Command, App.Event, App.State>create(
            testKit.system(), App.create("acme/shellhttpd"));
    var first =
        app.<StatusReply<App.Version>>runCommand(
            replyTo -> new App.Publish(URI, "abc1234", 7, replyTo));
    assertEquals("sha256:" + "0f".repeat(32), first.reply().getValue().digest());
    var again =
        app.<StatusReply<App.Version>>runCommand(
            replyTo -> new App.Publish(URI, "abc1234", 8, replyTo));
    assertTrue(again.hasNoEvents());
    assertEquals(7, again.reply().getValue().buildNumber());
    assertEquals(1, app.<App.Versions>runCommand(App.GetVersions::new).reply().versions().size());
  }

  @Test
  void refusesUrisOfOtherApps() {
    var app =
        EventSourcedBehaviorTestKit.<App.Command, App.Event, App.State>create(
            testKit.system(), App.create("acme/other"));
    assertTrue(
        app.<StatusReply<App.Version>>runCommand(replyTo -> new App.Publish(URI, null, 1, replyTo))
            .reply()
            .isError());
    assertTrue(
        app.<StatusReply<App.Version>>runCommand(
                replyTo -> new App.Publish("nonsense", null, 1, replyTo))
            .reply()
            .isError());
  }
}
