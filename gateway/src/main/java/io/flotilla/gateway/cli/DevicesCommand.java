package io.flotilla.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code flotilla devices list|show|group|label|config get|config set|delete}. */
@Command(
    name = "devices",
    mixinStandardHelpOptions = true,
    description = "A factory's devices: list, show, group, labels, configuration, delete.",
    subcommands = {
      DevicesCommand.ListDevices.class,
      DevicesCommand.Show.class,
      DevicesCommand.Group.class,
      DevicesCommand.Label.class,
      DevicesCommand.Config.class,
      DevicesCommand.Delete.class
    })
public final class DevicesCommand implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(),
        "a devices command is required (list, show, group, label, config, delete)");
  }

  static String devicePath(Remote remote, String uuid, String rest) {
    return remote.factoryPath("/devices/" + Remote.segment(uuid) + rest);
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description = "List devices, newest first; --all follows the pages.")
  static final class ListDevices extends RemoteCommand {
    @Option(names = "--tag", description = "Only devices following this tag.")
    String tag;

    @Option(names = "--target", description = "Only devices running this target.")
    String target;

    @Option(names = "--group", description = "Only devices of this group.")
    String group;

    @Option(names = "--label", description = "Only devices with this label: KEY=VALUE.")
    String label;

    @Option(
        names = "--limit",
        defaultValue = "100",
        description = "Devices per page (1-1000, default ${DEFAULT-VALUE}).")
    int limit;

    @Option(names = "--cursor", description = "The page after this cursor (from a previous list).")
    String cursor;

    @Option(names = "--all", description = "Every page, not just the first.")
    boolean all;

    @Override
    void run() {
      List<JsonNode> devices = new ArrayList<>();
      String next = cursor;
      JsonNode page;
      do {
        StringBuilder query = new StringBuilder("?limit=").append(limit);
        if (tag != null) {
          query.append("&tag=").append(Remote.segment(tag));
        }
        if (target != null) {
          query.append("&target=").append(Remote.segment(target));
        }
        if (group != null) {
          query.append("&group=").append(Remote.segment(group));
        }
        if (label != null) {
          query.append("&label=").append(Remote.segment(label));
        }
        if (next != null) {
          query.append("&cursor=").append(Remote.segment(next));
        }
        page = remote.get(remote.factoryPath("/devices" + query));
        rows(page, "devices").forEach(devices::add);
        next = page.hasNonNull("nextCursor") ? page.get("nextCursor").asText() : null;
        if (all && next != null) {
          err().println(devices.size() + " devices so far…");
          err().flush();
        }
      } while (all && next != null);
      if (remote.json) {
        var answer = Remote.JSON.createObjectNode();
        answer.set("devices", Remote.JSON.valueToTree(devices));
        answer.put("nextCursor", next);
        printJson(answer);
        return;
      }
      new Table()
          .column("UUID", "uuid")
          .column("NAME", "name")
          .column("TAG", "tag")
          .column("GROUP", "group")
          .column("LABELS", "labels")
          .column("TARGET", "targetName")
          .column("ONLINE", d -> d.path("online").asBoolean() ? "yes" : "no")
          .column("UPDATE", "updateState")
          .column("LAST SEEN", "lastSeen")
          .print(out(), devices);
      if (next != null) {
        err().println("more: --cursor " + next + " (or --all)");
        err().flush();
      }
    }
  }

  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description =
          "Show one device, now or as it was at a moment (--at, replayed from its journal).")
  static final class Show extends RemoteCommand {
    @Parameters(index = "0", description = "Device uuid.")
    String uuid;

    @Option(
        names = "--at",
        description = "An ISO-8601 instant, e.g. 2026-01-31T12:00:00Z: the device as it was then.")
    String at;

    @Override
    void run() {
      JsonNode device =
          remote.get(devicePath(remote, uuid, at == null ? "" : "?at=" + Remote.segment(at)));
      if (remote.json) {
        printJson(device);
        return;
      }
      List<String[]> pairs = new ArrayList<>();
      device
          .properties()
          .forEach(e -> pairs.add(new String[] {e.getKey(), Table.text(e.getValue())}));
      Table.details(out(), pairs);
    }
  }

  @Command(
      name = "group",
      mixinStandardHelpOptions = true,
      description = "Put a device in a group (\"\" takes it out of its group).")
  static final class Group extends RemoteCommand {
    @Parameters(index = "0", description = "Device uuid.")
    String uuid;

    @Parameters(index = "1", description = "The group.")
    String group;

    @Override
    void run() {
      JsonNode device = remote.call("PATCH", devicePath(remote, uuid, ""), Map.of("group", group));
      if (remote.json) {
        printJson(device);
      } else {
        out().println("device " + uuid + " is in group " + Table.text(device.get("group")));
        out().flush();
      }
    }
  }

  @Command(
      name = "label",
      mixinStandardHelpOptions = true,
      description =
          "Set labels of a device (KEY=VALUE) and remove others (--remove KEY); its other labels"
              + " stay.")
  static final class Label extends RemoteCommand {
    @Parameters(index = "0", description = "Device uuid.")
    String uuid;

    @Parameters(index = "1..*", arity = "0..*", description = "KEY=VALUE.")
    List<String> labels = List.of();

    @Option(names = "--remove", description = "A label key to remove (repeatable).")
    List<String> remove = List.of();

    @Override
    void run() {
      if (labels.isEmpty() && remove.isEmpty()) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "give labels as KEY=VALUE, or --remove KEY");
      }
      Map<String, String> merged = new LinkedHashMap<>();
      remote
          .get(devicePath(remote, uuid, ""))
          .path("labels")
          .fields()
          .forEachRemaining(e -> merged.put(e.getKey(), e.getValue().asText()));
      remove.forEach(merged::remove);
      for (String assignment : labels) {
        int eq = assignment.indexOf('=');
        if (eq < 1) {
          throw new CommandLine.ParameterException(
              spec.commandLine(), "expected KEY=VALUE, not '" + assignment + "'");
        }
        merged.put(assignment.substring(0, eq), assignment.substring(eq + 1));
      }
      JsonNode device =
          remote.call("PATCH", devicePath(remote, uuid, ""), Map.of("labels", merged));
      if (remote.json) {
        printJson(device);
      } else {
        out().println("device " + uuid + " labels: " + Table.text(device.get("labels")));
        out().flush();
      }
    }
  }

  @Command(
      name = "config",
      mixinStandardHelpOptions = true,
      description = "A device's configuration files: get, set.",
      subcommands = {ConfigGet.class, ConfigSet.class})
  static final class Config implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "a devices config command is required (get, set)");
    }
  }

  @Command(
      name = "get",
      mixinStandardHelpOptions = true,
      description = "The device's own configuration files.")
  static final class ConfigGet extends RemoteCommand {
    @Parameters(index = "0", description = "Device uuid.")
    String uuid;

    @Override
    void run() {
      JsonNode config = remote.get(devicePath(remote, uuid, "/config"));
      if (remote.json) {
        printJson(config);
        return;
      }
      new Table()
          .column("NAME", "name")
          .column("UNENCRYPTED", "unencrypted")
          .column("ON CHANGED", "onChanged")
          .column("VALUE", f -> f.path("value").asText().replace("\n", "\\n"))
          .print(out(), rows(config, "files"));
    }
  }

  @Command(
      name = "set",
      mixinStandardHelpOptions = true,
      description =
          "Set configuration files of a device (NAME=VALUE, or NAME=@FILE to read a file); the"
              + " device's other files stay.")
  static final class ConfigSet extends RemoteCommand {
    @Parameters(index = "0", description = "Device uuid.")
    String uuid;

    @Parameters(index = "1..*", arity = "1..*", description = "NAME=VALUE or NAME=@FILE.")
    List<String> files;

    @Option(names = "--reason", description = "Why (kept with the change).")
    String reason;

    @Option(
        names = "--on-changed",
        split = ",",
        description = "Command the device runs when these files change.")
    List<String> onChanged;

    @Option(names = "--unencrypted", description = "Store the files unencrypted.")
    boolean unencrypted;

    @Override
    void run() {
      Map<String, Map<String, Object>> merged = new LinkedHashMap<>();
      for (JsonNode file : rows(remote.get(devicePath(remote, uuid, "/config")), "files")) {
        Map<String, Object> kept = new LinkedHashMap<>();
        kept.put("name", file.path("name").asText());
        kept.put("value", file.path("value").asText());
        kept.put("unencrypted", file.path("unencrypted").asBoolean());
        kept.put("on-changed", Remote.JSON.convertValue(file.path("onChanged"), List.class));
        merged.put(file.path("name").asText(), kept);
      }
      for (String assignment : files) {
        int eq = assignment.indexOf('=');
        if (eq < 1) {
          throw new CommandLine.ParameterException(
              spec.commandLine(), "expected NAME=VALUE or NAME=@FILE, not '" + assignment + "'");
        }
        String name = assignment.substring(0, eq);
        Map<String, Object> file = new LinkedHashMap<>();
        file.put("name", name);
        file.put("value", value(assignment.substring(eq + 1)));
        file.put("unencrypted", unencrypted);
        file.put("on-changed", onChanged == null ? List.of() : onChanged);
        merged.put(name, file);
      }
      Map<String, Object> body = new LinkedHashMap<>();
      if (reason != null) {
        body.put("reason", reason);
      }
      body.put("files", List.copyOf(merged.values()));
      JsonNode config = remote.call("PUT", devicePath(remote, uuid, "/config"), body);
      if (remote.json) {
        printJson(config);
      } else {
        out().println("device " + uuid + " has " + config.path("files").size() + " config files");
        out().flush();
      }
    }

    private String value(String given) {
      if (!given.startsWith("@")) {
        return given;
      }
      try {
        return Files.readString(Path.of(given.substring(1)), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new CliFailure(CliFailure.USAGE, "cannot read " + given.substring(1) + ": " + e);
      }
    }
  }

  @Command(
      name = "delete",
      mixinStandardHelpOptions = true,
      description = "Decommission a device: it is refused from now on.")
  static final class Delete extends RemoteCommand {
    @Parameters(index = "0", description = "Device uuid.")
    String uuid;

    @Override
    void run() {
      remote.call("DELETE", devicePath(remote, uuid, ""), null);
      if (remote.json) {
        printJson(Remote.JSON.createObjectNode().put("uuid", uuid).put("deleted", true));
      } else {
        out().println("device " + uuid + " decommissioned");
        out().flush();
      }
    }
  }
}
