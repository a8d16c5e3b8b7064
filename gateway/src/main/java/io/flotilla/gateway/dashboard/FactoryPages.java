package io.flotilla.gateway.dashboard;

import static org.apache.pekko.http.javadsl.server.Directives.*;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.core.Limits;
import io.flotilla.core.auth.Scope;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.marshalling.sse.EventStreamMarshalling;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.javadsl.Framing;
import org.apache.pekko.stream.javadsl.FramingTruncation;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/** Targets, builds (with the live log) and registrations (device authorizations, tokens). */
final class FactoryPages {

  /** A log line longer than this is cut: the page shows text, not megabytes on one line. */
  private static final int MAX_LOG_LINE = 16 * 1024;

  private final DashboardRoutes dashboard;

  FactoryPages(DashboardRoutes dashboard) {
    this.dashboard = dashboard;
  }

  Route route(String factory) {
    return concat(
        pathPrefix("targets", () -> targets(factory)),
        pathPrefix("builds", () -> builds(factory)),
        path("registrations", () -> get(() -> registrations(factory))),
        pathPrefix("tokens", () -> tokens(factory)),
        path(
            segment("device-authorizations").slash(segment()),
            code ->
                dashboard.posted(
                    factory,
                    Scope.DEVICES_CREATE,
                    (caller, fields) -> decide(factory, caller, code, fields))));
  }

  private static String api(String factory) {
    return "/api/v1/factories/" + factory;
  }

  private static String base(String factory) {
    return "/factories/" + Html.query(factory);
  }

  // ---- targets --------------------------------------------------------------------------------

  private Route targets(String factory) {
    return concat(
        pathEndOrSingleSlash(
            () ->
                dashboard.viewed(
                    factory, Scope.TARGETS_READ, caller -> targetsPage(factory, caller))),
        path(
            segment().slash("tags"),
            name ->
                dashboard.posted(
                    factory,
                    Scope.TARGETS_WRITE,
                    (caller, fields) -> retag(factory, caller, name, fields))),
        path(
            segment().slash("prune"),
            name ->
                dashboard.posted(
                    factory,
                    Scope.TARGETS_WRITE,
                    (caller, fields) ->
                        afterAction(
                            factory,
                            caller,
                            dashboard.api.send(
                                caller.token(),
                                HttpMethods.DELETE,
                                api(factory) + "/targets/" + Html.query(name),
                                null),
                            "/targets"))));
  }

  private Route targetsPage(String factory, DashboardRoutes.Caller caller) {
    Pages.Viewer viewer = dashboard.viewer(caller, factory);
    boolean mayWrite = caller.principal().mayAccess(factory, Scope.TARGETS_WRITE);
    return DashboardRoutes.answered(
        dashboard.api.get(caller.token(), api(factory) + "/targets"),
        viewer,
        body -> {
          Map<String, List<JsonNode>> byTag = new TreeMap<>();
          for (JsonNode t : body.path("targets")) {
            if (t.path("tags").isEmpty()) {
              byTag.computeIfAbsent("", k -> new ArrayList<>()).add(t);
            }
            for (JsonNode tag : t.path("tags")) {
              byTag.computeIfAbsent(tag.asText(), k -> new ArrayList<>()).add(t);
            }
          }
          List<Html> sections = new ArrayList<>();
          byTag.forEach(
              (tag, targets) -> {
                List<Html> rows = new ArrayList<>();
                for (JsonNode t : targets) {
                  rows.add(targetRow(factory, t, mayWrite, viewer.csrf()));
                }
                sections.add(
                    Html.of(
                        """
                        <section><h2>%s</h2><div class="scroll"><table>
                        <caption>Targets %s, newest last</caption>
                        <thead><tr><th scope="col">Target</th><th scope="col">Hardware</th><th scope="col">Version</th><th scope="col">Apps and pinned digests</th><th scope="col">Tags</th>%s</tr></thead>
                        <tbody>%s</tbody></table></div></section>
                        """,
                        tag.isEmpty() ? "Untagged" : "Tag " + tag,
                        tag.isEmpty() ? "without a tag" : "of tag " + tag,
                        mayWrite ? Html.of("<th scope=\"col\">Actions</th>") : Html.EMPTY,
                        Html.join(rows)));
              });
          return DashboardRoutes.page(
              "Targets",
              viewer,
              "Targets",
              sections.isEmpty() ? Html.of("<p>No targets yet.</p>") : Html.join(sections));
        });
  }

