package io.flotilla.gateway.dashboard;

import static org.apache.pekko.http.javadsl.server.Directives.*;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.core.FlotillaCore;
import io.flotilla.core.Limits;
import io.flotilla.core.auth.Scope;
import io.flotilla.core.rollout.Gate;
import io.flotilla.core.rollout.RolloutPlan;
import io.flotilla.core.rollout.RolloutQueries;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The rollouts of a factory and a rollout's page: its phases with their progress, its conditions,
 * its audit trail and the pause, resume and cancel forms. The rollout and its trail are the API's
 * answers ({@code GET .../rollouts/{id}} and {@code .../events}); the page keeps them live with an
 * event stream that sends each section's markup every {@link DashboardRoutes#TICK}. Streams of one
 * rollout share one pair of reads per tick ({@link #shared}).
 */
final class RolloutPages {

  private static final Set<String> ACTIONS = Set.of("pause", "resume", "cancel");
  private static final Set<String> FINISHED = Set.of("halted", "canceled", "completed");

  private record Cached(Instant at, CompletionStage<List<ApiClient.Answer>> answers) {}

  private final DashboardRoutes dashboard;
  private final FlotillaCore core;
  private final ConcurrentHashMap<String, Cached> cache = new ConcurrentHashMap<>();

  RolloutPages(DashboardRoutes dashboard, FlotillaCore core) {
    this.dashboard = dashboard;
    this.core = core;
  }

  Route route(String factory) {
    return pathPrefix(
        "rollouts",
        () ->
            concat(
                pathEndOrSingleSlash(
                    () ->
                        dashboard.viewed(
                            factory,
                            Scope.TARGETS_READ,
                            caller ->
                                parameterOptional(
                                    "after",
                                    after -> listPage(factory, after.orElse(null), caller)))),
                pathPrefix(
                    segment(),
                    id -> {
                      if (!Limits.ROLLOUT_ID.matcher(id).matches()) {
                        return DashboardRoutes.error(
                            StatusCodes.NOT_FOUND, null, "There is no rollout of that name.");
                      }
                      return concat(
                          pathEndOrSingleSlash(
                              () ->
                                  dashboard.viewed(
                                      factory,
                                      Scope.TARGETS_READ,
                                      caller -> rolloutPage(factory, id, caller))),
                          path(
                              "events",
                              () ->
                                  dashboard.viewed(
                                      factory,
                                      Scope.TARGETS_READ,
                                      caller -> events(factory, id, caller))),
                          path(
                              segment(),
                              action ->
                                  ACTIONS.contains(action)
                                      ? dashboard.posted(
                                          factory,
                                          Scope.TARGETS_WRITE,
                                          (caller, fields) -> act(factory, id, action, caller))
                                      : reject()));
                    })));
  }

  private static String api(String factory, String id) {
    return "/api/v1/factories/" + factory + "/rollouts/" + id;
  }

  private static final int LIST_PAGE = 100;

  private static String base(String factory) {
    return "/factories/" + Html.query(factory) + "/rollouts";
  }

  // ---- the list -------------------------------------------------------------------------------

  /**
   * From the read side the API's list reads ({@link RolloutQueries#rollouts}), whose rows also hold
   * the phases' names that the list answer leaves out; in the API's order (as created) and pages,
   * {@code after} being the last rollout of the page before.
   */
  private Route listPage(String factory, String after, DashboardRoutes.Caller caller) {
    Pages.Viewer viewer = dashboard.viewer(caller, factory);
    if (after != null && !Limits.ROLLOUT_ID.matcher(after).matches()) {
      return DashboardRoutes.error(
          StatusCodes.BAD_REQUEST, viewer, "after must name a rollout of this factory.");
    }
    return DashboardRoutes.done(
        core.rolloutQueries().rollouts(factory, LIST_PAGE, after),
        viewer,
        page -> {
          List<Html> body = new ArrayList<>();
          for (RolloutQueries.RolloutRow r : page.rollouts()) {
            body.add(
                Html.of(
                    "<tr><th scope=\"row\"><a href=\"%s/%s\">%s</a></th><td>%s</td><td>version %s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>",
                    new Html(base(factory)),
                    new Html(Html.query(r.id())),
                    r.id(),
                    r.tag(),
                    r.version(),
                    r.status(),
                    currentPhase(r.gate()),
                    r.createdBy(),
                    Html.time(r.createdAt())));
          }
          return DashboardRoutes.page(
              "Rollouts",
              viewer,
              "Rollouts",
              Html.of(
                  """
                  <div class="scroll"><table><caption>Rollouts of this factory, as created</caption>
                  <thead><tr><th scope="col">Rollout</th><th scope="col">Tag</th><th scope="col">Target</th><th scope="col">State</th><th scope="col">Current phase</th><th scope="col">Created by</th><th scope="col">Created</th></tr></thead>
                  <tbody>%s</tbody></table></div>%s
                  """,
                  body.isEmpty()
                      ? Html.of(
                          "<tr><td colspan=\"7\">No rollouts yet: create one with the API"
                              + " (<code>POST /api/v1/factories/%s/rollouts</code>).</td></tr>",
                          factory)
                      : Html.join(body),
                  page.nextCursor() == null
                      ? Html.of("")
                      : Html.of(
                          "<p><a href=\"%s?after=%s\">Later rollouts</a></p>",
                          new Html(base(factory)), new Html(Html.query(page.nextCursor())))));
        });
  }

  private static String currentPhase(Gate gate) {
    int started = gate.limits().size();
    List<RolloutPlan.Phase> phases = gate.phases();
    return started == 0
        ? "not started yet"
        : phases.get(started - 1).name() + " (" + started + " of " + phases.size() + ")";
  }

  // ---- a rollout ------------------------------------------------------------------------------

  private CompletionStage<List<ApiClient.Answer>> read(String token, String factory, String id) {
    return dashboard
        .api
        .get(token, api(factory, id))
        .thenCombine(dashboard.api.get(token, api(factory, id) + "/events"), List::of);
  }

  /**
   * One pair of reads per rollout and tick, whoever asks: every stream that asks has checked its
   * own token's scope in the factory first, and the answers depend on nothing else. A failed or
   * refused read is not kept.
   */
  private CompletionStage<List<ApiClient.Answer>> shared(String token, String factory, String id) {
    Instant now = Instant.now();
    String key = factory + "/" + id;
    Cached entry =
        cache.compute(
            key,
            (k, cached) ->
                cached != null && cached.at().plus(DashboardRoutes.TICK.dividedBy(2)).isAfter(now)
                    ? cached
                    : new Cached(now, read(token, factory, id)));
    return entry
        .answers()
        .whenComplete(
            (answers, failure) -> {
              if (failure != null || !answers.stream().allMatch(ApiClient.Answer::ok)) {
                cache.remove(key, entry);
              }
            });
  }

  private Route rolloutPage(String factory, String id, DashboardRoutes.Caller caller) {
    Pages.Viewer viewer = dashboard.viewer(caller, factory);
    boolean mayWrite = caller.principal().mayAccess(factory, Scope.TARGETS_WRITE);
    return DashboardRoutes.done(
        read(caller.token(), factory, id),
        viewer,
        answers -> {
          for (ApiClient.Answer a : answers) {
            if (!a.ok()) {
              return DashboardRoutes.error(DashboardRoutes.status(a.status()), viewer, a.detail());
            }
          }
          Map<String, Html> s =
              sections(
                  factory, viewer.csrf(), mayWrite, answers.get(0).body(), answers.get(1).body());
          return DashboardRoutes.page(
              "Rollout " + id,
              viewer,
              "Rollouts",
              Html.of(
                  """
                  <div id="rollout" data-events="%s/%s/events">
                  <p class="live" role="status" aria-live="polite" id="live">Live updates: connecting…</p>
                  <div id="rollout-summary" data-live>%s</div>
                  <div id="rollout-actions" data-live>%s</div>
                  <h2 id="phases-h">Phases</h2>
                  <svg class="defs" aria-hidden="true" focusable="false" width="0" height="0"><defs><pattern id="hatch" width="2" height="2" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="1" height="2" class="hatch"></rect></pattern></defs></svg>
                  <div id="rollout-phases" data-live>%s</div>
                  <h2 id="audit-h">Audit trail</h2>
                  <div id="rollout-audit" data-live>%s</div>
                  </div>
                  """,
                  new Html(base(factory)),
                  new Html(Html.query(id)),
                  s.get("rollout-summary"),
                  s.get("rollout-actions"),
                  s.get("rollout-phases"),
                  s.get("rollout-audit")));
        });
  }

  /**
   * The live sections of a rollout's page: an event each on its stream, named by the element it
   * replaces. A finished rollout changes no more: its stream sends them once, then {@code end}. A
   * rollout that does not exist is the API's 404 before any stream starts.
   */
  private Route events(String factory, String id, DashboardRoutes.Caller caller) {
    boolean mayWrite = caller.principal().mayAccess(factory, Scope.TARGETS_WRITE);
    String csrf = caller.session().csrf();
    Pages.Viewer viewer = dashboard.viewer(caller, factory);
    return DashboardRoutes.answered(
        dashboard.api.get(caller.token(), api(factory, id)),
        viewer,
        exists -> live(factory, id, caller, mayWrite, csrf));
  }

  private Route live(
      String factory, String id, DashboardRoutes.Caller caller, boolean mayWrite, String csrf) {
    return dashboard.liveEvents(
        factory,
        Scope.TARGETS_READ,
        caller,
        () ->
            shared(caller.token(), factory, id)
                .thenApply(
                    answers -> {
                      ApiClient.Answer rollout = answers.get(0);
                      if (!rollout.ok() || !answers.get(1).ok()) {
                        ApiClient.Answer refused = rollout.ok() ? answers.get(1) : rollout;
                        return new DashboardRoutes.Tick(
                            false, List.of(ServerSentEvent.create(refused.detail(), "end")));
                      }
                      List<ServerSentEvent> events = new ArrayList<>();
                      sections(factory, csrf, mayWrite, rollout.body(), answers.get(1).body())
                          .forEach(
                              (element, markup) ->
                                  events.add(ServerSentEvent.create(markup.markup(), element)));
                      String status = rollout.body().path("status").asText();
                      boolean finished = FINISHED.contains(status);
                      if (finished) {
                        events.add(ServerSentEvent.create("the rollout is " + status, "end"));
                      }
                      return new DashboardRoutes.Tick(!finished, events);
                    })
                .exceptionally(
                    failure ->
                        new DashboardRoutes.Tick(
                            true,
                            List.of(
                                ServerSentEvent.create(
                                    "the rollout is not available right now", "unavailable")))));
  }

  /** A done change goes back to the rollout's page (303); a refused one shows the API's reason. */
  private Route act(String factory, String id, String action, DashboardRoutes.Caller caller) {
    return DashboardRoutes.answered(
        dashboard.api.send(caller.token(), HttpMethods.POST, api(factory, id) + "/" + action, null),
        dashboard.viewer(caller, factory),
        body -> DashboardRoutes.redirect(base(factory) + "/" + Html.query(id)));
  }

  private static Map<String, Html> sections(
      String factory, String csrf, boolean mayWrite, JsonNode rollout, JsonNode audit) {
    Map<String, Html> sections = new LinkedHashMap<>();
    sections.put("rollout-summary", summary(rollout));
    sections.put("rollout-actions", actions(factory, csrf, mayWrite, rollout));
    sections.put("rollout-phases", phases(rollout));
    sections.put("rollout-audit", audit(rollout, audit));
    return sections;
  }

  private static Html summary(JsonNode r) {
    JsonNode plan = r.path("plan");
    JsonNode progress = r.path("progress");
    int started = r.path("startedPhases").asInt();
    JsonNode phases = plan.path("phases");
    String current =
        started == 0
            ? "not started yet"
            : phases.path(started - 1).path("name").asText()
                + " ("
                + started
                + " of "
                + phases.size()
                + ")";
    List<String> bounds = new ArrayList<>();
    if (plan.hasNonNull("errorCount")) {
      long count = plan.path("errorCount").asLong();
      bounds.add(count + (count == 1 ? " device" : " devices"));
    }
    if (plan.hasNonNull("errorShare")) {
      bounds.add(percent(plan.path("errorShare").asDouble()) + " of the devices reached");
    } else if (!plan.hasNonNull("errorCount")) {
      bounds.add(percent(RolloutPlan.DEFAULT_ERROR_SHARE) + " of the devices reached");
    }
    Html halt = Html.EMPTY;
    if (r.hasNonNull("haltReason")) {
      halt =
          Html.of(
              "<dt>Halted</dt><dd id=\"rollout-halt\">%s: %s%s</dd>",
              time(r.path("haltedAt")),
              r.path("haltReason").asText(),
              r.path("rolledBack").asBoolean() ? "; the target was taken back" : "");
    }
    return Html.of(
        """
        <dl class="facts">
        <dt>State</dt><dd id="rollout-state">%s</dd>
        <dt>Target</dt><dd>version %s of tag %s</dd>
        <dt>Current phase</dt><dd id="rollout-current">%s</dd>
        <dt>Reached</dt><dd>%s devices in started phases, %s failed</dd>
        <dt>Error condition</dt><dd>halts once %s failed%s</dd>
        %s
        <dt>Created</dt><dd>%s by %s</dd>
        <dt>Last change</dt><dd>%s</dd>
        </dl>
        """,
        r.path("status").asText(),
        r.path("version").asLong(),
        r.path("tag").asText(),
        current,
        progress.path("reached").asLong(),
        progress.path("failed").asLong(),
        String.join(" or ", bounds),
        plan.path("rollback").asBoolean()
            ? "; a halt takes the target back from the devices that got it (rollback)"
            : "; after a halt, the devices that got the target keep it",
        halt,
        time(r.path("createdAt")),
        who(r.path("createdBy").asText()),
        time(r.path("updatedAt")));
  }

  private static Html actions(String factory, String csrf, boolean mayWrite, JsonNode r) {
    String status = r.path("status").asText();
    if (FINISHED.contains(status)) {
      return Html.of("<p>The rollout is %s: nothing about it can change any more.</p>", status);
    }
    if (!mayWrite) {
      return Html.of(
          "<p class=\"hint\">Changing a rollout needs scope targets:write, which your token does not have.</p>");
    }
    List<Html> forms = new ArrayList<>();
    if (status.equals("running")) {
      forms.add(form(factory, csrf, r, "pause", "Pause"));
    }
    if (status.equals("paused")) {
      forms.add(form(factory, csrf, r, "resume", "Resume"));
    }
    forms.add(form(factory, csrf, r, "cancel", "Cancel rollout"));
    return Html.of(
        "<div class=\"actions\">%s</div><p class=\"hint\">Pause stops its decisions; resume"
            + " restarts the current phase's clock; cancel is final (devices that got the target"
            + " keep it, nobody else gets it).</p>",
        Html.join(forms));
  }

  private static Html form(String factory, String csrf, JsonNode r, String action, String label) {
    return Html.of(
        "<form method=\"post\" action=\"%s/%s/%s\">%s<button type=\"submit\" id=\"rollout-%s\">%s</button></form>",
        new Html(base(factory)),
        new Html(Html.query(r.path("id").asText())),
        new Html(action),
        Pages.csrfField(csrf),
        new Html(action),
        label);
  }

  private static Html phases(JsonNode r) {
    JsonNode planned = r.path("plan").path("phases");
    JsonNode progress = r.path("progress").path("phases");
    List<Html> rows = new ArrayList<>();
    for (int i = 0; i < planned.size(); i++) {
      JsonNode phase = planned.path(i);
      JsonNode p = progress.path(i);
      long targeted = p.path("targeted").asLong();
      long updated = p.path("updated").asLong();
      long failed = p.path("failed").asLong();
      long pending = p.path("pending").asLong();
      String name = phase.path("name").asText();
      String counts =
          targeted == 0
              ? "no devices yet"
              : updated
                  + " of "
                  + targeted
                  + " updated ("
                  + Math.round(100.0 * updated / targeted)
                  + "%), "
                  + failed
                  + " failed, "
                  + pending
                  + " pending";
      rows.add(
          Html.of(
              """
              <tr id="phase-%s"><th scope="row">%s</th><td>%s</td><td class="phase-state">%s</td>
              <td class="progress">%s<span class="counts">%s</span></td>
              <td>%s</td><td>%s</td><td>%s</td><td>%s</td>
              <td>%s updated within %s</td></tr>
              """,
              i + 1,
              name,
              selects(phase),
              p.path("state").asText(),
              bar(name, targeted, updated, failed, counts),
              counts,
              targeted,
              updated,
              failed,
              pending,
              percent(phase.path("successShare").asDouble()),
              duration(phase.path("successWithinSeconds").asLong())));
    }
    return Html.of(
        """
        <div class="scroll"><table class="phases"><caption>Phases in order; a device belongs to the first phase that selects it</caption>
        <thead><tr><th scope="col">Phase</th><th scope="col">Selects</th><th scope="col">State</th><th scope="col">Progress</th><th scope="col">Targeted</th><th scope="col">Updated</th><th scope="col">Failed</th><th scope="col">Pending</th><th scope="col">Succeeds when</th></tr></thead>
        <tbody>%s</tbody></table></div>
        <p class="hint legend">In each bar: <span class="key updated"></span> updated, <span class="key failed"></span> failed (hatched), <span class="key pending"></span> pending (empty).</p>
        """,
        Html.join(rows));
  }

  /**
   * A stacked bar of updated, failed and pending devices. SVG geometry rather than a style
   * attribute: the pages' Content-Security-Policy allows no inline style. The hatching is an
   * attribute too: a fragment URL in the external stylesheet would name the stylesheet's own
   * document. Its text is {@code label}, the same numbers as the row.
   */
  private static Html bar(String name, long targeted, long updated, long failed, String label) {
    double u = targeted == 0 ? 0 : 100.0 * updated / targeted;
    double f = targeted == 0 ? 0 : 100.0 * failed / targeted;
    return Html.of(
        "<svg class=\"bar\" viewBox=\"0 0 100 10\" preserveAspectRatio=\"none\" role=\"img\""
            + " aria-label=\"%s: %s\"><rect class=\"pending\" x=\"0\" y=\"0\" width=\"100\""
            + " height=\"10\"></rect><rect class=\"updated\" x=\"0\" y=\"0\" width=\"%s\""
            + " height=\"10\"></rect><rect class=\"failed\" fill=\"url(#hatch)\" x=\"%s\" y=\"0\" width=\"%s\""
            + " height=\"10\"></rect></svg>",
        name,
        label,
        String.format(java.util.Locale.ROOT, "%.2f", u),
        String.format(java.util.Locale.ROOT, "%.2f", u),
        String.format(java.util.Locale.ROOT, "%.2f", f));
  }

  private static String selects(JsonNode phase) {
    if (phase.hasNonNull("group")) {
      return "group " + phase.path("group").asText();
    }
    if (phase.hasNonNull("labels")) {
      List<String> labels = new ArrayList<>();
      phase
          .path("labels")
          .fields()
          .forEachRemaining(l -> labels.add(l.getKey() + "=" + l.getValue().asText()));
      return "labels " + String.join(", ", labels);
    }
    if (phase.hasNonNull("uuids")) {
      return phase.path("uuids").size() + " listed devices";
    }
    if (phase.hasNonNull("count")) {
      return phase.path("count").asLong() + " more devices";
    }
    return percent(phase.path("percent").asDouble() / 100) + " of the tag (cumulative)";
  }

  private static Html audit(JsonNode rollout, JsonNode audit) {
    JsonNode phases = rollout.path("plan").path("phases");
    List<Html> rows = new ArrayList<>();
    for (JsonNode e : audit.path("events")) {
      JsonNode event = e.path("event");
      String type = e.path("type").asText();
      String detail =
          switch (type) {
            case "Created" ->
                "version "
                    + event.path("version").asLong()
                    + " of tag "
                    + event.path("tag").asText()
                    + ", "
                    + event.path("plan").path("phases").size()
                    + " phases";
            case "PhaseStarted" ->
                "phase "
                    + phases.path(event.path("index").asInt()).path("name").asText()
                    + " ("
                    + (event.path("index").asInt() + 1)
                    + " of "
                    + phases.size()
                    + ")";
            case "Halted" ->
                event.path("reason").asText()
                    + (event.path("rolledBack").asBoolean() ? "; the target was taken back" : "");
            default -> "";
          };
      rows.add(
          Html.of(
              "<tr><td>%s</td><th scope=\"row\">%s</th><td>%s</td><td>%s</td></tr>",
              time(e.path("at")), words(type), who(e.path("by").asText()), detail));
    }
    return Html.of(
        """
        <div class="scroll"><table class="audit"><caption>Who did what, oldest first (the rollout's journal)</caption>
        <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">By</th><th scope="col">Detail</th></tr></thead>
        <tbody>%s</tbody></table></div>
        """,
        Html.join(rows));
  }

  /** {@code PhaseStarted} as "phase started". */
  private static String words(String type) {
    return type.replaceAll("(?<=[a-z])(?=[A-Z])", " ").toLowerCase(java.util.Locale.ROOT);
  }

  private static String who(String by) {
    return by.equals(io.flotilla.core.rollout.Rollout.SELF) ? "the rollout itself" : by;
  }

  private static String time(JsonNode instant) {
    try {
      return Html.time(Instant.parse(instant.asText()));
    } catch (java.time.format.DateTimeParseException e) {
      return instant.asText();
    }
  }

  static String percent(double share) {
    return BigDecimal.valueOf(share).movePointRight(2).stripTrailingZeros().toPlainString() + "%";
  }

  static String duration(long seconds) {
    if (seconds > 0 && seconds % 3600 == 0) {
      return seconds / 3600 + " h";
    }
    if (seconds > 0 && seconds % 60 == 0) {
      return seconds / 60 + " min";
    }
    return seconds + " s";
  }
}
