package io.flotilla.gateway.health;

import static org.apache.pekko.http.javadsl.server.Directives.*;

import io.flotilla.core.FlotillaCore;
import io.flotilla.gateway.http.Errors;
import io.flotilla.gateway.http.JsonSupport;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.PersistenceQuery;

/** {@code /health/alive} (the process answers) and {@code /health/ready} (member Up, bootstrap done, journal answers). */
public final class HealthRoutes {

  private final FlotillaCore core;
  private final BooleanSupplier started;
  private final JdbcReadJournal readJournal;

  public HealthRoutes(FlotillaCore core, BooleanSupplier started) {
    this.core = core;
    this.started = started;
    this.readJournal = PersistenceQuery.get(core.system()).getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
  }

  public Route route() {
    return pathPrefix(
        "health",
        () ->
            concat(
                path("alive", () -> get(() -> complete(StatusCodes.OK, Map.of("status", "alive"), JsonSupport.marshaller()))),
                path("ready", () -> get(this::ready))));
  }

  private Route ready() {
    if (!started.getAsBoolean()) {
      return Errors.error(StatusCodes.SERVICE_UNAVAILABLE, "not_ready", "the node is starting");
    }
    if (Cluster.get(core.system()).selfMember().status() != MemberStatus.up()) {
      return Errors.error(StatusCodes.SERVICE_UNAVAILABLE, "not_ready", "the node is not an Up cluster member");
    }
    return onComplete(
        journalAnswers(),
        result ->
            result.isSuccess()
                ? complete(StatusCodes.OK, Map.of("status", "ready"), JsonSupport.marshaller())
                : Errors.error(StatusCodes.SERVICE_UNAVAILABLE, "not_ready", "the journal does not answer: " + result.failed().get().getMessage()));
  }

  private CompletionStage<?> journalAnswers() {
    return readJournal
        .currentLastSequenceNumberByPersistenceId("AdminTokens|admin")
        .toCompletableFuture()
        .orTimeout(core.askTimeout().toMillis(), TimeUnit.MILLISECONDS);
  }
}
