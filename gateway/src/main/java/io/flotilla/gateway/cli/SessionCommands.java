package io.flotilla.gateway.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code flotilla login} and {@code flotilla config get|set}: the profile file. */
public final class SessionCommands {

  private SessionCommands() {}

  @Command(
      name = "login",
      mixinStandardHelpOptions = true,
      description =
          "Save the server URL, a token and (optionally) a factory in the profile file, after checking"
              + " them against the server.")
  public static final class Login extends RemoteCommand {
    @Override
    void run() {
      if (remote.url == null || remote.token == null) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "login needs --url and --token (or FLOTILLA_URL, FLOTILLA_TOKEN)");
      }
      if (remote.factory != null && !remote.factory.isBlank()) {
        remote.get(remote.factoryPath(""));
      } else {
        remote.get("/api/v1/factories");
      }
      Profile saved =
          remote
              .profile()
              .with("url", remote.baseUrl())
              .with("token", remote.token())
              .with("factory", blankToNull(remote.factory));
      saved.save(remote.profileFile());
      if (remote.json) {
        ObjectNode answer = Remote.JSON.valueToTree(saved.redacted());
        answer.put("file", remote.profileFile().toString());
        printJson(answer);
      } else {
        out().println("Logged in to " + saved.url() + "; profile saved in " + remote.profileFile());
        out().flush();
      }
    }

    private static String blankToNull(String value) {
      return value == null || value.isBlank() ? null : value;
    }
  }

  @Command(
      name = "config",
      mixinStandardHelpOptions = true,
      description = "Show or change the CLI's profile file.",
      subcommands = {Get.class, Set.class})
  public static final class Config implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "a config command is required (get, set)");
    }
  }

  @Command(
      name = "get",
      mixinStandardHelpOptions = true,
      description = "Show the profile (the token shortened) and the file it is in.")
  static final class Get extends RemoteCommand {
    @Override
    void run() {
      Profile shown = remote.profile().redacted();
      if (remote.json) {
        ObjectNode answer = Remote.JSON.valueToTree(shown);
        answer.put("file", remote.profileFile().toString());
        printJson(answer);
        return;
      }
      List<String[]> pairs = new ArrayList<>();
      pairs.add(new String[] {"file", remote.profileFile().toString()});
      pairs.add(new String[] {"url", orDash(shown.url())});
      pairs.add(new String[] {"token", orDash(shown.token())});
      pairs.add(new String[] {"factory", orDash(shown.factory())});
      Table.details(out(), pairs);
    }
  }

  @Command(
      name = "set",
      mixinStandardHelpOptions = true,
      description = "Set one setting of the profile: url, token or factory.")
  static final class Set extends RemoteCommand {
    @Parameters(index = "0", description = "url, token or factory")
    String key;

    @Parameters(index = "1", description = "The value.")
    String value;

    @Override
    void run() {
      if (!Profile.KEYS.containsKey(key)) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "unknown setting '" + key + "'; known: url, token, factory");
      }
      Profile saved = remote.profile().with(key, value);
      saved.save(remote.profileFile());
      if (remote.json) {
        ObjectNode answer = Remote.JSON.valueToTree(saved.redacted());
        answer.put("file", remote.profileFile().toString());
        printJson(answer);
      } else {
        out().println(key + " set in " + remote.profileFile());
        out().flush();
      }
    }
  }

  static String orDash(String value) {
    return value == null ? "-" : value;
  }
}
