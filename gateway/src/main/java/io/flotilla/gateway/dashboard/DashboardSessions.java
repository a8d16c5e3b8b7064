package io.flotilla.gateway.dashboard;

import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Comparator;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Signed-in browsers, kept on the node that signed them in. A session holds the API token it was
 * opened with and nothing it concluded from it: every request checks that token again through
 * {@code Access}, so a revoked token loses the session at its next request. The cookie carries only
 * a random session id; the id is looked up by its hash, so the table never holds a value a browser
 * could present.
 */
final class DashboardSessions {

  /** A session id or CSRF token: 32 random bytes, base64url without padding. */
  static final Pattern ID = Pattern.compile("[A-Za-z0-9_-]{43}");

  record Session(String token, String csrf, Instant created, Instant lastUsed) {}

  private static final SecureRandom RANDOM = new SecureRandom();

  private final ConcurrentHashMap<String, Session> sessions = new ConcurrentHashMap<>();
  private final Duration idle;
  private final Duration lifetime;
  private final int max;
  private final Clock clock;

  DashboardSessions(Duration idle, Duration lifetime, int max, Clock clock) {
    this.idle = idle;
    this.lifetime = lifetime;
    this.max = max;
    this.clock = clock;
  }

  static String randomId() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  /** Opens a session for {@code token}; returns its id, the cookie's value. */
  String open(String token) {
    if (sessions.size() >= max) {
      dropExpired();
    }
    while (sessions.size() >= max) {
      sessions.entrySet().stream()
          .min(Comparator.comparing(e -> e.getValue().lastUsed()))
          .ifPresent(oldest -> sessions.remove(oldest.getKey()));
    }
    String id = randomId();
    Instant now = clock.instant();
    sessions.put(key(id), new Session(token, randomId(), now, now));
    return id;
  }

  /** The live session of a cookie value, touched; empty when unknown, malformed or expired. */
  Optional<Session> find(String id) {
    if (id == null || !ID.matcher(id).matches()) {
      return Optional.empty();
    }
    Instant now = clock.instant();
    Session found =
        sessions.computeIfPresent(
            key(id),
            (k, s) -> expired(s, now) ? null : new Session(s.token(), s.csrf(), s.created(), now));
    return Optional.ofNullable(found);
  }

  void close(String id) {
    if (id != null && ID.matcher(id).matches()) {
      sessions.remove(key(id));
    }
  }

  int size() {
    return sessions.size();
  }

  private void dropExpired() {
    Instant now = clock.instant();
    sessions.values().removeIf(s -> expired(s, now));
  }

  private boolean expired(Session s, Instant now) {
    return s.lastUsed().plus(idle).isBefore(now) || s.created().plus(lifetime).isBefore(now);
  }

  /** Compares secrets in constant time. */
  static boolean same(String a, String b) {
    return a != null
        && b != null
        && MessageDigest.isEqual(
            a.getBytes(java.nio.charset.StandardCharsets.UTF_8),
            b.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  private static String key(String id) {
    try {
      return Base64.getEncoder()
          .encodeToString(
              MessageDigest.getInstance("SHA-256")
                  .digest(id.getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