  private static Html targetRow(String factory, JsonNode t, boolean mayWrite, String csrf) {
    List<Html> apps = new ArrayList<>();
    t.path("apps")
        .fields()
        .forEachRemaining(
            app ->
                apps.add(
                    Html.of(
                        "<li>%s <code class=\"mono\">%s</code></li>",
                        app.getKey(), app.getValue().asText())));
    List<String> tags = new ArrayList<>();
    t.path("tags").forEach(tag -> tags.add(tag.asText()));
    String name = t.path("name").asText();
    Html actions = Html.EMPTY;
    if (mayWrite) {
      actions =
          Html.of(
              """
              <td><form method="post" action="%s/targets/%s/tags">%s
              <label>Tags (comma-separated)<input name="tags" value="%s" maxlength="1000"></label>
              <button type="submit">Retag</button></form>
              <form method="post" action="%s/targets/%s/prune">%s
              <button type="submit">Prune %s</button></form></td>
              """,
              new Html(base(factory)),
              new Html(Html.query(name)),
              Pages.csrfField(csrf),
              String.join(",", tags),
              new Html(base(factory)),
              new Html(Html.query(name)),
              Pages.csrfField(csrf),
              name);
    }
    return Html.of(
        "<tr><th scope=\"row\">%s</th><td>%s</td><td>%s</td><td><ul class=\"apps\">%s</ul></td><td>%s</td>%s</tr>",
        name,
        t.path("hardwareId").asText(),
        t.path("version").asText(),
        Html.join(apps),
        String.join(", ", tags),
        actions);
  }

  private Route retag(
      String factory, DashboardRoutes.Caller caller, String name, Map<String, List<String>> f) {
    String tags = DashboardRoutes.first(f, "tags");
    if (tags == null || tags.length() > 1000) {
      return DashboardRoutes.error(
          StatusCodes.BAD_REQUEST, dashboard.viewer(caller, factory), "Give the target's tags.");
    }
    List<String> list = new ArrayList<>();
    for (String tag : tags.split(",")) {
      if (!tag.isBlank()) {
        list.add(tag.strip());
      }
    }
    return afterAction(
        factory,
        caller,
        dashboard.api.send(
            caller.token(),
            HttpMethods.PATCH,
            api(factory) + "/targets/" + Html.query(name),
            Map.of("tags", list)),
        "/targets");
  }

  /** A done action goes back to its page (303); a refused one shows the API's reason. */
  private Route afterAction(
      String factory,
      DashboardRoutes.Caller caller,
      java.util.concurrent.CompletionStage<ApiClient.Answer> answer,
      String page) {
    return DashboardRoutes.answered(
        answer,
        dashboard.viewer(caller, factory),
        body -> DashboardRoutes.redirect(base(factory) + page));
  }

  // ---- builds ---------------------------------------------------------------------------------

  private Route builds(String factory) {
    return concat(
        pathEndOrSingleSlash(
            () ->
                dashboard.viewed(
                    factory, Scope.CONTAINERS_READ, caller -> buildsPage(factory, caller))),
        pathPrefix(
            segment(),
            number -> {
              if (!number.matches("[0-9]{1,18}") || Long.parseLong(number) < 1) {
                return reject();
              }
              return concat(
                  pathEndOrSingleSlash(
                      () ->
                          dashboard.viewed(
                              factory,
                              Scope.CONTAINERS_READ,
                              caller -> buildPage(factory, caller, number))),
                  path(
                      "log",
                      () ->
                          dashboard.viewed(
                              factory,
                              Scope.CONTAINERS_READ,
                              caller -> logEvents(factory, caller, number))));
            }));
  }

