package io.flotilla.gateway.dashboard;

import static org.apache.pekko.http.javadsl.server.Directives.*;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.core.FlotillaCore;
import io.flotilla.core.Limits;
import io.flotilla.core.auth.Scope;
import io.flotilla.core.device.Device;
import io.flotilla.core.device.DeviceQueries;
import io.flotilla.core.device.DeviceQueries.DeviceSearch;
import io.flotilla.core.device.DeviceQueries.DeviceSort;
import io.flotilla.core.device.DeviceQueries.DeviceStatus;
import io.flotilla.core.journal.JournalReader;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * The device table (filtered, sorted and paged on the server, with a bulk tag action) and a
 * device's page (target and apps, update timeline, system info, config, registration, journal).
 */
final class DevicePages {

  static final List<Integer> PAGE_SIZES = List.of(25, 50, 100);

  /** Last-seen filters: a window the device was seen in, or "not seen for". */
  private static final Map<String, String> SEEN =
      new LinkedHashMap<>(
          Map.of(
              "1h", "seen in the last hour",
              "24h", "seen in the last day",
              "7d", "seen in the last week",
              "not-7d", "not seen for a week or more"));

  /** The device's last journal events shown on its page. */
  private static final int JOURNAL_EVENTS = 100;

  /** Highest page offset served: 100 pages beyond a million devices is no one's browsing. */
  private static final int MAX_OFFSET = 1_000_000;

  private final DashboardRoutes dashboard;
  private final FlotillaCore core;
  private final JdbcReadJournal journal;

  DevicePages(DashboardRoutes dashboard, FlotillaCore core) {
    this.dashboard = dashboard;
    this.core = core;
    this.journal =
        PersistenceQuery.get(core.system())
            .getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
  }

  Route route(String factory) {
    return pathPrefix(
        "devices",
        () ->
            concat(
                pathEndOrSingleSlash(
                    () ->
                        dashboard.viewed(
                            factory,
                            Scope.DEVICES_READ,
                            caller -> parameterMap(params -> list(factory, caller, params)))),
                path(
                    "tag",
                    () ->
                        dashboard.posted(
                            factory,
                            Scope.DEVICES_WRITE,
                            (caller, fields) -> bulkSet(factory, caller, fields, BulkField.TAG))),
                path(
                    "group",
                    () ->
                        dashboard.posted(
                            factory,
                            Scope.DEVICES_WRITE,
                            (caller, fields) -> bulkSet(factory, caller, fields, BulkField.GROUP))),
                path(
                    segment(),
                    uuid ->
                        dashboard.viewed(
                            factory,
                            Scope.DEVICES_READ,
                            caller -> device(factory, caller, uuid)))));
  }

