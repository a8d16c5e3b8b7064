package io.flotilla.agent.cli;

import io.flotilla.agent.AgentException;
import io.flotilla.agent.ExitCode;
import io.flotilla.agent.Failures;
import io.flotilla.agent.config.AgentConfig;
import io.flotilla.agent.config.RemoteConfig;
import io.flotilla.agent.gateway.GatewayClient;
import io.flotilla.agent.update.InstanceLock;
import io.flotilla.agent.update.SelectedTarget;
import io.flotilla.agent.update.UpdateAction;
import io.flotilla.agent.update.UpdateEngine;
import io.flotilla.agent.update.UpdateRecord;
import io.flotilla.agent.update.UpdateState;
import io.flotilla.agent.update.UpdateStore;
import io.flotilla.protocol.Json;
import io.flotilla.protocol.device.AppsStates;
import io.flotilla.protocol.device.ConfigChanged;
import io.flotilla.protocol.device.TargetsChanged;
import java.io.IOException;
import java.net.http.WebSocket;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

/**
 * {@code daemon}: polls every {@code polling_seconds} and at once when the WebSocket says a target
 * was published; retries a failing target up to {@value #MAX_ATTEMPTS} times, then re-syncs the
 * previous target (rollback); cancels an unfinished update when a newer target appears. Each round
 * first installs the operator's config files (§5) and reloads its own config when they change it (a
 * new tag or app shortlist), and reports the device's inventory when it changed.
 */
@Command(name = "daemon", description = "Keep this device on its latest target.")
final class DaemonCommand implements Callable<Integer> {

  static final int MAX_ATTEMPTS = 3;

  /**
   * A failed attempt leaves the changed apps stopped, so the next attempt (or the rollback) comes
   * after this short pause instead of a whole polling interval.
   */
  static final long RETRY_SECONDS = 5;

  @ParentCommand AgentCli root;

  private final Semaphore wakeUp = new Semaphore(0);
  private volatile WebSocket socket;
  private AppsStates lastReported;

  @Override
  public Integer call() throws InterruptedException {
    AgentContext context = root.context();
    try (InstanceLock ignored = context.lock()) {
      while (!Thread.currentThread().isInterrupted()) {
        // first, at start and every round: what happened while the server was away is older than
        // any news
        flushQueued(context);
        context = syncConfig(context);
        iteration(context);
        reportSystemInfo(context);
        long pause =
            retryPending(context.updates())
                ? Math.min(RETRY_SECONDS, context.config().pollingSeconds())
                : context.config().pollingSeconds();
        // drain extra wake-ups so a burst of notices causes one check
        wakeUp.tryAcquire(pause, TimeUnit.SECONDS);
        wakeUp.drainPermits();
      }
    }
    return 0;
  }

  private void iteration(AgentContext context) {
    try {
      UpdateEngine engine = context.engine(System.out, false);
      ensureSocket(context.gateway());
      UpdateStore updates = context.updates();
      // quiet: engine.run checks again and prints that step, so a round shows it once
      SelectedTarget latest = context.engine(System.out, true).check(OptionalLong.empty());
      Optional<UpdateRecord> unfinished = updates.unfinished();
      if (unfinished.isPresent()
          && !unfinished.get().targetName().equals(latest.name())
          && unfinished.get().state().isCancellable()) {
        System.out.println(
            "Newer target "
                + latest.name()
                + ": canceling update to "
                + unfinished.get().targetName());
        engine.cancel("newer target " + latest.name());
      }
      boolean givenUp = updates.failedAttempts(latest.name()) >= MAX_ATTEMPTS;
      if (updates.unfinished().isPresent() || !givenUp) {
        engine.run(UpdateAction.UPDATE, OptionalLong.empty(), false, UpdateState.COMPLETED);
      } else if (updates.latest().map(u -> u.state() == UpdateState.FAILED).orElse(false)
          && updates.lastCompleted().isPresent()) {
        // the given-up target's last attempt left the device between targets: reinstall the
        // previous one
        System.out.println(
            latest.name()
                + " failed "
                + MAX_ATTEMPTS
                + " times: rolling back to "
                + updates.lastCompleted().get().targetName());
        engine.run(UpdateAction.UPDATE, OptionalLong.empty(), true, UpdateState.COMPLETED);
      }
    } catch (AgentException e) {
      if (e.exitCode() != ExitCode.TARGET_ALREADY_RUNNING) {
        System.err.println("error: " + Failures.describe(e));
      }
    } catch (RuntimeException e) {
      System.err.println("error: " + Failures.describe(e));
    }
    reportAppsStates(context);
  }