  private Route buildsPage(String factory, DashboardRoutes.Caller caller) {
    Pages.Viewer viewer = dashboard.viewer(caller, factory);
    return DashboardRoutes.answered(
        dashboard.api.get(caller.token(), api(factory) + "/builds?limit=100"),
        viewer,
        body -> {
          List<Html> rows = new ArrayList<>();
          for (JsonNode b : body.path("builds")) {
            rows.add(
                Html.of(
                    "<tr><th scope=\"row\"><a href=\"%s/builds/%s\">#%s</a></th><td>%s</td><td class=\"mono\">%s</td><td>%s → %s</td><td>%s</td><td>%s</td></tr>",
                    new Html(base(factory)),
                    b.path("number").asLong(),
                    b.path("number").asLong(),
                    b.path("status").asText(),
                    shortCommit(b.path("commit").asText()),
                    b.path("branch").asText(),
                    b.path("tag").asText(),
                    b.path("createdAt").asText(),
                    b.path("finishedAt").asText("running")));
          }
          return DashboardRoutes.page(
              "Builds",
              viewer,
              "Builds",
              Html.of(
                  """
                  <div class="scroll"><table><caption>The newest 100 builds</caption>
                  <thead><tr><th scope="col">Build</th><th scope="col">Status</th><th scope="col">Commit</th><th scope="col">Branch → tag</th><th scope="col">Started</th><th scope="col">Finished</th></tr></thead>
                  <tbody>%s</tbody></table></div>
                  """,
                  rows.isEmpty()
                      ? Html.of(
                          "<tr><td colspan=\"6\">No builds yet: push to containers.git.</td></tr>")
                      : Html.join(rows)));
        });
  }

  private static String shortCommit(String commit) {
    return commit.length() > 12 ? commit.substring(0, 12) : commit;
  }

  private Route buildPage(String factory, DashboardRoutes.Caller caller, String number) {
    Pages.Viewer viewer = dashboard.viewer(caller, factory);
    return DashboardRoutes.answered(
        dashboard.api.get(caller.token(), api(factory) + "/builds/" + number),
        viewer,
        b -> {
          List<Html> steps = new ArrayList<>();
          for (JsonNode s : b.path("steps")) {
            steps.add(
                Html.of(
                    "<li>%s: %s</li>",
                    s.path("step").asText(), s.path("result").asText("running")));
          }
          return DashboardRoutes.page(
              "Build #" + number,
              viewer,
              "Builds",
              Html.of(
                  """
                  <dl class="facts">
                  <dt>Status</dt><dd id="build-status">%s</dd>
                  <dt>Commit</dt><dd class="mono">%s</dd>
                  <dt>Branch → tag</dt><dd>%s → %s</dd>
                  <dt>Requested by</dt><dd>%s</dd>
                  </dl>
                  %s
                  <h2 id="log-h">Log</h2>
                  <p role="status" id="log-state" aria-live="polite">Following the log…</p>
                  <pre id="build-log" aria-labelledby="log-h" tabindex="0" data-events="%s/builds/%s/log"></pre>
                  """,
                  b.path("status").asText(),
                  b.path("commit").asText(),
                  b.path("branch").asText(),
                  b.path("tag").asText(),
                  b.path("requestedBy").asText(),
                  steps.isEmpty()
                      ? Html.EMPTY
                      : Html.of("<ol class=\"steps\">%s</ol>", Html.join(steps)),
                  new Html(base(factory)),
                  number));
        });
  }

  /**
   * The API's followed log as events, a line each, then {@code end}: the browser shows what exists
   * and then each new line while the build runs.
   */
  private Route logEvents(String factory, DashboardRoutes.Caller caller, String number) {
    return DashboardRoutes.done(
        dashboard.api.stream(caller.token(), api(factory) + "/builds/" + number + "/log"),
        dashboard.viewer(caller, factory),
        response -> {
          if (response.status().intValue() != 200) {
            response.discardEntityBytes(dashboard.materializer());
            return DashboardRoutes.error(
                response.status(),
                dashboard.viewer(caller, factory),
                "The build's log is not available.");
          }
          Source<ServerSentEvent, NotUsed> lines =
              response
                  .entity()
                  .getDataBytes()
                  .via(
                      Framing.delimiter(
                          ByteString.fromString("\n"), MAX_LOG_LINE, FramingTruncation.ALLOW))
                  .map(
                      line ->
                          ServerSentEvent.create(line.decodeString(StandardCharsets.UTF_8), "line"))
                  .concat(Source.single(ServerSentEvent.create("end", "end")))
                  .mapMaterializedValue(m -> NotUsed.getInstance());
          return completeOK(
              lines.keepAlive(Duration.ofSeconds(15), ServerSentEvent::heartbeat),
              EventStreamMarshalling.toEventStream());
        });
  }

