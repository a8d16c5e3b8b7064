package io.flotilla.agent;

/**
 * The process exit codes of docs/device-protocol.md §7; scripts and the daemon's supervisor rely on
 * them.
 */
public enum ExitCode {
  OK(0),
  GENERIC(1),
  INVALID_ACTION(10),
  METADATA_UPDATE_FAILED(20),
  NO_MATCHING_TARGET(21),
  TARGET_NOT_FOUND(22),
  INVALID_ONGOING_UPDATE(23),
  NO_UPDATE_IN_PROGRESS(24),
  TARGET_ALREADY_RUNNING(25),
  NEWER_VERSION_AVAILABLE(26),
  INIT_FAILED(30),
  FETCH_FAILED(40),
  NOT_ENOUGH_SPACE(41),
  STOP_APPS_FAILED(50),
  INSTALL_FAILED(60),
  START_FAILED(70);

  private final int code;

  ExitCode(int code) {
    this.code = code;
  }

  public int code() {
    return code;
  }
}