  private static void flushQueued(AgentContext context) {
    try {
      context.flushQueued();
    } catch (AgentException | IOException e) {
      System.err.println("queued events not sent: " + Failures.describe(e));
    }
  }

  /**
   * Installs the config files of {@code GET /config}; answers a context with the new config if they
   * changed it.
   */
  private AgentContext syncConfig(AgentContext context) {
    try {
      RemoteConfig.Applied applied = context.remoteConfig().sync(context.gateway());
      if (!applied.changed().isEmpty() || !applied.removed().isEmpty()) {
        System.out.println(
            "Config files: installed " + applied.changed() + ", removed " + applied.removed());
      }
      if (!applied.agentConfigChanged()) {
        return context;
      }
      AgentContext reloaded = root.context();
      reloaded.config().validate();
      AgentConfig before = context.config();
      AgentConfig after = reloaded.config();
      System.out.println(
          "Config reloaded: tag "
              + before.tag().orElse("(none)")
              + " -> "
              + after.tag().orElse("(none)")
              + ", apps "
              + before.composeApps().map(Object::toString).orElse("(all)")
              + " -> "
              + after.composeApps().map(Object::toString).orElse("(all)"));
      // the server pushes by tag, and learnt this socket's tag when it opened
      WebSocket open = socket;
      if (open != null) {
        open.abort();
      }
      socket = null;
      lastReported = null;
      return reloaded;
    } catch (AgentException | IOException e) {
      System.err.println("cannot apply the config from the server: " + Failures.describe(e));
      return context;
    }
  }

  private static void reportSystemInfo(AgentContext context) {
    try {
      List<String> sent = context.systemInfo().report(context.gateway(), context.config().toToml());
      if (!sent.isEmpty()) {
        System.out.println("Reported system info: " + sent);
      }
    } catch (AgentException | IOException e) {
      System.err.println("cannot report system info: " + Failures.describe(e));
    }
  }

  /**
   * The latest update failed and another attempt, or the rollback to the last completed target, is
   * due.
   */
  private static boolean retryPending(UpdateStore updates) {
    Optional<UpdateRecord> latest = updates.latest();
    if (latest.isEmpty() || latest.get().state() != UpdateState.FAILED) {
      return false;
    }
    return updates.failedAttempts(latest.get().targetName()) < MAX_ATTEMPTS
        || updates.lastCompleted().isPresent();
  }

  private void reportAppsStates(AgentContext context) {
    try {
      Optional<UpdateRecord> current = context.updates().lastCompleted();
      if (current.isEmpty()) {
        return;
      }
      AppsStates states = context.engine(System.out, true).appsStates(current.get());
      AppsStates comparable = new AppsStates(null, null, states.apps());
      if (!Objects.equals(comparable, lastReported)) {
        context.gateway().appsStates(states);
        lastReported = comparable;
      }
    } catch (Exception e) {
      System.err.println("cannot report apps states: " + Failures.describe(e));
    }
  }

  private void ensureSocket(GatewayClient gateway) {
    if (socket != null && !socket.isInputClosed()) {
      return;
    }
    gateway
        .listen(
            new WebSocket.Listener() {
              private final StringBuilder text = new StringBuilder();

              @Override
              public CompletionStage<?> onText(
                  WebSocket webSocket, CharSequence data, boolean last) {
                text.append(data);
                if (last) {
                  try {
                    String type = Json.mapper().readTree(text.toString()).path("type").asText();
                    if (TargetsChanged.TYPE.equals(type) || ConfigChanged.TYPE.equals(type)) {
                      wakeUp.release();
                    }
                  } catch (Exception ignored) {
                    // an unknown message: the next poll will notice anything that matters
                  }
                  text.setLength(0);
                }
                webSocket.request(1);
                return null;
              }
            })
        .whenComplete((ws, error) -> socket = error == null ? ws : null);
  }
}
