package io.flotilla.gateway.registry;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.flotilla.gateway.Main;
import io.flotilla.gateway.NodeConfig;
import io.flotilla.registry.RegistrySettings;
import io.flotilla.registry.gc.GarbageCollector;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code flotilla registry gc}: removes blobs that no manifest references; safe while the server
 * runs.
 */
@Command(
    name = "registry",
    mixinStandardHelpOptions = true,
    description = "Registry maintenance.",
    subcommands = RegistryCommand.Gc.class)
public final class RegistryCommand implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "a registry command is required (gc)");
  }

  public static Path registryRoot(Config config) {
    return Path.of(config.getString("flotilla.data-dir")).resolve("registry");
  }

  @Command(
      name = "gc",
      mixinStandardHelpOptions = true,
      description = "Delete unreferenced blobs older than the grace period.")
  static final class Gc implements Callable<Integer> {
    @CommandLine.Mixin Main.NodeOptions node = new Main.NodeOptions();

    @Option(names = "--dry-run", description = "Report what would be deleted, delete nothing.")
    boolean dryRun;

    @Override
    public Integer call() throws Exception {
      Config config = NodeConfig.load(node.config, node.dataDir, null, null, ConfigFactory.empty());
      GarbageCollector.Report report =
          GarbageCollector.of(RegistrySettings.fromConfig(config, registryRoot(config)))
              .collect(dryRun);
      System.out.println((dryRun ? "would delete: " : "deleted: ") + report);
      return 0;
    }
  }
}
