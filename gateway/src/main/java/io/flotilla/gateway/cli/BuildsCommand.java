package io.flotilla.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code flotilla builds list|show|logs}: the builds containers.git pushes start. */
@Command(
    name = "builds",
    mixinStandardHelpOptions = true,
    description = "A factory's builds: list, show, logs.",
    subcommands = {
      BuildsCommand.ListBuilds.class,
      BuildsCommand.Show.class,
      BuildsCommand.Logs.class
    })
public final class BuildsCommand implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "a builds command is required (list, show, logs)");
  }

  static String buildPath(Remote remote, long number, String rest) {
    return remote.factoryPath("/builds/" + number + rest);
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "The newest builds.")
  static final class ListBuilds extends RemoteCommand {
    @Option(
        names = "--limit",
        defaultValue = "50",
        description = "How many (1-1000, default ${DEFAULT-VALUE}).")
    int limit;

    @Override
    void run() {
      JsonNode answer = remote.get(remote.factoryPath("/builds?limit=" + limit));
      if (remote.json) {
        printJson(answer);
        return;
      }
      new Table()
          .column("BUILD", "number")
          .column("STATUS", "status")
          .column("BRANCH", "branch")
          .column("TAG", "tag")
          .column(
              "COMMIT",
              b -> {
                String commit = Table.text(b.get("commit"));
                return commit.length() > 12 ? commit.substring(0, 12) : commit;
              })
          .column("CREATED", "createdAt")
          .column("FINISHED", "finishedAt")
          .print(out(), rows(answer, "builds"));
    }
  }

  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = "A build: status, steps, the targets and apps it published.")
  static final class Show extends RemoteCommand {
    @Parameters(index = "0", description = "Build number.")
    long number;

    @Override
    void run() {
      JsonNode build = remote.get(buildPath(remote, number, ""));
      if (remote.json) {
        printJson(build);
        return;
      }
      List<String[]> pairs = new ArrayList<>();
      build
          .properties()
          .forEach(
              e -> {
                if (!e.getKey().equals("steps")) {
                  pairs.add(new String[] {e.getKey(), Table.text(e.getValue())});
                }
              });
      Table.details(out(), pairs);
      if (build.path("steps").size() > 0) {
        out().println();
        List<JsonNode> steps = new ArrayList<>();
        build.path("steps").forEach(steps::add);
        Table table = new Table();
        steps
            .get(0)
            .fieldNames()
            .forEachRemaining(field -> table.column(field.toUpperCase(), field));
        table.print(out(), steps);
      }
    }
  }

  @Command(
      name = "logs",
      mixinStandardHelpOptions = true,
      description =
          "A build's log; --follow keeps printing until the build finishes. With --json, one JSON"
              + " object per line.")
  static final class Logs extends RemoteCommand {
    @Parameters(index = "0", description = "Build number.")
    long number;

    @Option(
        names = {"-F", "--follow"},
        description = "Print new lines as the build writes them, until it finishes.")
    boolean follow;

    @Override
    void run() {
      try (InputStream body = remote.stream(buildPath(remote, number, "/log?follow=" + follow));
          BufferedReader lines =
              new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
        String line;
        while ((line = lines.readLine()) != null) {
          if (remote.json) {
            out().println(Remote.JSON.createObjectNode().put("line", line));
          } else {
            out().println(line);
          }
          out().flush();
        }
      } catch (IOException e) {
        throw new CliFailure(CliFailure.SERVER, "build " + number + "'s log broke off: " + e);
      }
      if (follow) {
        JsonNode build = remote.get(buildPath(remote, number, ""));
        err().println("build " + number + " " + build.path("status").asText());
        err().flush();
      }
    }
  }
}
