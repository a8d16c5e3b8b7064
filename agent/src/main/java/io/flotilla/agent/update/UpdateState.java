package io.flotilla.agent.update;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * The states of an update (§7). Each "-ing" state may be re-entered: that is a step resumed after a
 * crash. Any unfinished state may fail; only states before installation may be canceled, because
 * after that the old apps may already be stopped and only finishing (or failing and re-syncing)
 * restores a consistent device.
 */
public enum UpdateState {
  CREATED,
  INITIALIZING,
  INITIALIZED,
  FETCHING,
  FETCHED,
  INSTALLING,
  INSTALLED,
  STARTING,
  STARTED,
  COMPLETING,
  COMPLETED,
  FAILED,
  CANCELLING,
  CANCELED;

  private static final Set<UpdateState> FINAL = EnumSet.of(COMPLETED, FAILED, CANCELED);
  private static final Set<UpdateState> CANCELLABLE =
      EnumSet.of(CREATED, INITIALIZING, INITIALIZED, FETCHING, FETCHED);

  public boolean isFinal() {
    return FINAL.contains(this);
  }

  public boolean isCancellable() {
    return CANCELLABLE.contains(this);
  }

  public boolean canMoveTo(UpdateState next) {
    if (isFinal()) {
      return false;
    }
    if (next == this) {
      return name().endsWith("ING");
    }
    return switch (next) {
      case FAILED -> true;
      case CANCELLING -> isCancellable();
      case CANCELED -> this == CANCELLING;
      default ->
          this != CANCELLING
              && next.ordinal() == ordinal() + 1
              && next.ordinal() <= COMPLETED.ordinal();
    };
  }

  @JsonValue
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  @JsonCreator
  public static UpdateState fromWireName(String name) {
    return valueOf(name.toUpperCase(Locale.ROOT));
  }
}
