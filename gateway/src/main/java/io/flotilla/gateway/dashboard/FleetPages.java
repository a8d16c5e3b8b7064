package io.flotilla.gateway.dashboard;

import static org.apache.pekko.http.javadsl.server.Directives.*;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.auth.Scope;
import io.flotilla.core.device.DeviceQueries;
import io.flotilla.gateway.http.JsonSupport;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The fleet page: counts in total, per tag and per target, and the activity charts, kept live by an
 * event stream that sends the counts (as the page's own markup) and the chart series every {@link
 * DashboardRoutes#TICK}. A stream re-checks its session and token on every tick and ends when
 * either is gone. Streams of one factory share one count query per tick ({@link #counts}).
 */
final class FleetPages {

  private record Cached(Instant at, CompletionStage<DeviceQueries.FleetBreakdown> counts) {}

  private final DashboardRoutes dashboard;
  private final FlotillaCore core;
  private final ConcurrentHashMap<String, Cached> cache = new ConcurrentHashMap<>();

  FleetPages(DashboardRoutes dashboard, FlotillaCore core) {
    this.dashboard = dashboard;
    this.core = core;
  }

  Route route(String factory) {
    return pathPrefix(
        "fleet",
        () ->
            concat(
                pathEndOrSingleSlash(
                    () ->
                        dashboard.viewed(
                            factory, Scope.DEVICES_READ, caller -> page(factory, caller))),
                path(
                    "events",
                    () ->
                        dashboard.viewed(
                            factory, Scope.DEVICES_READ, caller -> events(factory, caller)))));
  }

  private Route page(String factory, DashboardRoutes.Caller caller) {
    Pages.Viewer viewer = dashboard.viewer(caller, factory);
    return DashboardRoutes.done(
        counts(factory),
        viewer,
        counts ->
            DashboardRoutes.page(
                "Fleet",
                viewer,
                "Fleet",
                Html.of(
                    """
                    <div id="fleet" data-events="/factories/%s/fleet/events">
                    <p class="live" role="status" aria-live="polite" id="live">Live updates: connecting…</p>
                    <div id="counts">%s</div>
                    <section aria-labelledby="activity-h">
                    <h2 id="activity-h">Activity, last hour (since this node started)</h2>
                    <figure>
                    <figcaption>Check-ins per minute: <span id="checkins-now">0</span> in the last minute, <span id="checkins-hour">0</span> in the hour.</figcaption>
                    <div class="chart" id="checkins-chart" role="img" aria-label="Check-ins per minute over the last hour"></div>
                    </figure>
                    <figure>
                    <figcaption>Failed updates per minute: <span id="failures-now">0</span> in the last minute, <span id="failures-hour">0</span> in the hour.</figcaption>
                    <div class="chart" id="failures-chart" role="img" aria-label="Failed updates per minute over the last hour"></div>
                    </figure>
                    </section>
                    </div>
                    """,
                    new Html(Html.query(factory)), countsMarkup(factory, counts))));
  }

  /** The counts section: the totals, then a table per tag and per target. */
  static Html countsMarkup(String factory, DeviceQueries.FleetBreakdown counts) {
    DeviceQueries.StatusCounts t = counts.total();
    String devices = "/factories/" + Html.query(factory) + "/devices";
    Html totals =
        Html.of(
            """
            <ul class="totals" aria-label="Fleet totals">
            <li><span class="n" id="total-devices">%s</span> devices</li>
            <li><a href="%s?status=online"><span class="n" id="total-online">%s</span> online</a></li>
            <li><a href="%s?status=offline"><span class="n" id="total-offline">%s</span> offline</a></li>
            <li><span class="n" id="total-uptodate">%s</span> up to date</li>
            <li><a href="%s?status=updating"><span class="n" id="total-updating">%s</span> updating</a></li>
            <li><a href="%s?status=failed"><span class="n" id="total-failed">%s</span> failed</a></li>
            </ul>
            """,
            t.devices(),
            new Html(devices),
            t.online(),
            new Html(devices),
            t.offline(),
            t.upToDate(),
            new Html(devices),
            t.updating(),
            new Html(devices),
            t.failed());
    return totals
        .plus(table("By tag", "tag", devices, counts.byTag()))
        .plus(table("By target", "target", devices, counts.byTarget()));
  }

  private static Html table(
      String caption, String param, String devices, Map<String, DeviceQueries.StatusCounts> rows) {
    List<Html> body = new ArrayList<>();
    rows.forEach(
        (key, c) ->
            body.add(
                Html.of(
                    "<tr><th scope=\"row\">%s</th><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>",
                    key.isEmpty()
                        ? Html.of("<span class=\"none\">(none)</span>")
                        : Html.of(
                            "<a href=\"%s?%s=%s\">%s</a>",
                            new Html(devices), new Html(param), new Html(Html.query(key)), key),
                    c.devices(),
                    c.online(),
                    c.offline(),
                    c.upToDate(),
                    c.updating(),
                    c.failed())));
    return Html.of(
        """
        <div class="scroll"><table>
        <caption>%s</caption>
        <thead><tr><th scope="col">%s</th><th scope="col">Devices</th><th scope="col">Online</th><th scope="col">Offline</th><th scope="col">Up to date</th><th scope="col">Updating</th><th scope="col">Failed</th></tr></thead>
        <tbody>%s</tbody>
        </table></div>
        """,
        caption,
        param.equals("tag") ? "Tag" : "Target",
        body.isEmpty()
            ? Html.of("<tr><td colspan=\"7\">No devices yet.</td></tr>")
            : Html.join(body));
  }

  /** One count query per factory and tick, whoever asks. */
  CompletionStage<DeviceQueries.FleetBreakdown> counts(String factory) {
    Instant now = Instant.now();
    return cache
        .compute(
            factory,
            (f, cached) ->
                cached != null
                        && cached.at().plus(DashboardRoutes.TICK.dividedBy(2)).isAfter(now)
                        && !cached.counts().toCompletableFuture().isCompletedExceptionally()
                    ? cached
                    : new Cached(
                        now,
                        core.deviceQueries()
                            .breakdown(factory, now.minus(DashboardRoutes.onlineWindow(core)))))
        .counts();
  }

  private Route events(String factory, DashboardRoutes.Caller caller) {
    return dashboard.liveEvents(
        factory,
        Scope.DEVICES_READ,
        caller,
        () ->
            counts(factory)
                .thenApply(
                    counts ->
                        new DashboardRoutes.Tick(
                            true,
                            List.of(
                                ServerSentEvent.create(
                                    countsMarkup(factory, counts).markup(), "counts"),
                                ServerSentEvent.create(activity(factory), "activity"))))
                .exceptionally(
                    failure ->
                        new DashboardRoutes.Tick(
                            true,
                            List.of(
                                ServerSentEvent.create(
                                    "the counts are not available right now", "unavailable")))));
  }

  private String activity(String factory) {
    FleetActivity.Series series = dashboard.activity.series(factory);
    try {
      return JsonSupport.MAPPER.writeValueAsString(
          Map.of(
              "minutes", series.minutes(),
              "checkIns", series.checkIns(),
              "failures", series.failures()));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("arrays of numbers always serialize", e);
    }
  }
}
