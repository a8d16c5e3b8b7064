package io.flotilla.core.app;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code <registry host>/<factory>/<app>@sha256:<manifest digest>}: how a target names one app version. */
public record AppUri(String registry, String factory, String app, String digest) {

  private static final Pattern URI =
      Pattern.compile("([A-Za-z0-9.-]+(?::[0-9]{1,5})?)/([a-z0-9-]{3,63})/([a-z0-9][a-z0-9_-]{0,62})@(sha256:[0-9a-f]{64})");

  public static AppUri parse(String value) {
    if (value == null) {
      throw new IllegalArgumentException("app uri is missing");
    }
    Matcher matcher = URI.matcher(value);
    if (!matcher.matches()) {
      throw new IllegalArgumentException(
          "app uri '" + value + "' is not <registry host>/<factory>/<app>@sha256:<64 hex digits>");
    }
    return new AppUri(matcher.group(1), matcher.group(2), matcher.group(3), matcher.group(4));
  }

  @Override
  public String toString() {
    return registry + "/" + factory + "/" + app + "@" + digest;
  }
}
