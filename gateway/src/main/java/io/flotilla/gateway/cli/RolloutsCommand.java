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

/**
 * {@code flotilla rollouts list|show|create|pause|resume|cancel}: staged rollouts
 * (docs/rollouts.md).
 */
@Command(
    name = "rollouts",
    mixinStandardHelpOptions = true,
    description = "A factory's staged rollouts: list, show, create, pause, resume, cancel.",
    subcommands = {
      RolloutsCommand.ListRollouts.class,
      RolloutsCommand.Show.class,
      RolloutsCommand.Create.class,
      RolloutsCommand.Pause.class,
      RolloutsCommand.Resume.class,
      RolloutsCommand.Cancel.class
    })
public final class RolloutsCommand implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(),
        "a rollouts command is required (list, show, create, pause, resume, cancel)");
  }

  static String rolloutPath(Remote remote, String id, String rest) {
    return remote.factoryPath("/rollouts/" + Remote.segment(id) + rest);
  }

  /** The rollout as {@code show} prints it: its state, then one line per phase with progress. */
  static void printRollout(RemoteCommand command, JsonNode rollout) {
    List<String[]> pairs = new ArrayList<>();
    for (String field :
        List.of(
            "id",
            "tag",
            "version",
            "status",
            "startedPhases",
            "haltReason",
            "rolledBack",
            "createdBy",
            "createdAt",
            "updatedAt")) {
      pairs.add(new String[] {field, Table.text(rollout.get(field))});
    }
    JsonNode progress = rollout.path("progress");
    pairs.add(
        new String[] {
          "reached",
          Table.text(progress.get("reached"))
              + " (failed "
              + Table.text(progress.get("failed"))
              + ")"
        });
    Table.details(command.out(), pairs);
    command.out().println();
    new Table()
        .column("PHASE", "name")
        .column("STATE", "state")
        .column("TARGETED", "targeted")
        .column("UPDATED", "updated")
        .column("FAILED", "failed")
        .column("PENDING", "pending")
        .column("PROGRESS", RolloutsCommand::bar)
        .print(command.out(), RemoteCommand.rows(progress, "phases"));
  }

  /** {@code [#####.....] 50%}: the phase's updated devices of those it targets. */
  static String bar(JsonNode phase) {
    long targeted = phase.path("targeted").asLong();
    long updated = phase.path("updated").asLong();
    int width = 20;
    int filled = targeted == 0 ? 0 : (int) (width * updated / targeted);
    long percent = targeted == 0 ? 0 : 100 * updated / targeted;
    return "[" + "#".repeat(filled) + ".".repeat(width - filled) + "] " + percent + "%";
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "The factory's rollouts.")
  static final class ListRollouts extends RemoteCommand {
    @Override
    void run() {
      JsonNode answer = remote.get(remote.factoryPath("/rollouts"));
      if (remote.json) {
        printJson(answer);
        return;
      }
      new Table()
          .column("ID", "id")
          .column("TAG", "tag")
          .column("VERSION", "version")
          .column("STATUS", "status")
          .column("STARTED PHASES", "startedPhases")
          .column("CREATED BY", "createdBy")
          .column("UPDATED", "updatedAt")
          .print(out(), rows(answer, "rollouts"));
    }
  }

  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = "A rollout with each phase's progress.")
  static final class Show extends RemoteCommand {
    @Parameters(index = "0", description = "Rollout id.")
    String id;

    @Override
    void run() {
      JsonNode rollout = remote.get(rolloutPath(remote, id, ""));
      if (remote.json) {
        printJson(rollout);
        return;
      }
      printRollout(this, rollout);
    }
  }

  @Command(
      name = "create",
      mixinStandardHelpOptions = true,
      description =
          "Start a rollout of a target version to a tag's devices, by --growth percentages or by"
              + " --phases / --phases-file (the API's JSON list of phases).")
  static final class Create extends RemoteCommand {
    @Parameters(index = "0", description = "Rollout id.")
    String id;

    @Option(names = "--tag", required = true, description = "The tag whose devices get it.")
    String tag;

    @Option(
        names = "--target-version",
        required = true,
        description = "The target version to roll out.")
    long version;

    @Option(
        names = "--growth",
        split = ",",
        description = "Cumulative percentages of the tag's devices, one phase each: 1,10,100.")
    List<Double> growth;

    @Option(names = "--phases", description = "Phases as the API's JSON list (docs/rollouts.md).")
    String phases;

    @Option(names = "--phases-file", description = "A file holding the --phases JSON.")
    Path phasesFile;

    @Option(names = "--success-share", description = "Share of a phase updated to go on (0-1).")
    Double successShare;

    @Option(
        names = "--success-within",
        description = "Seconds a phase has to reach its success share.")
    Long successWithin;

    @Option(names = "--error-count", description = "Halt when this many devices failed.")
    Integer errorCount;

    @Option(names = "--error-share", description = "Halt when this share of devices failed.")
    Double errorShare;

    @Option(names = "--rollback", description = "On a halt, take the target back.")
    boolean rollback;

    @Override
    void run() {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("id", id);
      body.put("tag", tag);
      body.put("version", version);
      if (growth != null) {
        body.put("growth", growth);
      }
      if (phases != null || phasesFile != null) {
        body.put("phases", phasesJson());
      }
      putIfGiven(body, "successShare", successShare);
      putIfGiven(body, "successWithinSeconds", successWithin);
      putIfGiven(body, "errorCount", errorCount);
      putIfGiven(body, "errorShare", errorShare);
      body.put("rollback", rollback);
      JsonNode created = remote.call("POST", remote.factoryPath("/rollouts"), body);
      if (remote.json) {
        printJson(created);
        return;
      }
      printRollout(this, created);
    }

    private JsonNode phasesJson() {
      if (phases != null && phasesFile != null) {
        throw new CliFailure(CliFailure.USAGE, "give --phases or --phases-file, not both");
      }
      String text = phases;
      if (phasesFile != null) {
        try {
          text = Files.readString(phasesFile, StandardCharsets.UTF_8);
        } catch (IOException e) {
          throw new CliFailure(CliFailure.USAGE, "cannot read " + phasesFile + ": " + e);
        }
      }
      try {
        JsonNode parsed = Remote.JSON.readTree(text);
        if (parsed == null || !parsed.isArray()) {
          throw new CliFailure(CliFailure.USAGE, "--phases must be a JSON list of phases");
        }
        return parsed;
      } catch (IOException e) {
        throw new CliFailure(CliFailure.USAGE, "--phases is not JSON: " + e.getMessage());
      }
    }

    private static void putIfGiven(Map<String, Object> body, String key, Object value) {
      if (value != null) {
        body.put(key, value);
      }
    }
  }

  /** pause, resume and cancel: a POST to the rollout's action, the rollout as it then stands. */
  abstract static class Action extends RemoteCommand {
    @Parameters(index = "0", description = "Rollout id.")
    String id;

    abstract String action();

    @Override
    void run() {
      JsonNode rollout = remote.call("POST", rolloutPath(remote, id, "/" + action()), null);
      if (remote.json) {
        printJson(rollout);
        return;
      }
      out().println("rollout " + id + " is " + Table.text(rollout.get("status")));
      out().flush();
    }
  }

  @Command(
      name = "pause",
      mixinStandardHelpOptions = true,
      description = "Pause a rollout: no phase starts, halts or completes until resumed.")
  static final class Pause extends Action {
    @Override
    String action() {
      return "pause";
    }
  }

  @Command(
      name = "resume",
      mixinStandardHelpOptions = true,
      description = "Resume a paused rollout; the current phase's clock restarts.")
  static final class Resume extends Action {
    @Override
    String action() {
      return "resume";
    }
  }

  @Command(
      name = "cancel",
      mixinStandardHelpOptions = true,
      description = "Cancel a rollout for good: devices that got the target keep it.")
  static final class Cancel extends Action {
    @Override
    String action() {
      return "cancel";
    }
  }
}
