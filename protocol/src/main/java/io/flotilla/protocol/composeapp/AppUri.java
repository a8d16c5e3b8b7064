package io.flotilla.protocol.composeapp;

import io.flotilla.protocol.oci.Digest;
import java.util.regex.Pattern;

/**
 * {@code <registry host>/<factory>/<app>@sha256:<manifest digest>}: where a target's app lives and
 * which exact manifest it is. The registry repository is {@code <factory>/<app>}.
 */
public record AppUri(String registryHost, String factory, String app, Digest digest) {

  /** A repository path component as the OCI distribution spec allows it. */
  private static final Pattern COMPONENT =
      Pattern.compile("[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*");

  private static final Pattern HOST =
      Pattern.compile("[A-Za-z0-9.-]+(?::[0-9]{1,5})?|\\[[0-9A-Fa-f:]+](?::[0-9]{1,5})?");

  public AppUri {
    require(
        registryHost != null && HOST.matcher(registryHost).matches(),
        "invalid registry host: " + registryHost);
    require(
        factory != null && COMPONENT.matcher(factory).matches(),
        "invalid factory name: " + factory);
    require(app != null && COMPONENT.matcher(app).matches(), "invalid app name: " + app);
    require(digest != null, "missing digest");
  }

  public static AppUri parse(String uri) {
    require(uri != null && !uri.isBlank(), "empty app URI");
    int at = uri.indexOf('@');
    require(
        at > 0, "app URI must be pinned by digest (<host>/<factory>/<app>@sha256:<hex>): " + uri);
    Digest digest;
    try {
      digest = Digest.parse(uri.substring(at + 1));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("app URI " + uri + ": " + e.getMessage(), e);
    }
    String[] parts = uri.substring(0, at).split("/", -1);
    require(parts.length == 3, "app URI must be <host>/<factory>/<app>@sha256:<hex>: " + uri);
    return new AppUri(parts[0], parts[1], parts[2], digest);
  }

  /** The registry repository name, {@code <factory>/<app>}. */
  public String repository() {
    return factory + "/" + app;
  }

  @Override
  public String toString() {
    return registryHost + "/" + repository() + "@" + digest;
  }

  private static void require(boolean condition, String message) {
    if (!condition) {
      throw new IllegalArgumentException(message);
    }
  }
}
