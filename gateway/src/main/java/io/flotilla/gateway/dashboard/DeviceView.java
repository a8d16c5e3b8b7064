package io.flotilla.gateway.dashboard;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.core.journal.JournalReader;
import io.flotilla.gateway.http.JsonSupport;
import java.util.ArrayList;
import java.util.List;

/** A device's page, rendered from the API's answers and the device's journal. */
final class DeviceView {

  /** Updates whose events the timeline shows; older ones are listed without them. */
  static final int TIMELINE_UPDATES = 10;

  private DeviceView() {}

  static Html render(
      JsonNode d,
      JsonNode updates,
      List<ApiClient.Answer> timelines,
      ApiClient.Answer systemInfo,
      ApiClient.Answer config,
      List<JournalReader.Entry> journal) {
    return summary(d)
        .plus(appsStates(d, journal))
        .plus(timeline(updates, timelines))
        .plus(systemInfo(systemInfo))
        .plus(config(config))
        .plus(registration(d))
        .plus(journal(journal));
  }

  private static Html summary(JsonNode d) {
    String state = d.path("online").asBoolean() ? "online" : "offline";
    String update = d.path("updateState").asText("");
    Html failure = Html.EMPTY;
    JsonNode f = d.path("lastFailure");
    if (f.isObject()) {
      failure =
          Html.of(
              "<dt>Last failure</dt><dd>%s at step %s: %s (%s)</dd>",
              f.path("targetName").asText(),
              f.path("step").asText(),
              f.path("reason").asText(),
              f.path("at").asText());
    }
    return Html.of(
        """
        <section aria-labelledby="s-target"><h2 id="s-target">Target and apps</h2>
        <dl class="facts">
        <dt>Status</dt><dd id="device-status">%s%s</dd>
        <dt>Tag</dt><dd>%s%s</dd>
        <dt>Target</dt><dd id="device-target">%s</dd>
        <dt>Apps</dt><dd>%s</dd>
        <dt>Last seen</dt><dd>%s</dd>
        %s
        </dl></section>
        """,
        state,
        update.isEmpty() ? "" : ", newest update " + update,
        text(d, "tag"),
        d.path("requestedTag").isTextual()
            ? " (the operator set " + d.path("requestedTag").asText() + "; not reported yet)"
            : "",
        text(d, "targetName"),
        d.path("apps").isEmpty() ? "none" : String.join(", ", strings(d.path("apps"))),
        text(d, "lastSeen"),
        failure);
  }

  private static Html appsStates(JsonNode d, List<JournalReader.Entry> journal) {
    for (JournalReader.Entry e : journal) {
      if (e.type().equals("AppsStatesReported")) {
        return Html.of(
            """
            <section aria-labelledby="s-apps"><h2 id="s-apps">Apps states</h2>
            <p>Reported %s.</p><pre class="json">%s</pre></section>
            """,
            e.timestamp(), pretty(e.event().path("appsStates")));
      }
    }
    return Html.of(
        "<section aria-labelledby=\"s-apps\"><h2 id=\"s-apps\">Apps states</h2><p>None reported in the device's recent events.</p></section>");
  }

  private static Html timeline(JsonNode updates, List<ApiClient.Answer> timelines) {
    List<Html> items = new ArrayList<>();
    int i = 0;
    for (JsonNode u : updates.path("updates")) {
      Html events = Html.EMPTY;
      if (i < timelines.size() && timelines.get(i).ok()) {
        List<Html> lines = new ArrayList<>();
        for (JsonNode e : timelines.get(i).body().path("events")) {
          // The stored form of update events, as the device posted them (aktualizr's).
          JsonNode body = e.path("event");
          String outcome =
              body.path("success").isBoolean()
                  ? (body.path("success").asBoolean() ? "succeeded" : "FAILED")
                  : "";
          String details = body.path("details").asText("");
          lines.add(
              Html.of(
                  "<li><span class=\"when\">%s</span> %s %s%s</li>",
                  e.path("deviceTime").asText(""),
                  e.path("eventType").path("id").asText(""),
                  outcome,
                  details.isEmpty() ? "" : ": " + details));
        }
        events = Html.of("<ol class=\"events\">%s</ol>", Html.join(lines));
      }
      i++;
      items.add(
          Html.of(
              """
              <li class="update"><p><strong>%s</strong> to %s (version %s), started %s, last event %s%s</p>%s</li>
              """,
              u.path("state").asText(),
              text(u, "targetName"),
              text(u, "version"),
              text(u, "startedAt"),
              text(u, "updatedAt"),
              u.path("failedStep").isTextual()
                  ? ", failed at " + u.path("failedStep").asText()
                  : "",
              events));
    }
    return Html.of(
        """
        <section aria-labelledby="s-timeline"><h2 id="s-timeline">Update timeline</h2>
        %s</section>
        """,
        items.isEmpty()
            ? Html.of("<p>No update reported yet.</p>")
            : Html.of("<ol class=\"timeline\" id=\"timeline\">%s</ol>", Html.join(items)));
  }

