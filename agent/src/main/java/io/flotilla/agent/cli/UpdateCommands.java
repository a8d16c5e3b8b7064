package io.flotilla.agent.cli;

import io.flotilla.agent.update.InstanceLock;
import io.flotilla.agent.update.SelectedTarget;
import io.flotilla.agent.update.UpdateAction;
import io.flotilla.agent.update.UpdateEngine;
import io.flotilla.agent.update.UpdateRecord;
import io.flotilla.agent.update.UpdateState;
import io.flotilla.protocol.Json;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * The update commands of §7; each takes the instance lock, since two agents must never move one
 * update.
 */
final class UpdateCommands {

  private UpdateCommands() {}

  abstract static class Base implements Callable<Integer> {
    @ParentCommand AgentCli root;

    @Option(names = "--format", defaultValue = "text", description = "text or json")
    String format;

    boolean json() {
      return "json".equalsIgnoreCase(format);
    }

    void print(Object value) {
      System.out.println(new String(Json.toBytes(value), java.nio.charset.StandardCharsets.UTF_8));
    }

    static OptionalLong version(String text) {
      if (text == null) {
        return OptionalLong.empty();
      }
      try {
        return OptionalLong.of(Long.parseLong(text));
      } catch (NumberFormatException e) {
        throw new picocli.CommandLine.ParameterException(
            new picocli.CommandLine(new AgentCli()), "version must be a number, not " + text);
      }
    }

    Integer runUpdate(
        UpdateAction action, OptionalLong version, boolean syncCurrent, UpdateState until) {
      AgentContext context = root.context();
      try (InstanceLock ignored = context.lock()) {
        UpdateRecord update =
            context.engine(System.out, json()).run(action, version, syncCurrent, until);
        report(update);
        return 0;
      }
    }

    Integer advance(UpdateAction action, UpdateState until) {
      AgentContext context = root.context();
      try (InstanceLock ignored = context.lock()) {
        // checked before the engine is built: saying there is nothing to do needs no server
        Optional<UpdateRecord> unfinished = context.updates().unfinished();
        action.check(unfinished);
        UpdateEngine engine = context.engine(System.out, json());
        engine.flushEvents();
        UpdateRecord update = engine.advance(unfinished.get(), until);
        report(update);
        return 0;
      }
    }

    void report(UpdateRecord update) {
      if (json()) {
        print(update);
      } else {
        System.out.println(
            "Update "
                + update.id()
                + " to "
                + update.targetName()
                + ": "
                + update.state().wireName());
      }
    }
  }

  @Command(
      name = "check",
      description = "Fetch the targets and show which one this device should run.")
  static final class Check extends Base {
    @Override
    public Integer call() {
      AgentContext context = root.context();
      context.flushQueuedIfIdle();
      UpdateEngine engine = context.engine(System.out, json());
      SelectedTarget target = engine.check(OptionalLong.empty());
      Optional<UpdateRecord> current = context.updates().lastCompleted();
      boolean running = current.isPresent() && current.get().targetName().equals(target.name());
      if (json()) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("target", target.name());
        out.put("version", target.version());
        out.put("apps", target.apps().keySet());
        out.put("current", current.map(UpdateRecord::targetName).orElse(null));
        out.put("update_available", !running);
        print(out);
      } else {
        System.out.println(
            running
                ? "Up to date: " + target.name()
                : "Update available: "
                    + target.name()
                    + current.map(c -> " (running " + c.targetName() + ")").orElse(""));
      }
      return 0;
    }
  }

  @Command(name = "update", description = "Update to the latest target (or VERSION), all steps.")
  static final class Update extends Base {
    @Parameters(arity = "0..1", paramLabel = "VERSION")
    String version;

    @Option(
        names = "--sync-current",
        description = "Reinstall the current target, e.g. after the app shortlist changed.")
    boolean syncCurrent;

    @Override
    public Integer call() {
      return runUpdate(UpdateAction.UPDATE, version(version), syncCurrent, UpdateState.COMPLETED);
    }
  }

  @Command(
      name = "fetch",
      description = "Download what the latest target (or VERSION) needs, without installing.")
  static final class Fetch extends Base {
    @Parameters(arity = "0..1", paramLabel = "VERSION")
    String version;

    @Override
    public Integer call() {
      return runUpdate(UpdateAction.FETCH, version(version), false, UpdateState.FETCHED);
    }
  }

  @Command(
      name = "install",
      description = "Install the fetched update (stops the apps that change).")
  static final class Install extends Base {
    @Override
    public Integer call() {
      return advance(UpdateAction.INSTALL, UpdateState.INSTALLED);
    }
  }

  @Command(name = "start", description = "Start the installed update's apps and complete it.")
  static final class Start extends Base {
    @Override
    public Integer call() {
      return advance(UpdateAction.START, UpdateState.COMPLETED);
    }
  }

  @Command(
      name = "cancel",
      description = "Cancel the update in progress (only before installation).")
  static final class Cancel extends Base {
    @Override
    public Integer call() {
      AgentContext context = root.context();
      try (InstanceLock ignored = context.lock()) {
        // checked before the engine is built: canceling needs neither the server nor the registry
        UpdateAction.CANCEL.check(context.updates().unfinished());
        report(context.engine(System.out, json()).cancel("canceled on the device"));
        return 0;
      }
    }
  }

  @Command(name = "status", description = "Show the current target and the update in progress.")
  static final class Status extends Base {
    @Override
    public Integer call() {
      AgentContext context = root.context();
      Optional<UpdateRecord> current = context.updates().lastCompleted();
      Optional<UpdateRecord> unfinished = context.updates().unfinished();
      Optional<UpdateRecord> latest = context.updates().latest();
      if (json()) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("current_target", current.map(UpdateRecord::targetName).orElse(null));
        out.put("current_apps", current.map(UpdateRecord::apps).orElse(Map.of()));
        out.put("update_in_progress", unfinished.orElse(null));
        out.put("last_update", latest.orElse(null));
        print(out);
      } else {
        System.out.println(
            "Current target: " + current.map(UpdateRecord::targetName).orElse("none"));
        current.ifPresent(
            c -> c.apps().forEach((app, uri) -> System.out.println("  " + app + ": " + uri)));
        System.out.println(
            "Update in progress: "
                + unfinished
                    .map(u -> u.id() + " to " + u.targetName() + " (" + u.state().wireName() + ")")
                    .orElse("none"));
        latest
            .filter(u -> u.state() == UpdateState.FAILED)
            .ifPresent(
                u ->
                    System.out.println("Last update failed: " + u.targetName() + ": " + u.error()));
      }
      return 0;
    }
  }
}
