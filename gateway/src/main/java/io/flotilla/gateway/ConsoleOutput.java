package io.flotilla.gateway;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.filter.ThresholdFilter;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.FileAppender;
import ch.qos.logback.core.filter.Filter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a command shows on the console: its own lines on stdout, and the node's log in a file under
 * the data dir (errors also on stderr) unless {@code --verbose} asks for all of it on the console.
 */
public final class ConsoleOutput implements AutoCloseable {

  public static final String LOG_FILE = "logs/flotilla.log";

  private final Appender<ILoggingEvent> file;
  private final Appender<ILoggingEvent> console;
  private final Filter<ILoggingEvent> errorsOnly;

  private ConsoleOutput(
      Appender<ILoggingEvent> file,
      Appender<ILoggingEvent> console,
      Filter<ILoggingEvent> errorsOnly) {
    this.file = file;
    this.console = console;
    this.errorsOnly = errorsOnly;
  }

  /**
   * Sends the log to {@code <dataDir>/logs/flotilla.log} (appended) and leaves only errors on the
   * console, or with {@code verbose} changes nothing. Says where the log goes in one line on
   * stderr. Closing restores the console.
   */
  public static ConsoleOutput logTo(Path dataDir, boolean verbose) throws IOException {
    if (verbose || !(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return new ConsoleOutput(null, null, null);
    }
    Path path = dataDir.toAbsolutePath().normalize().resolve(LOG_FILE);
    Files.createDirectories(path.getParent());
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern("%d{yyyy-MM-dd HH:mm:ss.SSS} %-5level %logger{20} - %msg%n");
    encoder.start();
    FileAppender<ILoggingEvent> file = new FileAppender<>();
    file.setContext(context);
    file.setName("FILE");
    file.setFile(path.toString());
    file.setAppend(true);
    file.setEncoder(encoder);
    file.start();
    ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.addAppender(file);
    Appender<ILoggingEvent> console = root.getAppender("STDERR");
    ThresholdFilter errorsOnly = new ThresholdFilter();
    errorsOnly.setLevel(Level.ERROR.levelStr);
    errorsOnly.start();
    if (console != null) {
      console.addFilter(errorsOnly);
    }
    System.err.println("flotilla: log in " + path + " (--verbose shows it here)");
    return new ConsoleOutput(file, console, errorsOnly);
  }

  @Override
  public void close() {
    if (file == null || !(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return;
    }
    context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).detachAppender(file);
    file.stop();
    if (console != null) {
      console.clearAllFilters();
    }
  }

  /**
   * Scala's {@code println} writes to {@code scala.Console.out}, which takes {@code System.out} as
   * it is when Scala's Console is first used. Libraries print there: pekko-projection-jdbc 1.0.0
   * prints {@code # stop <projection>} for every projection at shutdown, with no setting to turn it
   * off. Called first thing in {@code main}, this makes Scala's Console write to the log (DEBUG,
   * logger {@code scala.Console}) while {@code System.out} stays the command's.
   */
  static void libraryPrintsToLog() {
    PrintStream stdout = System.out;
    System.setOut(
        new PrintStream(
            new LineLogger(LoggerFactory.getLogger("scala.Console")),
            true,
            StandardCharsets.UTF_8));
    try {
      scala.Console.out();
    } finally {
      System.setOut(stdout);
    }
  }

  private static final class LineLogger extends OutputStream {
    private final Logger log;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();

    LineLogger(Logger log) {
      this.log = log;
    }

    @Override
    public synchronized void write(int b) {
      if (b == '\n') {
        log.debug(line.toString(StandardCharsets.UTF_8));
        line.reset();
      } else if (line.size() < 8192) {
        line.write(b);
      }
    }
  }
}
