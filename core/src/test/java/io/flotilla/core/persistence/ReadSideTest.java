package io.flotilla.core.persistence;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.app.AppQueries;
import io.flotilla.core.auth.ApiToken;
import io.flotilla.core.factory.Factory;
import io.flotilla.core.factory.FactoryQueries;
import io.flotilla.core.journal.JournalReader;
import io.flotilla.core.target.Target;
import io.flotilla.core.target.Targets;
import io.flotilla.core.testing.TestDatabases;
import io.flotilla.core.testing.TestNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.query.Sequence;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Entities through sharding on a real database: journal, projections into the read side, replay,
 * cache.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class ReadSideTest {

  static final Duration PATIENCE = Duration.ofSeconds(20);
  static final String URI = "hub.local/acme/shellhttpd@sha256:" + "12".repeat(32);

  @TempDir static Path dataDir;
  TestNode node;
  FlotillaCore core;

  abstract TestDatabases.Kind kind();

  @BeforeAll
  void startNode() {
    node = TestNode.start(TestNode.config(TestDatabases.fresh(kind()), dataDir));
    core = node.core();
  }

  @AfterAll
  void stopNode() {
    node.close();
  }

  <T> T await(java.util.concurrent.CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(15, TimeUnit.SECONDS);
  }

  void createFactory(String name) throws Exception {
    await(
        core.factory(name)
            .<Factory.Summary>askWithStatus(
                replyTo -> new Factory.Create(List.of("amd64-linux", "arm64-linux"), replyTo),
                core.askTimeout()));
  }

  @Test
  void projectsFactoriesTokensAppsAndTargets() throws Exception {
    createFactory("acme");
    ApiToken token = ApiToken.newFactoryToken("acme");
    await(
        core.factory("acme")
            .<Factory.TokenInfo>askWithStatus(
                replyTo ->
                    new Factory.CreateToken(
                        token.id(), "ci", List.of("targets:read"), token.secretHash(), replyTo),
                core.askTimeout()));
    await(
        core.factory("acme")
            .<Done>askWithStatus(
                replyTo -> new Factory.RevokeToken(token.id(), replyTo), core.askTimeout()));
    await(
        core.targets("acme")
            .<Targets.Added>askWithStatus(
                replyTo ->
                    new Targets.Add(
                        List.of("amd64-linux", "arm64-linux"),
                        5L,
                        List.of("main"),
                        Map.of("shellhttpd", URI),
                        "abcdef1",
                        replyTo),
                core.askTimeout()));
    await(
        core.targets("acme")
            .<Target>askWithStatus(
                replyTo -> new Targets.SetTags("arm64-linux-5", List.of("beta"), replyTo),
                core.askTimeout()));
    await(
        core.app("acme", "shellhttpd")
            .<io.flotilla.core.app.App.Version>askWithStatus(
                replyTo -> new io.flotilla.core.app.App.Publish(URI, "abcdef1", 5, replyTo),
                core.askTimeout()));

    eventually(
        PATIENCE,
        () -> {
          List<FactoryQueries.FactoryRow> factories = await(core.factoryQueries().factories());
          assertEquals(
              List.of("amd64-linux", "arm64-linux"),
              factories.stream()
                  .filter(f -> f.name().equals("acme"))
                  .findFirst()
                  .orElseThrow()
                  .platforms());
          List<FactoryQueries.TokenRow> tokens = await(core.factoryQueries().tokens("acme"));
          assertEquals(1, tokens.size());
          assertNotNull(tokens.get(0).revokedAt());
          return null;
        });
    eventually(
        PATIENCE,
        () -> {
          assertEquals(
              List.of("amd64-linux-5"),
              await(core.targetQueries().targets("acme", "main")).stream()
                  .map(Target::name)
                  .toList());
          assertEquals(
              List.of("arm64-linux-5"),
              await(core.targetQueries().targets("acme", "beta")).stream()
                  .map(Target::name)
                  .toList());
          Target stored = await(core.targetQueries().targets("acme", null)).get(0);
          assertEquals(Map.of("shellhttpd", URI), stored.apps());
          assertEquals("abcdef1", stored.containersSha());
          List<AppQueries.AppRow> apps = await(core.appQueries().apps("acme"));
          assertEquals("shellhttpd", apps.get(0).name());
          assertEquals(5, apps.get(0).versions().get(0).buildNumber());
          return null;
        });
  }

  @Test
  void journalReplayListsEventsInOrderFromASequenceNumber() throws Exception {
    createFactory("replay");
    for (String branch : List.of("a", "b", "c")) {
      await(
          core.factory("replay")
              .<Factory.Summary>askWithStatus(
                  replyTo -> new Factory.SetBranchTag(branch, "t-" + branch, replyTo),
                  core.askTimeout()));
    }
    JournalReader reader = core.journalReader();
    List<JournalReader.Entry> all =
        await(reader.events("Factory|replay", 1).runWith(Sink.seq(), node.system()));
    assertEquals(
        List.of(1L, 2L, 3L, 4L), all.stream().map(JournalReader.Entry::sequenceNr).toList());
    assertEquals(
        List.of("Created", "BranchTagSet", "BranchTagSet", "BranchTagSet"),
        all.stream().map(JournalReader.Entry::type).toList());
    assertEquals("t-c", all.get(3).event().get("tag").asText());
    assertTrue(reader.toJsonLine(all.get(0)).endsWith("\n"));
    List<JournalReader.Entry> tail =
        await(reader.events("Factory|replay", 3).runWith(Sink.seq(), node.system()));
    assertEquals(List.of(3L, 4L), tail.stream().map(JournalReader.Entry::sequenceNr).toList());
  }

  @Test
  void eventsByTagReadsTheTagsEventsAfterAnOffsetInJournalOrder() throws Exception {
    PersistenceQuery query = PersistenceQuery.get(node.system());
    assertInstanceOf(
        TagRangeReadJournalDao.class,
        query
            .<org.apache.pekko.persistence.jdbc.query.scaladsl.JdbcReadJournal>readJournalFor(
                JdbcReadJournal.Identifier())
            .readJournalDao());
    JdbcReadJournal readJournal =
        query.getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    for (String name : List.of("tagged-a", "tagged-b", "tagged-c")) {
      createFactory(name);
      await(
          core.targets(name)
              .<Targets.Added>askWithStatus(
                  replyTo ->
                      new Targets.Add(
                          List.of("amd64-linux"), null, List.of("main"), Map.of(), null, replyTo),
                  core.askTimeout()));
    }
    List<EventEnvelope> all =
        await(
            readJournal
                .currentEventsByTag(Factory.TAG, Offset.noOffset())
                .runWith(Sink.seq(), node.system()));
    List<String> created =
        all.stream()
            .map(EventEnvelope::persistenceId)
            .filter(id -> id.startsWith("Factory|tagged-"))
            .toList();
    assertEquals(List.of("Factory|tagged-a", "Factory|tagged-b", "Factory|tagged-c"), created);
    assertTrue(
        all.stream().allMatch(envelope -> envelope.persistenceId().startsWith("Factory|")),
        "only the tag's events");
    List<Long> offsets =
        all.stream().map(envelope -> ((Sequence) envelope.offset()).value()).toList();
    assertEquals(
        offsets.stream().sorted().distinct().toList(), offsets, "journal order, each event once");

    EventEnvelope first =
        all.stream()
            .filter(envelope -> envelope.persistenceId().equals("Factory|tagged-a"))
            .findFirst()
            .orElseThrow();
    List<EventEnvelope> after =
        await(
            readJournal
                .currentEventsByTag(Factory.TAG, first.offset())
                .runWith(Sink.seq(), node.system()));
    assertEquals(
        all.subList(all.indexOf(first) + 1, all.size()).stream()
            .map(EventEnvelope::offset)
            .toList(),
        after.stream().map(EventEnvelope::offset).toList());
    assertInstanceOf(Factory.Created.class, after.get(0).event());
  }

  @Test
  void prunedTargetsLeaveTheReadSideAndTheCacheAndTheirVersionsStayUsed() throws Exception {
    createFactory("pruned");
    for (int i = 0; i < 2; i++) {
      await(
          core.targets("pruned")
              .<Targets.Added>askWithStatus(
                  replyTo ->
                      new Targets.Add(
                          List.of("amd64-linux"), null, List.of("main"), Map.of(), null, replyTo),
                  core.askTimeout()));
    }
    Targets.TargetList before = await(core.targetsCache().forTag("pruned", "main"));
    await(
        core.targets("pruned")
            .<Target>askWithStatus(
                replyTo -> new Targets.Prune("amd64-linux-2", replyTo), core.askTimeout()));
    eventually(
        PATIENCE,
        () -> {
          assertEquals(
              List.of("amd64-linux-1"),
              await(core.targetQueries().targets("pruned", null)).stream()
                  .map(Target::name)
                  .toList());
          Targets.TargetList served = await(core.targetsCache().forTag("pruned", "main"));
          assertEquals(
              List.of("amd64-linux-1"), served.targets().stream().map(Target::name).toList());
          assertTrue(served.tagVersion() > before.tagVersion());
          return null;
        });
    Targets.Added next =
        await(
            core.targets("pruned")
                .<Targets.Added>askWithStatus(
                    replyTo ->
                        new Targets.Add(
                            List.of("amd64-linux"), null, List.of("main"), Map.of(), null, replyTo),
                    core.askTimeout()));
    assertEquals("amd64-linux-3", next.targets().get(0).name());
  }

  @Test
  void targetsCacheFollowsChangesMadeThroughTheEntity() throws Exception {
    createFactory("cached");
    Targets.TargetList empty = await(core.targetsCache().forTag("cached", "main"));
    assertEquals(0, empty.targets().size());
    await(
        core.targets("cached")
            .<Targets.Added>askWithStatus(
                replyTo ->
                    new Targets.Add(
                        List.of("amd64-linux"), null, List.of("main"), Map.of(), null, replyTo),
                core.askTimeout()));
    eventually(
        PATIENCE,
        () -> {
          Targets.TargetList list = await(core.targetsCache().forTag("cached", "main"));
          assertEquals(
              List.of("amd64-linux-1"), list.targets().stream().map(Target::name).toList());
          assertEquals(1, list.tagVersion());
          return null;
        });
  }
}

class ReadSideOnH2Test extends ReadSideTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.H2;
  }
}

class ReadSideOnPostgresTest extends ReadSideTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.POSTGRES;
  }
}
