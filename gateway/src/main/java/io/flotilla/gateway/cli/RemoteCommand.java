package io.flotilla.gateway.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;

/** A command against a running server: the shared options and the two output forms. */
abstract class RemoteCommand implements Callable<Integer> {

  @CommandLine.Mixin Remote remote = new Remote();

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  abstract void run();

  @Override
  public Integer call() {
    run();
    return 0;
  }

  PrintWriter out() {
    return spec.commandLine().getOut();
  }

  /** Progress and notes go to stderr, so that stdout stays what a script parses. */
  PrintWriter err() {
    return spec.commandLine().getErr();
  }

  void printJson(Object value) {
    try {
      out().println(Remote.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(value));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    out().flush();
  }

  static Iterable<JsonNode> rows(JsonNode answer, String field) {
    JsonNode rows = answer.get(field);
    return rows == null || !rows.isArray() ? java.util.List.of() : rows;
  }
}
