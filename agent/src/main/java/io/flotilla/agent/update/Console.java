package io.flotilla.agent.update;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Human progress output: {@code [3/7] Fetching 12.4 MiB ...}. Silent in JSON mode so stdout stays
 * machine-readable.
 */
public final class Console {

  public static final int STEPS = 7;

  private final PrintStream out;
  private final boolean quiet;
  private final boolean verbose;
  private long lastProgressPrint;

  public Console(PrintStream out, boolean quiet, boolean verbose) {
    this.out = out;
    this.quiet = quiet;
    this.verbose = verbose;
  }

  public void step(int number, String text) {
    if (!quiet) {
      out.printf("[%d/%d] %s%n", number, STEPS, text);
    }
  }

  public void info(String text) {
    if (!quiet) {
      out.println("      " + text);
    }
  }

  /**
   * Why the update stopped, as the last progress line: a daemon's stdout would otherwise end on the
   * step that failed, with the reason on stderr only.
   */
  public void failed(String text) {
    if (!quiet) {
      out.println("      failed: " + text);
    }
  }

  public void debug(String text) {
    if (verbose && !quiet) {
      out.println("      " + text);
    }
  }

  /** At most one line per second, so long downloads show they move without flooding logs. */
  public void progress(long done, long total) {
    long now = System.nanoTime();
    if (quiet || (now - lastProgressPrint < 1_000_000_000L && done < total)) {
      return;
    }
    lastProgressPrint = now;
    out.printf(
        "      %s / %s (%d%%)%n", size(done), size(total), total == 0 ? 100 : done * 100 / total);
  }

  public static String size(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double value = bytes;
    int unit = -1;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
  }
}
