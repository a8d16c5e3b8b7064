package io.flotilla.agent;

/** A failure the CLI reports with its message and exits with {@link #exitCode()}. */
public class AgentException extends RuntimeException {

  private final ExitCode exitCode;

  public AgentException(ExitCode exitCode, String message) {
    super(message);
    this.exitCode = exitCode;
  }

  public AgentException(ExitCode exitCode, String message, Throwable cause) {
    super(message, cause);
    this.exitCode = exitCode;
  }

  public ExitCode exitCode() {
    return exitCode;
  }
}
