package io.flotilla.core.projection;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.device.Device;
import io.flotilla.core.device.Device.Contact;
import io.flotilla.core.device.Device.UpdateEvent;
import io.flotilla.core.testing.TestDatabases;
import io.flotilla.core.testing.TestNode;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.projection.javadsl.ProjectionManagement;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * A projection rebuilt from the journal on a running node: its tables emptied, its offsets removed,
 * its events replayed, and the rows afterwards are the rows before.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class ProjectionRebuildTest {

  static final Duration PATIENCE = Duration.ofSeconds(60);

  @TempDir static Path dataDir;
  TestNode node;
  FlotillaCore core;

  abstract TestDatabases.Kind kind();

  @BeforeAll
  void startNode() throws Exception {
    node = TestNode.start(TestNode.config(TestDatabases.fresh(kind()), dataDir));
    core = node.core();
    eventually(
        PATIENCE,
        () ->
            this.<Device.Summary>send(
                "warm-up",
                r -> new Device.CheckIn(contact("warm-up", null, null, Instant.now()), r)));
  }

  @AfterAll
  void stopNode() {
    node.close();
  }

  <T> T await(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  <T> T send(String uuid, Function<ActorRef<StatusReply<T>>, Device.Command> command)
      throws Exception {
    return await(core.device(uuid).<T>askWithStatus(command::apply, core.askTimeout()));
  }

  static Contact contact(String factory, String tag, String target, Instant at) {
    return new Contact(factory, false, "0a", "PEM", tag, target, List.of("app"), at);
  }

  static UpdateEvent event(String id, String correlationId, String type, Boolean success) {
    return new UpdateEvent(
        id,
        "2026-11-27T10:00:00Z",
        type,
        2,
        correlationId,
        success,
        "amd64-linux-2",
        "2",
        "{\"x\":1}");
  }

  /** Every row of the devices projection's tables, each as text, sorted. */
  List<String> deviceRows() throws Exception {
    return node.database()
        .withConnection(
            connection -> {
              List<String> rows = new ArrayList<>();
              for (String table : ProjectionAdmin.TABLES.get("devices")) {
                try (PreparedStatement s = connection.prepareStatement("SELECT * FROM " + table);
                    ResultSet r = s.executeQuery()) {
                  ResultSetMetaData meta = r.getMetaData();
                  while (r.next()) {
                    StringBuilder row = new StringBuilder(table);
                    for (int i = 1; i <= meta.getColumnCount(); i++) {
                      row.append(" | ").append(meta.getColumnName(i).toLowerCase()).append('=');
                      Object value = r.getObject(i);
                      row.append(
                          value instanceof java.sql.Clob clob
                              ? clob.getSubString(1, (int) clob.length())
                              : value);
                    }
                    rows.add(row.toString());
                  }
                }
              }
              rows.sort(null);
              return rows;
            });
  }

  ProjectionAdmin.Progress caughtUp() throws Exception {
    return eventually(
        PATIENCE,
        () -> {
          ProjectionAdmin.Progress progress = await(core.projectionAdmin().progress("devices"));
          assertTrue(progress.caughtUp(), progress.toString());
          return progress;
        });
  }

  @Test
  void theDevicesProjectionRebuiltHoldsTheSameRows() throws Exception {
    String factory = "rb-" + UUID.randomUUID().toString().substring(0, 8);
    List<String> uuids = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      String uuid = UUID.randomUUID().toString();
      uuids.add(uuid);
      int n = i;
      this.<Device.Summary>send(
          uuid,
          r ->
              new Device.Register(
                  factory,
                  "dev-" + n,
                  "amd64-linux",
                  n % 2 == 0 ? "lab" : null,
                  "main",
                  false,
                  "0a",
                  "PEM",
                  Instant.now(),
                  r));
      this.<Device.Summary>send(
          uuid,
          r -> new Device.CheckIn(contact(factory, "main", "t-" + (n % 3), Instant.now()), r));
      this.<Device.Summary>send(
          uuid,
          r ->
              new Device.ReportUpdateEvents(
                  contact(factory, null, null, Instant.now()),
                  List.of(
                      event("e1-" + n, "u-" + n, "EcuDownloadStarted", null),
                      event("e2-" + n, "u-" + n, "EcuInstallationCompleted", n != 3)),
                  r));
      if (n % 3 == 0) {
        this.<Device.Summary>send(
            uuid,
            r ->
                new Device.Change(
                    factory,
                    null,
                    null,
                    Map.of("ring", "canary", "n", "" + n),
                    null,
                    Instant.now(),
                    r));
      }
    }
    this.<Done>send(uuids.get(7), r -> new Device.Decommission(factory, Instant.now(), r));
    caughtUp();
    List<String> before =
        eventually(
            PATIENCE,
            () -> {
              List<String> rows = deviceRows();
              assertTrue(
                  rows.stream().filter(row -> row.contains("decommissioned_at=2")).count() >= 1,
                  "the decommission is stored");
              assertTrue(rows.stream().anyMatch(row -> row.startsWith("device_labels")));
              return rows;
            });
    String stray = UUID.randomUUID().toString();
    node.database()
        .withConnection(
            connection -> {
              try (PreparedStatement s =
                  connection.prepareStatement(
                      "INSERT INTO device_status (uuid, factory, name, production, apps, created_at)"
                          + " VALUES (?, ?, 'stray', false, '[]', CURRENT_TIMESTAMP)")) {
                s.setString(1, stray);
                s.setString(2, factory);
                return s.executeUpdate();
              }
            });

    ProjectionAdmin.Progress started =
        await(core.projectionAdmin().rebuild("devices", ProjectionManagement.get(node.system())));
    assertEquals("devices", started.name());
    assertTrue(started.total() > 0, started.toString());
    assertEquals(4, started.keys().size(), "one key a slice");
    ProjectionAdmin.Progress done = caughtUp();
    assertEquals(done.total(), done.replayed());
    List<String> after =
        eventually(
            PATIENCE,
            () -> {
              List<String> rows = deviceRows();
              assertEquals(before, rows);
              return rows;
            });
    assertFalse(after.toString().contains(stray), "the tables were emptied first");

    this.<Device.Summary>send(
        uuids.get(0), r -> new Device.CheckIn(contact(factory, "main", "t-9", Instant.now()), r));
    eventually(
        PATIENCE,
        () -> {
          assertTrue(
              await(core.deviceQueries().device(factory, uuids.get(0)))
                  .orElseThrow()
                  .targetName()
                  .equals("t-9"));
          return null;
        });
  }

  @Test
  void onlyKnownProjectionsAreRebuildable() {
    assertTrue(core.projectionAdmin().rebuildable("devices"));
    assertTrue(core.projectionAdmin().rebuildable("targets"));
    assertFalse(core.projectionAdmin().rebuildable("nonsense"));
    assertFalse(core.projectionAdmin().rebuildable("builds"), "the builder does not run here");
  }
}

class ProjectionRebuildOnH2Test extends ProjectionRebuildTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.H2;
  }
}

class ProjectionRebuildOnPostgresTest extends ProjectionRebuildTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.POSTGRES;
  }
}
