package io.flotilla.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;

/** {@code flotilla status}: the factory's fleet summary. */
@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    description = "The fleet summary: devices online, up to date, updating, per tag and target.")
public final class StatusCommand extends RemoteCommand {

  @Override
  void run() {
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
}
