package io.flotilla.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code flotilla targets list|show|tag|prune}, as fioctl's. */
@Command(
    name = "targets",
    mixinStandardHelpOptions = true,
    description = "A factory's targets: list, show, tag, prune.",
    subcommands = {
      TargetsCommand.ListTargets.class,
      TargetsCommand.Show.class,
      TargetsCommand.Tag.class,
      TargetsCommand.Prune.class
    })
public final class TargetsCommand implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "a targets command is required (list, show, tag, prune)");
  }

  static final Table TABLE =
      new Table()
          .column("NAME", "name")
          .column("VERSION", "version")
          .column("HARDWARE", "hardwareId")
          .column("TAGS", "tags")
          .column("APPS", t -> Table.text(Remote.JSON.valueToTree(fieldNames(t.get("apps")))))
          .column("CREATED", "createdAt");

  private static List<String> fieldNames(JsonNode object) {
    List<String> names = new ArrayList<>();
    if (object != null) {
      object.fieldNames().forEachRemaining(names::add);
    }
    return names;
  }

  static JsonNode find(Remote remote, String name) {
    for (JsonNode target :
        RemoteCommand.rows(remote.get(remote.factoryPath("/targets")), "targets")) {
      if (target.path("name").asText().equals(name)) {
        return target;
      }
    }
    throw new CliFailure(
        CliFailure.NOT_FOUND, "factory " + remote.factory() + " has no target " + name);
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "List targets.")
  static final class ListTargets extends RemoteCommand {
    @Option(names = "--tag", description = "Only targets with this tag.")
    String tag;

    @Override
    void run() {
      JsonNode answer =
          remote.get(
              remote.factoryPath("/targets" + (tag == null ? "" : "?tag=" + Remote.segment(tag))));
      if (remote.json) {
        printJson(answer);
      } else {
        TABLE.print(out(), rows(answer, "targets"));
      }
    }
  }

  @Command(name = "show", mixinStandardHelpOptions = true, description = "Show one target.")
  static final class Show extends RemoteCommand {
    @Parameters(index = "0", description = "Target name, e.g. amd64-linux-42.")
    String name;

    @Override
    void run() {
      JsonNode target = find(remote, name);
      if (remote.json) {
        printJson(target);
        return;
      }
      List<String[]> pairs = new ArrayList<>();
      for (String field : List.of("name", "version", "hardwareId", "tags", "containersSha")) {
        pairs.add(new String[] {field, Table.text(target.get(field))});
      }
      pairs.add(new String[] {"created", Table.text(target.get("createdAt"))});
      Table.details(out(), pairs);
      List<JsonNode> apps = new ArrayList<>();
      for (Map.Entry<String, JsonNode> app : target.path("apps").properties()) {
        apps.add(
            Remote.JSON.createObjectNode().put("app", app.getKey()).set("uri", app.getValue()));
      }
      out().println();
      new Table().column("APP", "app").column("URI", "uri").print(out(), apps);
    }
  }

  @Command(
      name = "tag",
      mixinStandardHelpOptions = true,
      description = "Set the tags of targets (devices follow a tag), or add to them with --append.")
  static final class Tag extends RemoteCommand {
    @Parameters(arity = "1..*", description = "Target names.")
    List<String> names;

    @Option(
        names = {"-T", "--tags"},
        split = ",",
        required = true,
        description = "Comma-separated tags.")
    List<String> tags;

    @Option(names = "--append", description = "Keep the target's tags and add these.")
    boolean append;

    @Override
    void run() {
      ArrayNode changed = Remote.JSON.createArrayNode();
      int done = 0;
      for (String name : names) {
        Set<String> wanted = new LinkedHashSet<>();
        if (append) {
          find(remote, name).path("tags").forEach(t -> wanted.add(t.asText()));
        }
        wanted.addAll(tags);
        JsonNode target =
            remote.call(
                "PATCH",
                remote.factoryPath("/targets/" + Remote.segment(name)),
                Map.of("tags", List.copyOf(wanted)));
        changed.add(target);
        progress(++done, name + " tagged " + String.join(",", wanted));
      }
      if (remote.json) {
        printJson(changed);
      } else {
        TABLE.print(out(), changed);
      }
    }

    private void progress(int done, String what) {
      if (names.size() > 1) {
        err().println("[" + done + "/" + names.size() + "] " + what);
        err().flush();
      }
    }
  }

  @Command(
      name = "prune",
      mixinStandardHelpOptions = true,
      description = "Prune targets: devices stop seeing them; their versions are never reused.")
  static final class Prune extends RemoteCommand {
    @Parameters(arity = "1..*", description = "Target names.")
    List<String> names;

    @Override
    void run() {
      ArrayNode pruned = Remote.JSON.createArrayNode();
      int done = 0;
      for (String name : names) {
        pruned.add(
            remote.call("DELETE", remote.factoryPath("/targets/" + Remote.segment(name)), null));
        done++;
        if (names.size() > 1) {
          err().println("[" + done + "/" + names.size() + "] pruned " + name);
          err().flush();
        }
      }
      if (remote.json) {
        printJson(pruned);
      } else {
        TABLE.print(out(), pruned);
      }
    }
  }
}
