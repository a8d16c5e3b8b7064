package io.flotilla.core.webhook;

import io.flotilla.core.Limits;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;

/** The event kinds a hook may ask for, as they appear in deliveries' {@code event} field. */
public final class WebhookKinds {

  private WebhookKinds() {}

  public static final String BUILD_FINISHED = "build.finished";
  public static final String TARGET_PUBLISHED = "target.published";
  public static final String DEVICE_UPDATE_FAILED = "device.update-failed";
  public static final String ROLLOUT_CHANGED = "rollout.changed";

  /** Sent by {@code POST .../webhooks/{id}/ping} whatever the hook's filter. */
  public static final String PING = "ping";

  public static final List<String> ALL =
      List.of(BUILD_FINISHED, TARGET_PUBLISHED, DEVICE_UPDATE_FAILED, ROLLOUT_CHANGED);

  /** Null when {@code url} and {@code events} make a hook, else what is wrong with them. */
  public static String hookProblem(String url, List<String> events) {
    String problem = urlProblem(url);
    if (problem != null) {
      return problem;
    }
    if (events == null || events.isEmpty()) {
      return "events must list at least one of " + ALL;
    }
    if (events.size() > ALL.size()) {
      return "events lists each of " + ALL + " at most once";
    }
    HashSet<String> seen = new HashSet<>();
    for (String event : events) {
      if (event == null || !ALL.contains(event)) {
        return "unknown event '" + Limits.shortened(event) + "': events are among " + ALL;
      }
      if (!seen.add(event)) {
        return "events lists '" + event + "' twice";
      }
    }
    return null;
  }

  static String urlProblem(String url) {
    if (url == null) {
      return "url is required";
    }
    if (url.length() > Limits.WEBHOOK_URL) {
      return "url is longer than " + Limits.WEBHOOK_URL + " characters";
    }
    if (!Limits.plain(url)) {
      return "url must not hold control characters";
    }
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      return "url is not a URI: " + e.getReason();
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      return "url must be http or https";
    }
    if (uri.getHost() == null || uri.getHost().isEmpty()) {
      return "url must name a host";
    }
    if (uri.getRawUserInfo() != null) {
      return "url must not hold credentials: the signature authenticates the sender";
    }
    if (uri.getRawFragment() != null) {
      return "url must not have a fragment";
    }
    return null;
  }
}