  // ---- registrations --------------------------------------------------------------------------

  private Route registrations(String factory) {
    return dashboard.allowed(
        factory,
        null,
        caller -> {
          Pages.Viewer viewer = dashboard.viewer(caller, factory);
          boolean admin = caller.principal().mayAccess(factory, Scope.ADMIN);
          boolean create = caller.principal().mayAccess(factory, Scope.DEVICES_CREATE);
          return DashboardRoutes.answered(
              List.of(
                  create
                      ? dashboard.api.get(caller.token(), api(factory) + "/device-authorizations")
                      : java.util.concurrent.CompletableFuture.completedFuture(
                          new ApiClient.Answer(
                              403, com.fasterxml.jackson.databind.node.NullNode.getInstance())),
                  admin
                      ? dashboard.api.get(caller.token(), api(factory) + "/tokens")
                      : java.util.concurrent.CompletableFuture.completedFuture(
                          new ApiClient.Answer(
                              403, com.fasterxml.jackson.databind.node.NullNode.getInstance()))),
              viewer,
              answers ->
                  DashboardRoutes.page(
                      "Registrations",
                      viewer,
                      "Registrations",
                      authorizations(factory, answers.get(0), viewer.csrf())
                          .plus(tokensSection(factory, answers.get(1), viewer.csrf()))));
        });
  }

  private static Html authorizations(String factory, ApiClient.Answer answer, String csrf) {
    if (!answer.ok()) {
      return Html.of(
          "<section><h2>Device authorizations</h2><p>Deciding needs scope devices:create.</p></section>");
    }
    List<Html> rows = new ArrayList<>();
    for (JsonNode a : answer.body().path("authorizations")) {
      String code = a.path("userCode").asText();
      Html decide =
          a.path("state").asText().equals("pending")
              ? Html.of(
                  """
                  <form method="post" action="%s/device-authorizations/%s">%s
                  <button type="submit" name="decision" value="approve">Approve %s</button>
                  <button type="submit" name="decision" value="deny">Deny %s</button></form>
                  """,
                  new Html(base(factory)),
                  new Html(Html.query(code)),
                  Pages.csrfField(csrf),
                  code,
                  code)
              : Html.of("%s", a.path("decidedBy").asText(""));
      rows.add(
          Html.of(
              "<tr><th scope=\"row\" class=\"mono\">%s</th><td class=\"mono\">%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>",
              code,
              a.path("clientId").asText(),
              a.path("state").asText(),
              a.path("requestedAt").asText(),
              a.path("expiresAt").asText(),
              decide));
    }
    return Html.of(
        """
        <section aria-labelledby="s-auth"><h2 id="s-auth">Device authorizations</h2>
        <div class="scroll"><table><caption>Devices asking to register (check the code the device shows)</caption>
        <thead><tr><th scope="col">Code</th><th scope="col">Device</th><th scope="col">State</th><th scope="col">Requested</th><th scope="col">Expires</th><th scope="col">Decision</th></tr></thead>
        <tbody>%s</tbody></table></div></section>
        """,
        rows.isEmpty() ? Html.of("<tr><td colspan=\"6\">No requests.</td></tr>") : Html.join(rows));
  }

