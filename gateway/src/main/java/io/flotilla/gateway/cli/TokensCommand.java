package io.flotilla.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code flotilla tokens create|list|revoke}: a factory's API tokens (needs admin scope). */
@Command(
    name = "tokens",
    mixinStandardHelpOptions = true,
    description = "A factory's API tokens: create, list, revoke.",
    subcommands = {
      TokensCommand.Create.class,
      TokensCommand.ListTokens.class,
      TokensCommand.Revoke.class
    })
public final class TokensCommand implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "a tokens command is required (create, list, revoke)");
  }

  @Command(
      name = "create",
      mixinStandardHelpOptions = true,
      description = "Create a token; its secret is shown this once.")
  static final class Create extends RemoteCommand {
    @Option(names = "--description", required = true, description = "What the token is for.")
    String description;

    @Option(
        names = {"-s", "--scopes"},
        split = ",",
        required = true,
        description =
            "Comma-separated scopes: devices:read devices:create devices:write targets:read"
                + " targets:write containers:read containers:push admin.")
    List<String> scopes;

    @Override
    void run() {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("description", description);
      body.put("scopes", scopes);
      JsonNode created = remote.call("POST", remote.factoryPath("/tokens"), body);
      if (remote.json) {
        printJson(created);
        return;
      }
      List<String[]> pairs = new ArrayList<>();
      for (String field : List.of("id", "token", "description", "scopes", "createdAt")) {
        pairs.add(new String[] {field, Table.text(created.get(field))});
      }
      Table.details(out(), pairs);
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "The factory's tokens.")
  static final class ListTokens extends RemoteCommand {
    @Override
    void run() {
      JsonNode answer = remote.get(remote.factoryPath("/tokens"));
      if (remote.json) {
        printJson(answer);
        return;
      }
      new Table()
          .column("ID", "id")
          .column("DESCRIPTION", "description")
          .column("SCOPES", "scopes")
          .column("CREATED", "createdAt")
          .column("REVOKED", "revokedAt")
          .print(out(), rows(answer, "tokens"));
    }
  }

  @Command(
      name = "revoke",
      mixinStandardHelpOptions = true,
      description = "Revoke a token: it is refused from now on.")
  static final class Revoke extends RemoteCommand {
    @Parameters(index = "0", description = "Token id (from tokens list).")
    String id;

    @Override
    void run() {
      remote.call("DELETE", remote.factoryPath("/tokens/" + Remote.segment(id)), null);
      if (remote.json) {
        printJson(Remote.JSON.createObjectNode().put("id", id).put("revoked", true));
      } else {
        out().println("token " + id + " revoked");
        out().flush();
      }
    }
  }
}
