package io.flotilla.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code flotilla status}: the factory's fleet summary, now or at a past moment. */
@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    description =
        "The fleet summary: devices online, up to date, updating, per tag and target; with --at,"
            + " per tag which target the devices ran then (replayed from the journal).")
public final class StatusCommand extends RemoteCommand {

  @Option(
      names = "--at",
      description = "An ISO-8601 instant, e.g. 2026-01-31T12:00:00Z: the fleet as it was then.")
  String at;

  @Override
  void run() {
    if (at != null) {
      fleetAt();
      return;
    }
    JsonNode status = remote.get(remote.factoryPath("/status"));
    if (remote.json) {
      printJson(status);
      return;
    }
    List<String[]> pairs = new ArrayList<>();
    pairs.add(new String[] {"factory", remote.factory()});
    for (String field :
        List.of("devices", "online", "offline", "upToDate", "notUpToDate", "updating")) {
      pairs.add(new String[] {field, Table.text(status.get(field))});
    }
    Table.details(out(), pairs);
    counts("TAG", status.get("byTag"));
    counts("TARGET", status.get("byTarget"));
  }

  private void counts(String header, JsonNode counts) {
    if (counts == null || counts.isEmpty()) {
      return;
    }
    List<JsonNode> rows = new ArrayList<>();
    counts
        .fields()
        .forEachRemaining(
            e ->
                rows.add(
                    Remote.JSON.createObjectNode().put("key", e.getKey()).set("n", e.getValue())));
    out().println();
    new Table().column(header, "key").column("DEVICES", "n").print(out(), rows);
  }

  /** Every page of the fleet at the moment, the counts added up; progress on stderr. */
  private void fleetAt() {
    ObjectNode total = Remote.JSON.createObjectNode();
    ObjectNode byTag = Remote.JSON.createObjectNode();
    ObjectNode byTarget = Remote.JSON.createObjectNode();
    ArrayNode fleet = Remote.JSON.createArrayNode();
    long devices = 0;
    String cursor = null;
    do {
      String query = "?at=" + Remote.segment(at) + (cursor == null ? "" : "&cursor=" + cursor);
      JsonNode page = remote.get(remote.factoryPath("/status" + query));
      total.set("at", page.get("at"));
      devices += page.path("devices").asLong();
      page.path("byTag")
          .fields()
          .forEachRemaining(
              e -> {
                ObjectNode tag =
                    byTag.has(e.getKey())
                        ? (ObjectNode) byTag.get(e.getKey())
                        : byTag.putObject(e.getKey()).put("devices", 0L);
                tag.put(
                    "devices",
                    tag.path("devices").asLong() + e.getValue().path("devices").asLong());
                ObjectNode targets =
                    tag.has("byTarget")
                        ? (ObjectNode) tag.get("byTarget")
                        : tag.putObject("byTarget");
                add(targets, e.getValue().path("byTarget"));
              });
      add(byTarget, page.path("byTarget"));
      page.path("fleet").forEach(fleet::add);
      cursor = page.hasNonNull("nextCursor") ? page.get("nextCursor").asText() : null;
      if (cursor != null) {
        err().println(fleet.size() + " devices replayed so far…");
        err().flush();
      }
    } while (cursor != null);
    total.put("devices", devices);
    total.set("byTag", byTag);
    total.set("byTarget", byTarget);
    total.set("fleet", fleet);
    if (remote.json) {
      printJson(total);
      return;
    }
    Table.details(
        out(),
        List.of(
            new String[] {"factory", remote.factory()},
            new String[] {"at", Table.text(total.get("at"))},
            new String[] {"devices", String.valueOf(devices)}));
    List<JsonNode> rows = new ArrayList<>();
    byTag
        .fields()
        .forEachRemaining(
            tag ->
                tag.getValue()
                    .path("byTarget")
                    .fields()
                    .forEachRemaining(
                        target ->
                            rows.add(
                                Remote.JSON
                                    .createObjectNode()
                                    .put("tag", tag.getKey())
                                    .put("target", target.getKey())
                                    .set("n", target.getValue()))));
    out().println();
    new Table()
        .column("TAG", "tag")
        .column("TARGET", "target")
        .column("DEVICES", "n")
        .print(out(), rows);
  }

  private static void add(ObjectNode into, JsonNode counts) {
    counts
        .fields()
        .forEachRemaining(
            e -> into.put(e.getKey(), into.path(e.getKey()).asLong() + e.getValue().asLong()));
  }
}
