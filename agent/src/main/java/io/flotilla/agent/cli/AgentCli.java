package io.flotilla.agent.cli;

import io.flotilla.agent.AgentException;
import io.flotilla.agent.ExitCode;
import io.flotilla.agent.Failures;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** {@code flotilla-agent}: the fioup-compatible device agent (docs/device-protocol.md §7). */
@Command(
    name = "flotilla-agent",
    mixinStandardHelpOptions = true,
    versionProvider = AgentCli.Version.class,
    description =
        "Updates this device's docker-compose apps from a Flotilla (or Foundries-compatible) server.",
    subcommands = {
      RegisterCommand.class,
      UpdateCommands.Check.class,
      UpdateCommands.Update.class,
      UpdateCommands.Fetch.class,
      UpdateCommands.Install.class,
      UpdateCommands.Start.class,
      UpdateCommands.Cancel.class,
      UpdateCommands.Status.class,
      DaemonCommand.class,
      InfoCommands.ConfigCheck.class,
      InfoCommands.WhoAmI.class,
      InfoCommands.VersionCommand.class
    })
public final class AgentCli {

  @Option(
      names = {"-c", "--cfg-dirs"},
      scope = ScopeType.INHERIT,
      paramLabel = "PATHS",
      description =
          "Comma list of config files/directories replacing the defaults (env FIOUP_CFG_DIRS).")
  String cfgDirs;

  @Option(
      names = {"-v", "--verbose"},
      scope = ScopeType.INHERIT,
      description = "Say more about what happens.")
  boolean verbose;

  AgentContext context() {
    return new AgentContext(cfgDirs, verbose);
  }

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /**
   * Runs a command and returns its exit code; an {@link AgentException} becomes its message and its
   * code.
   */
  public static int run(String... args) {
    CommandLine commandLine = new CommandLine(new AgentCli());
    commandLine.setExecutionExceptionHandler(
        (e, cmd, parsed) -> {
          if (e instanceof AgentException agent) {
            cmd.getErr().println("error: " + Failures.describe(agent));
            return agent.exitCode().code();
          }
          cmd.getErr().println("error: " + e);
          if (parsed.matchedOption("-v") != null) {
            e.printStackTrace(cmd.getErr());
          }
          return ExitCode.GENERIC.code();
        });
    commandLine.setExitCodeExceptionMapper(e -> ExitCode.GENERIC.code());
    return commandLine.execute(args);
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = AgentCli.class.getPackage().getImplementationVersion();
      return new String[] {"flotilla-agent " + (version == null ? "development" : version)};
    }
  }
}
