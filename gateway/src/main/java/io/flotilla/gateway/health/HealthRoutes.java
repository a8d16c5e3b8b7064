package io.flotilla.gateway.health;

import static org.apache.pekko.http.javadsl.server.Directives.*;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.persistence.DatabaseHealth;
import io.flotilla.gateway.http.Errors;
import io.flotilla.gateway.http.JsonSupport;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code /health/alive} (the process answers) and {@code /health/ready}: member Up, bootstrap done, and the journal's
 * database answering ({@link DatabaseHealth}), so a load balancer stops sending to a node that could only answer 503.
 */
public final class HealthRoutes {

  private final FlotillaCore core;
  private final BooleanSupplier started;

  public HealthRoutes(FlotillaCore core, BooleanSupplier started) {
    this.core = core;
    this.started = started;
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
    DatabaseHealth.Status database = core.databaseHealth().status();
    if (!database.available()) {
      return Errors.error(
          StatusCodes.SERVICE_UNAVAILABLE, "not_ready", "the database is unavailable since " + database.since() + ": " + database.problem());
    }
    return complete(StatusCodes.OK, Map.of("status", "ready"), JsonSupport.marshaller());
  }
}
