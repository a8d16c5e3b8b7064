package io.flotilla.gateway;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.flotilla.gateway.cli.BuildsCommand;
import io.flotilla.gateway.cli.CliFailure;
import io.flotilla.gateway.cli.DevicesCommand;
import io.flotilla.gateway.cli.RolloutsCommand;
import io.flotilla.gateway.cli.SessionCommands;
import io.flotilla.gateway.cli.StatusCommand;
import io.flotilla.gateway.cli.TargetsCommand;
import io.flotilla.gateway.cli.TokensCommand;
import io.flotilla.gateway.demo.DemoCommand;
import io.flotilla.gateway.journal.JournalCommand;
import io.flotilla.gateway.projection.ProjectionsCommand;
import io.flotilla.gateway.registry.RegistryCommand;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.apache.pekko.actor.CoordinatedShutdown;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/flotilla}: the server and the operator commands. */
@Command(
    name = "flotilla",
    mixinStandardHelpOptions = true,
    version = "flotilla 0.1.0",
    description = "Self-hosted OTA updates for fleets of Linux devices running compose apps.",
    subcommands = {
      Main.Server.class,
      DemoCommand.class,
      JournalCommand.class,
      RegistryCommand.class,
      ProjectionsCommand.class,
      SessionCommands.Login.class,
      SessionCommands.Config.class,
      StatusCommand.class,
      TargetsCommand.class,
      DevicesCommand.class,
      BuildsCommand.class,
      TokensCommand.class,
      RolloutsCommand.class
    })
public final class Main implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(),
        "a command is required (server, demo, journal, registry, projections, login, config,"
            + " status, targets, devices, builds, tokens, rollouts)");
  }

  /** The exit status of a node that its cluster downed. */
  public static final int EXIT_DOWNED = 3;

  public static void main(String[] args) {
    ConsoleOutput.libraryPrintsToLog();
    int exit = commandLine().execute(args);
    if (exit != 0) {
      System.exit(exit);
    }
  }

  /** The command line {@code main} runs; tests run it in-process with their own out and err. */
  public static CommandLine commandLine() {
    return new CommandLine(new Main()).setExecutionExceptionHandler(Main::reportFailure);
  }

  private static int reportFailure(
      Exception e, CommandLine commandLine, CommandLine.ParseResult parseResult) {
    commandLine.getErr().println("flotilla: " + e.getMessage());
    commandLine.getErr().flush();
    return e instanceof CliFailure failure ? failure.exitCode() : 1;
  }

  /** Options every command that opens the node's database shares. */
  public static class NodeOptions {
    @Option(
        names = "--data-dir",
        defaultValue = "${env:FLOTILLA_DATA_DIR}",
        description =
            "Directory for the embedded database, keys, the admin token and the log (default: env FLOTILLA_DATA_DIR, else ./data).")
    public Path dataDir;

    @Option(
        names = "--config",
        description = "HOCON profile, e.g. conf/postgres.conf (default: embedded H2).")
    public Path config;
  }

  @Command(name = "server", mixinStandardHelpOptions = true, description = "Start a Flotilla node.")
  static final class Server implements Callable<Integer> {
    @CommandLine.Mixin NodeOptions node = new NodeOptions();

    @Option(
        names = "--http-port",
        defaultValue = "${env:FLOTILLA_HTTP_PORT}",
        description = "API port (default: env FLOTILLA_HTTP_PORT, else 8080).")
    Integer httpPort;

    @Option(
        names = "--device-port",
        defaultValue = "${env:FLOTILLA_DEVICE_PORT}",
        description = "Device gateway (mTLS) port (default: env FLOTILLA_DEVICE_PORT, else 8443).")
    Integer devicePort;

    @Option(
        names = "--verbose",
        description = "Log to the console instead of <data-dir>/" + ConsoleOutput.LOG_FILE + ".")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
      Config config =
          NodeConfig.load(node.config, node.dataDir, httpPort, devicePort, ConfigFactory.empty());
      try (ConsoleOutput output =
          ConsoleOutput.logTo(Path.of(config.getString("flotilla.data-dir")), verbose)) {
        FlotillaServer server = FlotillaServer.start(config);
        System.out.println(
            "Flotilla is up: http://127.0.0.1:"
                + server.httpPort()
                + "/api/v1 (data in "
                + server.dataDir()
                + ")");
        System.out.println("Admin token: " + server.sharedDir().resolve(AdminTokenFile.FILE_NAME));
        System.out.println(
            "Device gateway (mTLS): "
                + server.devices().publicUrl()
                + " (root.crt and device certificates from POST /ota/devices/)");
        server.system().getWhenTerminated().toCompletableFuture().join();
        if (CoordinatedShutdown.get(server.system())
            .getShutdownReason()
            .filter(reason -> reason.equals(CoordinatedShutdown.clusterDowningReason()))
            .isPresent()) {
          // A non-zero exit so that a supervisor (systemd Restart=on-failure) starts it again.
          System.err.println(
              "flotilla: the cluster downed this node (split-brain resolver or an operator);"
                  + " it stops, and rejoins as a new member when started again");
          return EXIT_DOWNED;
        }
        return 0;
      }
    }
  }
}
