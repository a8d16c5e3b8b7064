package io.flotilla.agent.cli;

import io.flotilla.agent.config.AgentConfig;
import io.flotilla.protocol.Json;
import io.flotilla.protocol.device.DeviceRecord;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** Commands that only read: config-check, whoami, version. */
final class InfoCommands {

  private InfoCommands() {}

  @Command(
      name = "config-check",
      description = "Print the merged configuration and check its values.")
  static final class ConfigCheck implements Callable<Integer> {
    @ParentCommand AgentCli root;

    @Override
    public Integer call() {
      AgentConfig config = root.context().config();
      System.out.println("# merged from " + config.sources());
      System.out.print(config.toToml());
      config.validate();
      System.out.println(
          "# storage_watermark="
              + config.storageWatermark()
              + "% polling_seconds="
              + config.pollingSeconds()
              + " tag="
              + config.tag().orElse("(none)")
              + " apps="
              + config.composeApps().map(Object::toString).orElse("(all)"));
      return 0;
    }
  }

  @Command(name = "whoami", description = "Show this device as the server knows it.")
  static final class WhoAmI implements Callable<Integer> {
    @ParentCommand AgentCli root;

    @Option(names = "--format", defaultValue = "text")
    String format;

    @Override
    public Integer call() throws Exception {
      AgentContext context = root.context();
      context.flushQueuedIfIdle();
      DeviceRecord device = context.gateway().device();
      if ("json".equalsIgnoreCase(format)) {
        System.out.println(new String(Json.toBytes(device), StandardCharsets.UTF_8));
      } else {
        System.out.println(
            "Device "
                + device.name()
                + " ("
                + device.uuid()
                + ") in factory "
                + device.factory()
                + ", tag "
                + device.tag()
                + ", target "
                + device.targetName());
      }
      return 0;
    }
  }

  @Command(name = "version", description = "Print the agent version.")
  static final class VersionCommand implements Callable<Integer> {
    @Override
    public Integer call() {
      System.out.println(new AgentCli.Version().getVersion()[0]);
      return 0;
    }
  }
}
