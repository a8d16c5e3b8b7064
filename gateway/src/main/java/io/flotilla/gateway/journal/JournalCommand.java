package io.flotilla.gateway.journal;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.flotilla.core.journal.JournalReader;
import io.flotilla.core.persistence.Database;
import io.flotilla.gateway.Main;
import io.flotilla.gateway.NodeConfig;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.stream.javadsl.Sink;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code flotilla journal <entityType> <id>}: prints an entity's events straight from the database,
 * with no server running. The embedded H2 file is locked by a running server; then use {@code GET
 * /api/v1/journal/<entityType>/<id>} instead (on PostgreSQL both work at once).
 */
@Command(
    name = "journal",
    mixinStandardHelpOptions = true,
    description = "Print an entity's journal as JSON lines.")
public final class JournalCommand implements Callable<Integer> {

  @CommandLine.Mixin Main.NodeOptions node = new Main.NodeOptions();

  @Parameters(
      index = "0",
      description = "Entity type: ${COMPLETION-CANDIDATES}",
      paramLabel = "ENTITY_TYPE")
  String entityType;

  @Parameters(
      index = "1",
      description = "Entity id, e.g. a factory name or <factory>/<app>.",
      paramLabel = "ID")
  String entityId;

  @Option(names = "--from", description = "First sequence number (default 1).", defaultValue = "1")
  long from;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    Optional<String> persistenceId = JournalReader.persistenceId(entityType, entityId);
    if (persistenceId.isEmpty()) {
      spec.commandLine()
          .getErr()
          .println(
              "flotilla journal: unknown entity type '"
                  + entityType
                  + "'; known: "
                  + JournalReader.ENTITY_TYPES);
      return 2;
    }
    Config nodeConfig =
        NodeConfig.load(node.config, node.dataDir, null, null, ConfigFactory.empty());
    String unreachable = databaseProblem(nodeConfig);
    if (unreachable != null) {
      spec.commandLine().getErr().println("flotilla journal: " + unreachable);
      return 4;
    }
    // A reader joins no cluster and starts no entity: it only reads the journal tables.
    Config config =
        ConfigFactory.parseMap(
                Map.of(
                    "pekko.actor.provider", "local",
                    "pekko.loglevel", "WARNING",
                    "pekko-persistence-jdbc.shared-databases.slick.db.connectionTimeout", "10s"))
            .withFallback(nodeConfig);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "flotilla-journal", config);
    try {
      JournalReader reader = new JournalReader(system);
      long count =
          reader
              .events(persistenceId.get(), from)
              .runWith(
                  Sink.fold(
                      0L,
                      (n, entry) -> {
                        System.out.print(reader.toJsonLine(entry));
                        return n + 1;
                      }),
                  system)
              .toCompletableFuture()
              .get(5, TimeUnit.MINUTES);
      if (count == 0) {
        spec.commandLine()
            .getErr()
            .println("flotilla journal: no events for " + persistenceId.get());
        return 3;
      }
      return 0;
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * Null when the database answers; otherwise what an operator should know, most often that a
   * server holds H2.
   */
  private static String databaseProblem(Config config) {
    // The pool logs a failed start with a stack trace; the one-line answer below is what an
    // operator needs.
    ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("com.zaxxer.hikari"))
        .setLevel(ch.qos.logback.classic.Level.OFF);
    try (Database database = Database.open(config, java.time.Duration.ofSeconds(1))) {
      return null;
    } catch (RuntimeException e) {
      String message = String.valueOf(e.getMessage());
      if (message.contains("already in use") || message.contains("locked")) {
        return "the embedded database is in use by a running server; read the journal over HTTP instead: "
            + "GET /api/v1/journal/<entityType>/<id> with the admin token";
      }
      return "cannot open the database: " + message;
    }
  }
}
