package io.flotilla.agent.update;

import io.flotilla.agent.AgentException;
import io.flotilla.agent.ExitCode;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

/**
 * What each command may do given the unfinished update on disk (if any): {@code fetch}/{@code
 * update} start a new update or resume one; {@code install}, {@code start} and {@code cancel} need
 * one in the right state.
 */
public enum UpdateAction {
  UPDATE(true, EnumSet.complementOf(EnumSet.of(UpdateState.CANCELLING))),
  FETCH(true, EnumSet.range(UpdateState.CREATED, UpdateState.FETCHED)),
  INSTALL(false, EnumSet.of(UpdateState.FETCHED, UpdateState.INSTALLING)),
  START(
      false,
      EnumSet.of(
          UpdateState.INSTALLED,
          UpdateState.STARTING,
          UpdateState.STARTED,
          UpdateState.COMPLETING)),
  CANCEL(
      false,
      EnumSet.of(
          UpdateState.CREATED,
          UpdateState.INITIALIZING,
          UpdateState.INITIALIZED,
          UpdateState.FETCHING,
          UpdateState.FETCHED,
          UpdateState.CANCELLING));

  private final boolean mayStartNew;
  private final Set<UpdateState> allowed;

  UpdateAction(boolean mayStartNew, Set<UpdateState> allowed) {
    this.mayStartNew = mayStartNew;
    this.allowed = allowed;
  }

  public boolean mayStartNew() {
    return mayStartNew;
  }

  /**
   * Throws with exit 24 when the action needs an update and there is none, 10 when the update's
   * state does not allow the action.
   */
  public void check(Optional<UpdateRecord> unfinished) {
    String command = name().toLowerCase();
    if (unfinished.isEmpty()) {
      if (!mayStartNew) {
        throw new AgentException(
            ExitCode.NO_UPDATE_IN_PROGRESS,
            "no update in progress to " + command + "; run \"update\" or \"fetch\" first");
      }
      return;
    }
    UpdateRecord update = unfinished.get();
    if (!allowed.contains(update.state())) {
      throw new AgentException(
          ExitCode.INVALID_ACTION,
          "cannot "
              + command
              + " update "
              + update.id()
              + " to "
              + update.targetName()
              + " while it is "
              + update.state().wireName());
    }
  }
}
