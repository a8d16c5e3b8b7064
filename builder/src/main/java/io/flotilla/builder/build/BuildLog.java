package io.flotilla.builder.build;

import java.util.ArrayList;
import java.util.List;

/**
 * Where build work writes its output. Lines are buffered here and drained by the build's runner,
 * which stores them with the build in batches: one event per line would flood the journal.
 */
public final class BuildLog {

  public static final int MAX_LINE = 4000;

  private final List<String> pending = new ArrayList<>();

  public synchronized void line(String text) {
    for (String line : text.split("\r?\n", -1)) {
      pending.add(line.length() > MAX_LINE ? line.substring(0, MAX_LINE) + "..." : line);
    }
  }

  public void line(String prefix, String text) {
    line(prefix + text);
  }

  public synchronized List<String> drain() {
    List<String> lines = List.copyOf(pending);
    pending.clear();
    return lines;
  }
}
