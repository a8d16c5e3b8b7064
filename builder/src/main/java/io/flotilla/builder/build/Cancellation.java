package io.flotilla.builder.build;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Lets a build's actors stop work that runs outside them: blocking steps poll {@link #check()}, and
 * external processes register here so that canceling or timing out kills them instead of leaving
 * them to finish.
 */
public final class Cancellation {

  private volatile String reason;
  private final Set<Process> processes = ConcurrentHashMap.newKeySet();

  public void cancel(String why) {
    reason = why;
    processes.forEach(p -> p.descendants().forEach(ProcessHandle::destroyForcibly));
    processes.forEach(Process::destroyForcibly);
  }

  public boolean canceled() {
    return reason != null;
  }

  public void check() throws BuildFailure {
    if (reason != null) {
      throw BuildFailure.deterministic(reason);
    }
  }

  public void register(Process process) {
    processes.add(process);
    if (reason != null) {
      process.destroyForcibly();
    }
  }

  public void unregister(Process process) {
    processes.remove(process);
  }
}