  /** The table's query, read from the URL; {@link #problem} says what is wrong with one. */
  record Query(
      String q,
      String tag,
      String target,
      String group,
      String label,
      String status,
      String seen,
      String sort,
      String dir,
      int page,
      int size) {

    static Query of(Map<String, String> p) {
      return new Query(
          blankToNull(p.get("q")),
          blankToNull(p.get("tag")),
          blankToNull(p.get("target")),
          blankToNull(p.get("group")),
          blankToNull(p.get("label")),
          blankToNull(p.get("status")),
          blankToNull(p.get("seen")),
          p.getOrDefault("sort", "name"),
          p.getOrDefault("dir", "asc"),
          intOr(p.get("page"), -1),
          intOr(p.get("size"), -1));
    }

    String problem() {
      if (q != null && (q.length() > 128 || !Limits.plain(q))) {
        return "Search text must be at most 128 characters without control characters.";
      }
      if (tag != null && !Limits.DEVICE_TAG.matcher(tag).matches()) {
        return "A tag must match " + Limits.DEVICE_TAG.pattern() + ".";
      }
      if (target != null && (target.length() > Limits.TARGET_NAME || !Limits.plain(target))) {
        return "A target name must be at most " + Limits.TARGET_NAME + " characters.";
      }
      if (group != null && !Limits.GROUP.matcher(group).matches()) {
        return "A group must match " + Limits.GROUP.pattern() + ".";
      }
      if (label != null
          && (label.indexOf('=') < 0
              || Limits.labelsProblem(Map.of(labelKey(), label.substring(label.indexOf('=') + 1)))
                  != null)) {
        return "A label must be key=value, the key matching "
            + Limits.LABEL_KEY.pattern()
            + " and the value "
            + Limits.LABEL_VALUE.pattern()
            + ".";
      }
      if (status != null && !List.of("online", "offline", "updating", "failed").contains(status)) {
        return "Status must be online, offline, updating or failed.";
      }
      if (seen != null && !SEEN.containsKey(seen)) {
        return "Last seen must be one of " + String.join(", ", SEEN.keySet()) + ".";
      }
      if (!List.of("name", "last-seen", "tag", "target", "created").contains(sort)) {
        return "Sort must be name, last-seen, tag, target or created.";
      }
      if (!dir.equals("asc") && !dir.equals("desc")) {
        return "Direction must be asc or desc.";
      }
      if (page < 1 || (long) (page - 1) * size > MAX_OFFSET) {
        return "Page must be a number from 1 (at most " + MAX_OFFSET + " devices deep).";
      }
      if (!PAGE_SIZES.contains(size)) {
        return "Page size must be 25, 50 or 100.";
      }
      return null;
    }

    DeviceSearch search(Instant now) {
      return new DeviceSearch(
          q,
          tag,
          target,
          group,
          label == null ? null : labelKey(),
          label == null ? null : label.substring(label.indexOf('=') + 1),
          status == null ? null : DeviceStatus.valueOf(status.toUpperCase(Locale.ROOT)),
          switch (seen == null ? "" : seen) {
            case "1h" -> now.minus(Duration.ofHours(1));
            case "24h" -> now.minus(Duration.ofDays(1));
            case "7d" -> now.minus(Duration.ofDays(7));
            default -> null;
          },
          "not-7d".equals(seen) ? now.minus(Duration.ofDays(7)) : null,
          switch (sort) {
            case "last-seen" -> DeviceSort.LAST_SEEN;
            case "tag" -> DeviceSort.TAG;
            case "target" -> DeviceSort.TARGET;
            case "created" -> DeviceSort.CREATED;
            default -> DeviceSort.NAME;
          },
          dir.equals("desc"),
          (page - 1) * size,
          size);
    }

    private String labelKey() {
      return label.substring(0, label.indexOf('='));
    }

    /** This query's URL with some parameters changed. */
    String url(String factory, Map<String, String> changes) {
      Map<String, String> p = new LinkedHashMap<>();
      put(p, "q", q);
      put(p, "tag", tag);
      put(p, "target", target);
      put(p, "group", group);
      put(p, "label", label);
      put(p, "status", status);
      put(p, "seen", seen);
      p.put("sort", sort);
      p.put("dir", dir);
      p.put("size", Integer.toString(size));
      p.put("page", Integer.toString(page));
      p.putAll(changes);
      StringBuilder url = new StringBuilder("/factories/" + Html.query(factory) + "/devices?");
      p.forEach((k, v) -> url.append(k).append('=').append(Html.query(v)).append('&'));
      url.setLength(url.length() - 1);
      return url.toString();
    }

    private static void put(Map<String, String> p, String k, String v) {
      if (v != null) {
        p.put(k, v);
      }
    }

    private static String blankToNull(String s) {
      return s == null || s.isBlank() ? null : s.strip();
    }

    private static int intOr(String s, int absent) {
      if (s == null) {
        return absent;
      }
      return s.matches("[0-9]{1,7}") ? Integer.parseInt(s) : 0;
    }
  }

  private Route list(String factory, DashboardRoutes.Caller caller, Map<String, String> params) {
    Map<String, String> withDefaults = new LinkedHashMap<>(params);
    withDefaults.putIfAbsent("page", "1");
    withDefaults.putIfAbsent("size", "50");
    Query query = Query.of(withDefaults);
    Pages.Viewer viewer = dashboard.viewer(caller, factory);
    String problem = query.problem();
    if (problem != null) {
      return DashboardRoutes.error(StatusCodes.BAD_REQUEST, viewer, problem);
    }
    Instant now = Instant.now();
    Instant onlineSince = now.minus(DashboardRoutes.onlineWindow(core));
    return DashboardRoutes.done(
        core.deviceQueries().search(factory, query.search(now), onlineSince),
        viewer,
        page ->
            DashboardRoutes.page(
                "Devices",
                viewer,
                "Devices",
                filters(factory, query)
                    .plus(table(factory, query, page, onlineSince, caller, viewer))));
  }

