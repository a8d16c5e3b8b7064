package io.flotilla.core.auth;

import java.util.Arrays;
import java.util.Optional;

/** What a factory API token may do. The wire names are stored in the journal and never change. */
public enum Scope {
  DEVICES_READ("devices:read"),
  DEVICES_CREATE("devices:create"),
  DEVICES_WRITE("devices:write"),
  TARGETS_READ("targets:read"),
  TARGETS_WRITE("targets:write"),
  CONTAINERS_READ("containers:read"),
  CONTAINERS_PUSH("containers:push"),
  ADMIN("admin");

  private final String wireName;

  Scope(String wireName) {
    this.wireName = wireName;
  }

  public String wireName() {
    return wireName;
  }

  public static Optional<Scope> fromWireName(String name) {
    return Arrays.stream(values()).filter(s -> s.wireName.equals(name)).findFirst();
  }
}
