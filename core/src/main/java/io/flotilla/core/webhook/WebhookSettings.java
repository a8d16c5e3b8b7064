package io.flotilla.core.webhook;

import com.typesafe.config.Config;
import java.time.Duration;

/** {@code flotilla.webhooks} (core's reference.conf says why each default is what it is). */
public record WebhookSettings(
    Duration pollInterval,
    Duration connectTimeout,
    Duration requestTimeout,
    int maxAttempts,
    Duration initialBackoff,
    Duration maxBackoff,
    int inFlightPerHook,
    int inFlight,
    int logSize) {

  public static WebhookSettings fromConfig(Config root) {
    Config c = root.getConfig("flotilla.webhooks");
    return new WebhookSettings(
        c.getDuration("poll-interval"),
        c.getDuration("connect-timeout"),
        c.getDuration("request-timeout"),
        c.getInt("max-attempts"),
        c.getDuration("initial-backoff"),
        c.getDuration("max-backoff"),
        c.getInt("in-flight-per-hook"),
        c.getInt("in-flight"),
        c.getInt("log-size"));
  }

  /** The wait before the attempt after {@code attempts} failed ones: doubling, capped. */
  public Duration backoff(int attempts) {
    Duration delay = initialBackoff;
    for (int i = 1; i < attempts && delay.compareTo(maxBackoff) < 0; i++) {
      delay = delay.multipliedBy(2);
    }
    return delay.compareTo(maxBackoff) > 0 ? maxBackoff : delay;
  }

  /** How long a claimed delivery is not claimed again: longer than any attempt can take. */
  Duration lease() {
    return connectTimeout.plus(requestTimeout).multipliedBy(2);
  }
}