  private static Html filters(String factory, Query q) {
    List<Html> statuses = new ArrayList<>();
    statuses.add(option("", "any", q.status()));
    for (String s : List.of("online", "offline", "updating", "failed")) {
      statuses.add(option(s, s, q.status()));
    }
    List<Html> seen = new ArrayList<>();
    seen.add(option("", "any time", q.seen()));
    SEEN.forEach((k, label) -> seen.add(option(k, label, q.seen())));
    List<Html> sorts = new ArrayList<>();
    for (String s : List.of("name", "last-seen", "tag", "target", "created")) {
      sorts.add(option(s, s.replace('-', ' '), q.sort()));
    }
    List<Html> sizes = new ArrayList<>();
    for (int s : PAGE_SIZES) {
      sizes.add(option(Integer.toString(s), Integer.toString(s), Integer.toString(q.size())));
    }
    return Html.of(
        """
        <form class="filters" method="get" action="/factories/%s/devices" role="search"
              hx-get="/factories/%s/devices" hx-target="#device-table" hx-select="#device-table" hx-swap="outerHTML" hx-push-url="true">
        <div><label for="f-q">Name or uuid</label><input id="f-q" name="q" value="%s" maxlength="128" type="search"></div>
        <div><label for="f-tag">Tag</label><input id="f-tag" name="tag" value="%s" maxlength="128"></div>
        <div><label for="f-target">Target</label><input id="f-target" name="target" value="%s" maxlength="255"></div>
        <div><label for="f-group">Group</label><input id="f-group" name="group" value="%s" maxlength="128"></div>
        <div><label for="f-label">Label (key=value)</label><input id="f-label" name="label" value="%s" maxlength="192"></div>
        <div><label for="f-status">Status</label><select id="f-status" name="status">%s</select></div>
        <div><label for="f-seen">Last seen</label><select id="f-seen" name="seen">%s</select></div>
        <div><label for="f-sort">Sort by</label><select id="f-sort" name="sort">%s</select></div>
        <div><label for="f-dir">Order</label><select id="f-dir" name="dir">%s%s</select></div>
        <div><label for="f-size">Per page</label><select id="f-size" name="size">%s</select></div>
        <div><button type="submit">Apply</button></div>
        </form>
        """,
        new Html(Html.query(factory)),
        new Html(Html.query(factory)),
        q.q(),
        q.tag(),
        q.target(),
        q.group(),
        q.label(),
        Html.join(statuses),
        Html.join(seen),
        Html.join(sorts),
        option("asc", "ascending", q.dir()),
        option("desc", "descending", q.dir()),
        Html.join(sizes));
  }

  private static Html option(String value, String label, String selected) {
    boolean on = value.equals(selected == null ? "" : selected);
    return Html.of(
        "<option value=\"%s\"%s>%s</option>", value, new Html(on ? " selected" : ""), label);
  }

