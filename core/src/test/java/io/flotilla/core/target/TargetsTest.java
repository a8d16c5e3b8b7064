package io.flotilla.core.target;

import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.core.Rejection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TargetsTest {

  private static final ActorTestKit testKit = io.flotilla.core.testing.EntityTestKit.create();
  static final String DIGEST = "sha256:" + "ab".repeat(32);
  static final String URI = "registry.local:8080/acme/shellhttpd@" + DIGEST;

  private EventSourcedBehaviorTestKit<Targets.Command, Targets.Event, Targets.State> targets;
  private TestProbe<Targets.TargetsChanged> changes;

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void fresh() {
    var topic =
        testKit.spawn(
            Topic.create(Targets.TargetsChanged.class, "changes-" + java.util.UUID.randomUUID()));
    changes = testKit.createTestProbe();
    topic.tell(Topic.subscribe(changes.ref()));
    TestProbe<Topic.TopicStats> stats = testKit.createTestProbe();
    changes.awaitAssert(
        () -> {
          topic.tell(Topic.getTopicStats(stats.ref()));
          assertEquals(1, stats.receiveMessage().localSubscriberCount());
          return null;
        });
    targets = EventSourcedBehaviorTestKit.create(testKit.system(), Targets.create("acme", topic));
  }

  private StatusReply<List<Target>> add(
      List<String> hardwareIds, Long version, List<String> tags, Map<String, String> apps) {
    StatusReply<Targets.Added> reply =
        targets
            .<StatusReply<Targets.Added>>runCommand(
                replyTo -> new Targets.Add(hardwareIds, version, tags, apps, "0123abcd", replyTo))
            .reply();
    return reply.isSuccess()
        ? StatusReply.success(reply.getValue().targets())
        : StatusReply.error(reply.getError());
  }

  private Targets.TargetList list(String tag) {
    return targets
        .<Targets.TargetList>runCommand(replyTo -> new Targets.ListTargets(tag, replyTo))
        .reply();
  }

  @Test
  void addsOneTargetPerHardwareIdWithTheNextVersion() {
    List<Target> first =
        add(List.of("arm64-linux", "amd64-linux"), null, List.of("main"), Map.of("shellhttpd", URI))
            .getValue();
    assertEquals(
        List.of("amd64-linux-1", "arm64-linux-1"), first.stream().map(Target::name).toList());
    List<Target> second = add(List.of("amd64-linux"), null, List.of("main"), Map.of()).getValue();
    assertEquals("amd64-linux-2", second.get(0).name());
    assertEquals(2, second.get(0).version());
    assertEquals(Map.of(), second.get(0).apps());
  }

  @Test
  void explicitVersionsAndDuplicates() {
    assertTrue(add(List.of("amd64-linux"), 42L, List.of("main"), Map.of()).isSuccess());
    StatusReply<List<Target>> duplicate =
        add(List.of("amd64-linux"), 42L, List.of("main"), Map.of());
    assertEquals(Rejection.Kind.CONFLICT, Rejection.of(duplicate.getError()).orElseThrow().kind());
    assertEquals(
        Rejection.Kind.INVALID,
        Rejection.of(add(List.of("amd64-linux"), 0L, List.of("main"), Map.of()).getError())
            .orElseThrow()
            .kind());
    assertEquals(
        "amd64-linux-43",
        add(List.of("amd64-linux"), null, List.of("main"), Map.of()).getValue().get(0).name());
  }

  @Test
  void refusesAppsWhoseUriDoesNotMatch() {
    assertTrue(add(List.of("amd64-linux"), null, List.of("main"), Map.of("other", URI)).isError());
    assertTrue(
        add(
                List.of("amd64-linux"),
                null,
                List.of("main"),
                Map.of("shellhttpd", "shellhttpd:latest"))
            .isError());
    assertTrue(
        add(
                List.of("amd64-linux"),
                null,
                List.of("main"),
                Map.of("shellhttpd", URI.replace("/acme/", "/globex/")))
            .isError());
    assertTrue(add(List.of("amd64-linux"), null, List.of(), Map.of()).isError());
    assertTrue(add(List.of("bad id"), null, List.of("main"), Map.of()).isError());
    assertTrue(targets.getState().targets().isEmpty());
  }

  @Test
  void tagVersionGrowsOnlyWhenTheTagsTargetsChange() {
    add(List.of("amd64-linux"), null, List.of("main"), Map.of());
    assertEquals(1, list("main").tagVersion());
    add(List.of("amd64-linux"), null, List.of("beta"), Map.of());
    assertEquals(1, list("main").tagVersion());
    assertEquals(1, list("beta").tagVersion());
    assertEquals(
        List.of("amd64-linux-1"), list("main").targets().stream().map(Target::name).toList());

    var retagged =
        targets.<StatusReply<Target>>runCommand(
            replyTo -> new Targets.SetTags("amd64-linux-2", List.of("main", "beta"), replyTo));
    assertEquals(List.of("beta", "main"), retagged.reply().getValue().tags());
    assertEquals(2, list("main").tagVersion());
    assertEquals(1, list("beta").tagVersion());
    assertEquals(2, list("main").targets().size());
    assertEquals(0, list("nobody-follows-this").targets().size());

    var unknown =
        targets.<StatusReply<Target>>runCommand(
            replyTo -> new Targets.SetTags("amd64-linux-9", List.of("main"), replyTo));
    assertEquals(
        Rejection.Kind.NOT_FOUND, Rejection.of(unknown.reply().getError()).orElseThrow().kind());
  }

  @Test
  void publishesEachChangeWithItsTags() {
    add(List.of("amd64-linux"), null, List.of("main"), Map.of());
    assertEquals(new Targets.TargetsChanged("acme", Set.of("main"), 1), changes.receiveMessage());
    targets.<StatusReply<Target>>runCommand(
        replyTo -> new Targets.SetTags("amd64-linux-1", List.of("beta"), replyTo));
    assertEquals(
        new Targets.TargetsChanged("acme", Set.of("main", "beta"), 2), changes.receiveMessage());
  }

  @Test
  void stateSurvivesRecovery() {
    add(List.of("amd64-linux"), null, List.of("main"), Map.of("shellhttpd", URI));
    targets.restart();
    assertEquals(Map.of("shellhttpd", URI), list("main").targets().get(0).apps());
    assertEquals(1, list("main").tagVersion());
  }

  private static Rejection.Kind kind(StatusReply<?> reply) {
    assertTrue(reply.isError(), "expected a refusal");
    return Rejection.of(new StatusReply.ErrorMessage(reply.getError().getMessage()))
        .orElseThrow()
        .kind();
  }

  @Test
  void refusesVersionsOutsideTheBoundAndNeverOverflows() {
    assertEquals(
        Rejection.Kind.INVALID,
        kind(add(List.of("amd64-linux"), Long.MAX_VALUE, List.of("main"), Map.of())));
    assertEquals(
        Rejection.Kind.INVALID, kind(add(List.of("amd64-linux"), 0L, List.of("main"), Map.of())));
    assertTrue(
        add(List.of("amd64-linux"), io.flotilla.core.Limits.MAX_VERSION, List.of("main"), Map.of())
            .isSuccess());
    assertEquals(
        Rejection.Kind.CONFLICT,
        kind(add(List.of("amd64-linux"), null, List.of("main"), Map.of())));
    assertTrue(add(List.of("amd64-linux"), 7L, List.of("main"), Map.of()).isSuccess());
  }

  @Test
  void refusesNullsAndOversizedAppsWithoutThrowing() {
    java.util.List<String> withNull = new java.util.ArrayList<>();
    withNull.add(null);
    assertEquals(Rejection.Kind.INVALID, kind(add(withNull, null, List.of("main"), Map.of())));
    assertEquals(
        Rejection.Kind.INVALID, kind(add(List.of("amd64-linux"), null, withNull, Map.of())));
    Map<String, String> nullUri = new java.util.HashMap<>();
    nullUri.put("shellhttpd", null);
    assertEquals(
        Rejection.Kind.INVALID, kind(add(List.of("amd64-linux"), null, List.of("main"), nullUri)));
    assertEquals(
        Rejection.Kind.INVALID,
        kind(add(List.of("amd64-linux"), null, List.of("main"), Map.of("Shell httpd", URI))));
    String longHost = "h".repeat(io.flotilla.core.Limits.APP_URI) + "/acme/shellhttpd@" + DIGEST;
    assertEquals(
        Rejection.Kind.INVALID,
        kind(add(List.of("amd64-linux"), null, List.of("main"), Map.of("shellhttpd", longHost))));
    assertEquals(0, list(null).targets().size());
  }

  @Test
  void prunedTargetsLeaveEveryListAndTheirVersionsAreNeverIssuedAgain() {
    add(List.of("amd64-linux", "arm64-linux"), 7L, List.of("main"), Map.of());
    changes.receiveMessage();
    var pruned =
        targets.<StatusReply<Target>>runCommand(
            replyTo -> new Targets.Prune("amd64-linux-7", replyTo));
    assertEquals("amd64-linux-7", pruned.reply().getValue().name());
    assertInstanceOf(Targets.TargetPruned.class, pruned.event());
    assertEquals(new Targets.TargetsChanged("acme", Set.of("main"), 3), changes.receiveMessage());
    assertEquals(
        List.of("arm64-linux-7"), list("main").targets().stream().map(Target::name).toList());
    assertEquals(
        3,
        list("main").tagVersion(),
        "the tag's signed version grows (one step per added target, one for the prune)");

    var again =
        targets.<StatusReply<Target>>runCommand(
            replyTo -> new Targets.Prune("amd64-linux-7", replyTo));
    assertEquals(
        Rejection.Kind.NOT_FOUND, Rejection.of(again.reply().getError()).orElseThrow().kind());
    assertEquals(
        Rejection.Kind.CONFLICT,
        Rejection.of(add(List.of("amd64-linux"), 7L, List.of("main"), Map.of()).getError())
            .orElseThrow()
            .kind());

    targets.<StatusReply<Target>>runCommand(replyTo -> new Targets.Prune("arm64-linux-7", replyTo));
    assertTrue(list(null).targets().isEmpty());
    targets.restart();
    assertEquals(
        "amd64-linux-8",
        add(List.of("amd64-linux"), null, List.of("main"), Map.of()).getValue().get(0).name());
    assertTrue(add(List.of("arm64-linux"), 7L, List.of("main"), Map.of()).isError());
  }

  @Test
  void snapshotsFromBeforePruningStillRead() throws Exception {
    var serialization = org.apache.pekko.serialization.SerializationExtension.get(testKit.system());
    Targets.State current = new Targets.State(Map.of(), Map.of("main", 2L), 2, 0, Set.of());
    var serializer = serialization.findSerializerFor(current);
    String manifest = org.apache.pekko.serialization.Serializers.manifestFor(serializer, current);
    byte[] old =
        org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider.get(testKit.system())
            .getOrCreate("jackson-cbor", java.util.Optional.empty())
            .writeValueAsBytes(
                Map.of("targets", Map.of(), "tagVersions", Map.of("main", 2), "revision", 2));
    Targets.State read =
        (Targets.State) serialization.deserialize(old, serializer.identifier(), manifest).get();
    assertEquals(current, read);
  }
}
