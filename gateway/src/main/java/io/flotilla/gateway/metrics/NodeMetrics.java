package io.flotilla.gateway.metrics;

import static org.apache.pekko.http.javadsl.server.Directives.*;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.persistence.JournalWrites;
import io.flotilla.core.projection.ProjectionHealth;
import io.flotilla.gateway.tls.TlsHandshakes;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpRequest;
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

  private final Counter deviceEvents =
      Counter.builder("flotilla.device.events")
          .description("update events devices posted (POST /events) that were stored")
          .register(registry);

  private final TlsHandshakes tlsHandshakes = new TlsHandshakes();

  public NodeMetrics() {
    for (String kind : java.util.List.of("full", "resumed")) {
      FunctionCounter.builder(
              "flotilla.device.tls.handshakes",
              tlsHandshakes,
              h -> kind.equals("full") ? h.full() : h.resumed())
          .description(
              "device connections (with a client certificate) by how their TLS session began")
          .tag("kind", kind)
          .register(registry);
    }
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
  }

  /** Where the device port's TLS layer counts its handshakes. */
  public TlsHandshakes tlsHandshakes() {
    return tlsHandshakes;
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** Counts the update events the device port stored. */
  public Counter deviceEvents() {
    return deviceEvents;
  }

  /**
   * The device port's requests, timed per kind ({@code checkin} is {@code GET /repo/targets.json},
   * fioup's poll) and outcome.
   */
  public Route deviceRequests(Supplier<Route> inner) {
    return HttpMetrics.timed(
        registry,
        "flotilla.device.requests",
        "device port requests by kind (checkin = GET /repo/targets.json) and outcome",
        NodeMetrics::deviceRequestKind,
        inner);
  }

  /** The registry's requests by method and outcome, and the body bytes in and out. */
  public Route registryRequests(Supplier<Route> inner) {
    return HttpMetrics.counted(registry, "flotilla.registry", "v2", inner);
  }

  static String deviceRequestKind(HttpRequest request) {
    String path = request.getUri().path();
    if (path.equals("/repo/targets.json")) {
      return "checkin";
    }
    if (path.startsWith("/repo/")) {
      return "tuf";
    }
    if (path.startsWith("/system_info")) {
      return "system-info";
    }
    return switch (path) {
      case "/device" -> "device";
      case "/events" -> "events";
      case "/apps-states" -> "apps-states";
      case "/config" -> "config";
      case "/ws" -> "websocket";
      default -> path.startsWith("/hub-creds") ? "hub-creds" : "other";
    };
  }

  /**
   * The database probe and every projection registered so far (call after all projections have
   * started).
   */
  public void bind(FlotillaCore core) {
    Cluster cluster = Cluster.get(core.system());
    for (MemberStatus status :
        java.util.List.of(
            MemberStatus.up(),
            MemberStatus.joining(),
            MemberStatus.leaving(),
            MemberStatus.exiting(),
            MemberStatus.weaklyUp(),
            MemberStatus.down())) {
      Gauge.builder("flotilla.cluster.members", cluster, c -> countMembers(c.state(), status))
          .description("cluster members by status, as this node sees them")
          .tag("status", status.toString().toLowerCase(java.util.Locale.ROOT))
          .register(registry);
    }
    Gauge.builder("flotilla.cluster.unreachable", cluster, c -> c.state().getUnreachable().size())
        .description("members this node's failure detector marks unreachable")
        .register(registry);
    Timer stored = journalWrites("stored");
    Timer failed = journalWrites("failed");
    JournalWrites.get(core.system())
        .listen((writes, nanos, ok) -> (ok ? stored : failed).record(nanos, TimeUnit.NANOSECONDS));
    ReadSideGauges gauges = new ReadSideGauges(core, registry);
    gauges.start(
        core.system().settings().config().getDuration("flotilla.metrics.refresh-interval"));
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

  private Timer journalWrites(String outcome) {
    return Timer.builder("flotilla.journal.write")
        .description(
            "the journal's batch writes (each one transaction holding the persists that waited),"
                + " from the journal taking the batch to the commit")
        .tag("outcome", outcome)
        .publishPercentileHistogram()
        .minimumExpectedValue(java.time.Duration.ofMillis(1))
        .maximumExpectedValue(java.time.Duration.ofSeconds(30))
        .register(registry);
  }

  private static long countMembers(ClusterEvent.CurrentClusterState state, MemberStatus status) {
    long n = 0;
    for (var member : state.getMembers()) {
      if (member.status().equals(status)) {
        n++;
      }
    }
    return n;
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