  private static Html table(
      String factory,
      Query q,
      DeviceQueries.DeviceSearchPage page,
      Instant onlineSince,
      DashboardRoutes.Caller caller,
      Pages.Viewer viewer) {
    boolean mayWrite = caller.principal().mayAccess(factory, Scope.DEVICES_WRITE);
    List<Html> rows = new ArrayList<>();
    for (DeviceQueries.DeviceRow d : page.devices()) {
      rows.add(
          Html.of(
              "<tr>%s<td><a href=\"/factories/%s/devices/%s\">%s</a></td><td class=\"mono\">%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>",
              mayWrite
                  ? Html.of(
                      "<td><input type=\"checkbox\" name=\"uuid\" value=\"%s\" form=\"bulk\" aria-label=\"Select %s\"></td>",
                      d.uuid(), d.name())
                  : Html.EMPTY,
              new Html(Html.query(factory)),
              new Html(Html.query(d.uuid())),
              d.name(),
              d.uuid(),
              d.tag() == null ? "—" : d.tag(),
              d.targetName() == null ? "—" : d.targetName(),
              statusLabel(d, onlineSince),
              Html.time(d.lastSeen())));
    }
    long pages = Math.max(1, (page.total() + q.size() - 1) / q.size());
    long first = page.total() == 0 ? 0 : (long) (q.page() - 1) * q.size() + 1;
    long last = Math.min(page.total(), (long) q.page() * q.size());
    Html prev =
        q.page() > 1
            ? Html.of(
                "<a rel=\"prev\" href=\"%s\">Previous page</a>",
                q.url(factory, Map.of("page", Integer.toString(q.page() - 1))))
            : Html.EMPTY;
    Html next =
        q.page() < pages
            ? Html.of(
                "<a rel=\"next\" href=\"%s\">Next page</a>",
                q.url(factory, Map.of("page", Integer.toString(q.page() + 1))))
            : Html.EMPTY;
    Html bulk =
        mayWrite
            ? Html.of(
                """
                <form id="bulk" class="bulk" method="post" action="/factories/%s/devices/tag">
                %s
                <label for="bulk-tag">Set the tag of the selected devices to</label>
                <input id="bulk-tag" name="tag" maxlength="128">
                <button type="submit">Tag selected</button>
                <label for="bulk-group">or put them in group</label>
                <input id="bulk-group" name="group" maxlength="128">
                <button type="submit" formaction="/factories/%s/devices/group">Group selected</button>
                </form>
                """,
                new Html(Html.query(factory)),
                Pages.csrfField(viewer.csrf()),
                new Html(Html.query(factory)))
            : Html.EMPTY;
    return Html.of(
        """
        <div id="device-table">
        <p role="status" id="device-count">%s devices match; showing %s–%s, page %s of %s.</p>
        %s
        <div class="scroll"><table class="devices">
        <caption>Devices</caption>
        <thead><tr>%s<th scope="col">Name</th><th scope="col">UUID</th><th scope="col">Tag</th><th scope="col">Target</th><th scope="col">Status</th><th scope="col">Last seen</th></tr></thead>
        <tbody>%s</tbody>
        </table></div>
        <nav class="pager" aria-label="Pages">%s %s</nav>
        </div>
        """,
        page.total(),
        first,
        last,
        q.page(),
        pages,
        bulk,
        mayWrite ? Html.of("<th scope=\"col\">Select</th>") : Html.EMPTY,
        rows.isEmpty()
            ? Html.of("<tr><td colspan=\"7\">No device matches.</td></tr>")
            : Html.join(rows),
        prev,
        next);
  }

  /** Words, not colours: online or offline, and the newest update's state when there is one. */
  static String statusLabel(DeviceQueries.DeviceRow d, Instant onlineSince) {
    String online =
        d.lastSeen() != null && !d.lastSeen().isBefore(onlineSince) ? "online" : "offline";
    if (Device.UpdateState.IN_PROGRESS.wireName().equals(d.updateState())) {
      return online + ", updating";
    }
    if (Device.UpdateState.FAILED.wireName().equals(d.updateState())) {
      return online + ", update failed";
    }
    return online;
  }

  /** What a bulk action sets on the selected devices: their tag or their group. */
  private enum BulkField {
    TAG("tag", Limits.DEVICE_TAG, "Each device moves to the tag's target when it next checks in."),
    GROUP(
        "group", Limits.GROUP, "The group's config files reach each device at its next check-in.");

    final String name;
    final java.util.regex.Pattern pattern;
    final String effect;

    BulkField(String name, java.util.regex.Pattern pattern, String effect) {
      this.name = name;
      this.pattern = pattern;
      this.effect = effect;
    }
  }

