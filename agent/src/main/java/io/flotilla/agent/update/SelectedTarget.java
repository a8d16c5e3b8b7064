package io.flotilla.agent.update;

import io.flotilla.protocol.composeapp.AppUri;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * A target chosen for this device: its name, numeric version and the apps to run (after the
 * shortlist).
 */
public record SelectedTarget(
    String name, long version, Map<String, AppUri> apps, boolean newerAvailable) {

  public SelectedTarget {
    apps = Collections.unmodifiableMap(new TreeMap<>(apps));
  }

  public String versionText() {
    return Long.toString(version);
  }
}