  private static Html tokensSection(String factory, ApiClient.Answer answer, String csrf) {
    if (!answer.ok()) {
      return Html.of(
          "<section><h2>API tokens</h2><p>Managing tokens needs scope admin.</p></section>");
    }
    List<Html> rows = new ArrayList<>();
    for (JsonNode t : answer.body().path("tokens")) {
      boolean revoked = !t.path("revokedAt").isNull() && !t.path("revokedAt").isMissingNode();
      List<String> scopes = new ArrayList<>();
      t.path("scopes").forEach(s -> scopes.add(s.asText()));
      rows.add(
          Html.of(
              "<tr><th scope=\"row\" class=\"mono\">%s</th><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>",
              t.path("id").asText(),
              t.path("description").asText(""),
              String.join(", ", scopes),
              t.path("createdAt").asText(),
              revoked
                  ? Html.of("revoked %s", t.path("revokedAt").asText())
                  : Html.of(
                      """
                      <form method="post" action="%s/tokens/%s/revoke">%s
                      <button type="submit">Revoke %s</button></form>
                      """,
                      new Html(base(factory)),
                      new Html(Html.query(t.path("id").asText())),
                      Pages.csrfField(csrf),
                      t.path("id").asText())));
    }
    List<Html> boxes = new ArrayList<>();
    for (Scope s : Scope.values()) {
      boxes.add(
          Html.of(
              "<label><input type=\"checkbox\" name=\"scope\" value=\"%s\"> %s</label>",
              s.wireName(), s.wireName()));
    }
    return Html.of(
        """
        <section aria-labelledby="s-tokens"><h2 id="s-tokens">API tokens</h2>
        <div class="scroll"><table><caption>Tokens of this factory</caption>
        <thead><tr><th scope="col">Id</th><th scope="col">Description</th><th scope="col">Scopes</th><th scope="col">Created</th><th scope="col">State</th></tr></thead>
        <tbody>%s</tbody></table></div>
        <h3>Create a token</h3>
        <form method="post" action="%s/tokens" class="create-token">%s
        <label for="t-desc">Description</label><input id="t-desc" name="description" maxlength="%s" required>
        <fieldset><legend>Scopes</legend>%s</fieldset>
        <button type="submit">Create token</button>
        </form></section>
        """,
        Html.join(rows),
        new Html(base(factory)),
        Pages.csrfField(csrf),
        Limits.TEXT,
        Html.join(boxes));
  }

  private Route tokens(String factory) {
    return concat(
        pathEndOrSingleSlash(
            () ->
                dashboard.posted(
                    factory,
                    Scope.ADMIN,
                    (caller, fields) -> createToken(factory, caller, fields))),
        path(
            segment().slash("revoke"),
            id ->
                dashboard.posted(
                    factory,
                    Scope.ADMIN,
                    (caller, fields) ->
                        afterAction(
                            factory,
                            caller,
                            dashboard.api.send(
                                caller.token(),
                                HttpMethods.DELETE,
                                api(factory) + "/tokens/" + Html.query(id),
                                null),
                            "/registrations"))));
  }

  private Route createToken(
      String factory, DashboardRoutes.Caller caller, Map<String, List<String>> fields) {
    Pages.Viewer viewer = dashboard.viewer(caller, factory);
    String description = DashboardRoutes.first(fields, "description");
    List<String> scopes = fields.getOrDefault("scope", List.of());
    if (scopes.size() > Scope.values().length) {
      return DashboardRoutes.error(StatusCodes.BAD_REQUEST, viewer, "Too many scopes.");
    }
    return DashboardRoutes.answered(
        dashboard.api.send(
            caller.token(),
            HttpMethods.POST,
            api(factory) + "/tokens",
            Map.of("description", description == null ? "" : description, "scopes", scopes)),
        viewer,
        created ->
            DashboardRoutes.page(
                "Token created",
                viewer,
                "Registrations",
                Html.of(
                    """
                    <p role="status">Token %s was created with scopes %s. Copy its secret now: it is shown only this once.</p>
                    <p><label for="secret">Secret</label>
                    <input id="secret" class="mono secret" readonly value="%s" size="70"></p>
                    <p><a href="%s/registrations">Back to registrations</a></p>
                    """,
                    created.path("id").asText(),
                    String.join(", ", scopes),
                    created.path("token").asText(),
                    new Html(base(factory)))));
  }

  private Route decide(
      String factory, DashboardRoutes.Caller caller, String code, Map<String, List<String>> f) {
    String decision = DashboardRoutes.first(f, "decision");
    if (!"approve".equals(decision) && !"deny".equals(decision)) {
      return DashboardRoutes.error(
          StatusCodes.BAD_REQUEST, dashboard.viewer(caller, factory), "Approve or deny.");
    }
    if (code.length() > 16) {
      return DashboardRoutes.error(
          StatusCodes.BAD_REQUEST, dashboard.viewer(caller, factory), "That is not a user code.");
    }
    return afterAction(
        factory,
        caller,
        dashboard.api.send(
            caller.token(),
            HttpMethods.POST,
            api(factory) + "/device-authorizations/" + Html.query(code),
            Map.of("approved", decision.equals("approve"))),
        "/registrations");
  }
}
