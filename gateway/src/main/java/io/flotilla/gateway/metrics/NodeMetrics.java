package io.flotilla.gateway.metrics;

import static org.apache.pekko.http.javadsl.server.Directives.*;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.projection.ProjectionHealth;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.charset.StandardCharsets;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The node's one {@link MeterRegistry}, created by {@code FlotillaServer} and handed to whoever
 * records metrics, and {@code GET /metrics} in the Prometheus text format on the API port. It
 * carries no tenant data and needs no token, as Prometheus scrapes expect.
 */
public final class NodeMetrics {

  private static final ContentType PROMETHEUS_TEXT =
      ContentTypes.parse("text/plain; version=0.0.4; charset=utf-8");

  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

  public MeterRegistry registry() {
    return registry;
  }

  /**
   * The database probe and every projection registered so far (call after all projections have
   * started).
   */
  public void bind(FlotillaCore core) {
    Gauge.builder(
            "flotilla.database.available",
            core.databaseHealth(),
            health -> health.available() ? 1 : 0)
        .description("1 while the journal's database answers the node's probe")
        .register(registry);
    ProjectionHealth projections = ProjectionHealth.get(core.system());
    for (ProjectionHealth.Status status : projections.statuses()) {
      ProjectionHealth.Tracker tracker =
          projections.tracker(status.name(), status.key()).orElseThrow();
      Gauge.builder("flotilla.projection.stuck", tracker, t -> t.isStuck() ? 1 : 0)
          .description(
              "1 while the projection cannot store an event (it retries; see bin/flotilla projections)")
          .tag("projection", status.name())
          .tag("key", status.key())
          .register(registry);
      FunctionCounter.builder("flotilla.projection.errors", tracker, t -> t.status().errors())
          .description(
              "events the projection failed to store, retries included (database outages not counted)")
          .tag("projection", status.name())
          .tag("key", status.key())
          .register(registry);
    }
  }

  public Route route() {
    return path(
        "metrics",
        () ->
            get(
                () ->
                    complete(
                        HttpResponse.create()
                            .withEntity(
                                HttpEntities.create(
                                    PROMETHEUS_TEXT,
                                    registry.scrape().getBytes(StandardCharsets.UTF_8))))));
  }
}
