package io.flotilla.gateway.health;

import static org.apache.pekko.http.javadsl.server.Directives.*;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.persistence.DatabaseHealth;
import io.flotilla.core.projection.ProjectionHealth;
import io.flotilla.gateway.cluster.ClusterView;
import io.flotilla.gateway.http.Errors;
import io.flotilla.gateway.http.JsonSupport;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code /health/alive} (also {@code /health/live}: the process answers, with what it sees of its
 * cluster) and {@code /health/ready}: bootstrap done, an Up member that reaches a majority of the
 * cluster ({@link ClusterView}), and the journal's database answering ({@link DatabaseHealth}), so
 * a load balancer stops sending to a node that could only answer 503. A projection stuck on an
 * event makes it answer 200 {@code "degraded"} with the projection named: the read side lags on
 * every node alike, and taking nodes out of service would turn a stale list into an outage.
 */
public final class HealthRoutes {

  private final FlotillaCore core;
  private final BooleanSupplier started;
  private final ClusterView cluster;

  public HealthRoutes(FlotillaCore core, BooleanSupplier started) {
    this.core = core;
    this.started = started;
    this.cluster = new ClusterView(core.system());
  }

  public Route route() {
    return pathPrefix(
        "health",
        () ->
            concat(
                path("alive", () -> get(() -> answer("alive", Map.of()))),
                path("live", () -> get(() -> answer("alive", Map.of()))),
                path("ready", () -> get(this::ready))));
  }

  private Route ready() {
    if (!started.getAsBoolean()) {
      return Errors.error(
          StatusCodes.SERVICE_UNAVAILABLE,
          "not_ready",
          "the node is starting, or draining before it stops");
    }
    Optional<String> unroutable = cluster.notRoutable();
    if (unroutable.isPresent()) {
      return Errors.error(StatusCodes.SERVICE_UNAVAILABLE, "not_ready", unroutable.get());
    }
    DatabaseHealth.Status database = core.databaseHealth().status();
    if (!database.available()) {
      return Errors.error(
          StatusCodes.SERVICE_UNAVAILABLE,
          "not_ready",
          "the database is unavailable since " + database.since() + ": " + database.problem());
    }
    List<String> stuck =
        ProjectionHealth.get(core.system()).statuses().stream()
            .filter(p -> p.stuck().isPresent())
            .map(HealthRoutes::describe)
            .toList();
    if (!stuck.isEmpty()) {
      return answer("degraded", Map.of("stuckProjections", stuck));
    }
    return answer("ready", Map.of());
  }

  private Route answer(String status, Map<String, Object> details) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("status", status);
    body.putAll(details);
    body.put("cluster", cluster.describe());
    return complete(StatusCodes.OK, body, JsonSupport.marshaller());
  }

  private static String describe(ProjectionHealth.Status status) {
    ProjectionHealth.Stuck stuck = status.stuck().orElseThrow();
    String event =
        stuck.persistenceId() == null
            ? "a group of events"
            : "event " + stuck.persistenceId() + " #" + stuck.sequenceNr();
    return status.name()
        + "/"
        + status.key()
        + " cannot store "
        + event
        + " since "
        + stuck.since()
        + ": "
        + stuck.error();
  }
}