  private Route bulkSet(
      String factory,
      DashboardRoutes.Caller caller,
      Map<String, List<String>> fields,
      BulkField field) {
    Pages.Viewer viewer = dashboard.viewer(caller, factory);
    String value = DashboardRoutes.first(fields, field.name);
    List<String> uuids = fields.getOrDefault("uuid", List.of());
    if (value == null || !field.pattern.matcher(value).matches()) {
      return DashboardRoutes.error(
          StatusCodes.BAD_REQUEST,
          viewer,
          "A " + field.name + " must match " + field.pattern.pattern() + ".");
    }
    int max = PAGE_SIZES.get(PAGE_SIZES.size() - 1);
    if (uuids.isEmpty() || uuids.size() > max) {
      return DashboardRoutes.error(
          StatusCodes.BAD_REQUEST, viewer, "Select from 1 to " + max + " devices.");
    }
    for (String uuid : uuids) {
      if (!Limits.DEVICE_UUID.matcher(uuid).matches()) {
        return DashboardRoutes.error(
            StatusCodes.BAD_REQUEST, viewer, "A device uuid is malformed.");
      }
    }
    List<CompletionStage<ApiClient.Answer>> answers = new ArrayList<>();
    for (String uuid : uuids) {
      answers.add(
          dashboard.api.send(
              caller.token(),
              HttpMethods.PATCH,
              devicePath(factory, uuid),
              Map.of(field.name, value)));
    }
    return DashboardRoutes.answered(
        answers,
        viewer,
        results -> {
          List<Html> lines = new ArrayList<>();
          int ok = 0;
          for (int i = 0; i < results.size(); i++) {
            ApiClient.Answer a = results.get(i);
            if (a.ok()) {
              ok++;
            } else {
              lines.add(Html.of("<li>%s: %s</li>", uuids.get(i), a.detail()));
            }
          }
          return DashboardRoutes.page(
              "Set the " + field.name + " of devices",
              viewer,
              "Devices",
              Html.of(
                  """
                  <p role="status">Set the %s of %s of %s devices to %s. %s</p>
                  %s
                  <p><a href="/factories/%s/devices?%s=%s">Devices of %s %s</a></p>
                  """,
                  field.name,
                  ok,
                  results.size(),
                  value,
                  field.effect,
                  lines.isEmpty()
                      ? Html.EMPTY
                      : Html.of("<p>Not changed:</p><ul>%s</ul>", Html.join(lines)),
                  new Html(Html.query(factory)),
                  new Html(field.name),
                  new Html(Html.query(value)),
                  field.name,
                  value));
        });
  }

  private static String devicePath(String factory, String uuid) {
    return "/api/v1/factories/" + factory + "/devices/" + Html.query(uuid);
  }

  private Route device(String factory, DashboardRoutes.Caller caller, String uuid) {
    Pages.Viewer viewer = dashboard.viewer(caller, factory);
    if (!Limits.DEVICE_UUID.matcher(uuid).matches()) {
      return DashboardRoutes.error(StatusCodes.NOT_FOUND, viewer, "There is no such device.");
    }
    String base = devicePath(factory, uuid);
    String token = caller.token();
    return DashboardRoutes.answered(
        dashboard.api.get(token, base),
        viewer,
        detail ->
            DashboardRoutes.answered(
                List.of(
                    dashboard.api.get(token, base + "/updates"),
                    dashboard.api.get(token, base + "/system-info"),
                    dashboard.api.get(token, base + "/config")),
                viewer,
                more ->
                    DashboardRoutes.answered(
                        timelines(token, base, more.get(0).body()),
                        viewer,
                        timelines ->
                            DashboardRoutes.done(
                                journal(uuid),
                                viewer,
                                events ->
                                    DashboardRoutes.page(
                                        "Device " + detail.path("name").asText(uuid),
                                        viewer,
                                        "Devices",
                                        DeviceView.render(
                                            detail,
                                            more.get(0).body(),
                                            timelines,
                                            more.get(1),
                                            more.get(2),
                                            events))))));
  }

  /** The events of the newest updates, for the timeline. */
  private List<CompletionStage<ApiClient.Answer>> timelines(
      String token, String base, JsonNode updates) {
    List<CompletionStage<ApiClient.Answer>> answers = new ArrayList<>();
    for (JsonNode u : updates.path("updates")) {
      if (answers.size() == DeviceView.TIMELINE_UPDATES) {
        break;
      }
      answers.add(
          dashboard.api.get(
              token, base + "/updates/" + Html.query(u.path("correlationId").asText())));
    }
    return answers;
  }

  /** The device's newest journal events, newest first. */
  private CompletionStage<List<JournalReader.Entry>> journal(String uuid) {
    String persistenceId =
        JournalReader.persistenceId(Device.ENTITY_KEY.name(), uuid).orElseThrow();
    JournalReader reader = core.journalReader();
    return journal
        .currentLastSequenceNumberByPersistenceId(persistenceId)
        .thenCompose(
            last ->
                reader
                    .events(persistenceId, Math.max(1, last.orElse(0L) - JOURNAL_EVENTS + 1))
                    .runWith(Sink.seq(), core.system()))
        .thenApply(
            entries -> {
              List<JournalReader.Entry> newestFirst = new ArrayList<>(entries);
              java.util.Collections.reverse(newestFirst);
              return newestFirst;
            });
  }
}