  private static Html systemInfo(ApiClient.Answer answer) {
    if (!answer.ok()) {
      return Html.EMPTY;
    }
    List<Html> parts = new ArrayList<>();
    for (String kind : List.of("hardware", "network", "config")) {
      JsonNode content = answer.body().path(kind);
      parts.add(
          Html.of(
              "<h3>%s</h3>%s",
              kind.substring(0, 1).toUpperCase() + kind.substring(1),
              content.isNull() || content.isMissingNode()
                  ? Html.of("<p>Not reported.</p>")
                  : Html.of(
                      "<p>Reported %s.</p><pre class=\"json\">%s</pre>",
                      answer.body().path("reportedAt").path(kind).asText(),
                      content.isTextual() ? content.asText() : pretty(content))));
    }
    return Html.of(
        "<section aria-labelledby=\"s-system\"><h2 id=\"s-system\">System info</h2>%s</section>",
        Html.join(parts));
  }

  private static Html config(ApiClient.Answer answer) {
    if (!answer.ok()) {
      return Html.EMPTY;
    }
    List<Html> files = new ArrayList<>();
    for (JsonNode f : answer.body().path("files")) {
      files.add(
          Html.of(
              "<h3>%s</h3><pre>%s</pre>",
              f.path("name").asText(),
              f.path("unencrypted").asBoolean(true)
                  ? f.path("value").asText()
                  : "(encrypted for the device)"));
    }
    return Html.of(
        "<section aria-labelledby=\"s-config\"><h2 id=\"s-config\">Config files</h2>%s</section>",
        files.isEmpty() ? Html.of("<p>No device config.</p>") : Html.join(files));
  }

  private static Html registration(JsonNode d) {
    return Html.of(
        """
        <section aria-labelledby="s-registration"><h2 id="s-registration">Registration</h2>
        <dl class="facts">
        <dt>UUID</dt><dd class="mono">%s</dd>
        <dt>Name</dt><dd>%s</dd>
        <dt>Hardware id</dt><dd>%s</dd>
        <dt>Group</dt><dd>%s</dd>
        <dt>Production</dt><dd>%s</dd>
        <dt>Registered</dt><dd>%s</dd>
        </dl></section>
        """,
        text(d, "uuid"),
        text(d, "name"),
        text(d, "hardwareId"),
        text(d, "group"),
        d.path("production").asBoolean() ? "yes" : "no",
        text(d, "createdAt"));
  }

  private static Html journal(List<JournalReader.Entry> journal) {
    List<Html> rows = new ArrayList<>();
    for (JournalReader.Entry e : journal) {
      rows.add(
          Html.of(
              "<tr><td>%s</td><td>%s</td><td>%s</td><td><details><summary>event</summary><pre class=\"json\">%s</pre></details></td></tr>",
              e.sequenceNr(), e.timestamp(), e.type(), pretty(e.event())));
    }
    return Html.of(
        """
        <section aria-labelledby="s-journal"><h2 id="s-journal">Journal (newest %s events)</h2>
        <div class="scroll"><table><caption>What happened to this device, newest first</caption>
        <thead><tr><th scope="col">#</th><th scope="col">Stored</th><th scope="col">Event</th><th scope="col">Content</th></tr></thead>
        <tbody>%s</tbody></table></div></section>
        """,
        journal.size(), Html.join(rows));
  }

  private static String text(JsonNode node, String field) {
    JsonNode value = node.path(field);
    return value.isNull() || value.isMissingNode() ? "—" : value.asText();
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(v -> out.add(v.asText()));
    return out;
  }

  static String pretty(JsonNode node) {
    try {
      return JsonSupport.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(node);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      return node.toString();
    }
  }
}
