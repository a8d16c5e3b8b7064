package io.flotilla.core.webhook;

import static io.flotilla.core.ReadSideSupport.timestamp;

import io.flotilla.core.persistence.Database;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.ShardedDaemonProcessSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ShardedDaemonProcess;

/**
 * Sends the outbox's deliveries (one dispatcher in the cluster, a sharded daemon). It claims due
 * rows for a lease ({@code next_attempt_at} moved past any attempt's end) so a claimed row is not
 * claimed twice, posts each one signed, and records the outcome: delivered on a 2xx, else due again
 * after the backoff, given up after {@code max-attempts}. At most {@code in-flight-per-hook}
 * requests go to one hook and {@code in-flight} in all; everything else waits in the table, so a
 * dead receiver costs memory for its own requests only and other hooks keep their share. A delivery
 * that was in flight when the node stopped is due again when its lease ends: at least once, with
 * the same {@code id} for the receiver to de-duplicate.
 */
public final class WebhookDispatcher {

  public static final String NAME = "webhook-dispatcher";
  static final int ERROR_CHARS = 500;

  interface Command {}

  private enum Tick implements Command {
    INSTANCE
  }

  private enum Stop implements Command {
    INSTANCE
  }

  private record Claimed(List<Due> due) implements Command {}

  private record ClaimFailed(Throwable cause) implements Command {}

  private record Sent(Due due, int status, String error) implements Command {}

  private record Recorded(Due due) implements Command {}

  /** A delivery claimed for one attempt; {@code attempts}: those made before it. */
  record Due(
      String id,
      String factory,
      String hook,
      String event,
      String body,
      int attempts,
      String url,
      String secret) {

    String hookKey() {
      return factory + "/" + hook;
    }
  }

  public static void start(ActorSystem<?> system, Database database, Executor blocking) {
    WebhookSettings settings = WebhookSettings.fromConfig(system.settings().config());
    ShardedDaemonProcess.get(system)
        .init(
            Command.class,
            NAME,
            1,
            index ->
                Behaviors.supervise(
                        Behaviors.<Command>setup(
                            context ->
                                Behaviors.withTimers(
                                    timers ->
                                        new WebhookDispatcher(
                                                database, blocking, settings, context, timers)
                                            .idle())))
                    .onFailure(SupervisorStrategy.restart()),
            ShardedDaemonProcessSettings.create(system),
            Optional.of(Stop.INSTANCE));
  }

  private final Database database;
  private final Executor blocking;
  private final WebhookSettings settings;
  private final ActorContext<Command> context;
  private final HttpClient client;
  private final Map<String, Integer> inFlight = new HashMap<>();
  private int total;
  private boolean claiming;

  private WebhookDispatcher(
      Database database,
      Executor blocking,
      WebhookSettings settings,
      ActorContext<Command> context,
      TimerScheduler<Command> timers) {
    this.database = database;
    this.blocking = blocking;
    this.settings = settings;
    this.context = context;
    this.client =
        HttpClient.newBuilder()
            .connectTimeout(settings.connectTimeout())
            .followRedirects(HttpClient.Redirect.NEVER)
            .version(HttpClient.Version.HTTP_1_1)
            .build();
    timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.pollInterval());
  }

  private Behavior<Command> idle() {
    return Behaviors.receive(Command.class)
        .onMessageEquals(Tick.INSTANCE, this::claim)
        .onMessage(Claimed.class, this::onClaimed)
        .onMessage(
            ClaimFailed.class,
            f -> {
              claiming = false;
              context.getLog().warn("webhook deliveries cannot be read: {}", f.cause().toString());
              return Behaviors.same();
            })
        .onMessage(Sent.class, this::onSent)
        .onMessage(Recorded.class, this::onRecorded)
        .onMessageEquals(Stop.INSTANCE, Behaviors::stopped)
        .build();
  }

  private Behavior<Command> claim() {
    if (claiming || total >= settings.inFlight()) {
      return Behaviors.same();
    }
    claiming = true;
    Map<String, Integer> busy = Map.copyOf(inFlight);
    int free = settings.inFlight() - total;
    context.pipeToSelf(
        database.query(blocking, c -> claim(c, busy, free)),
        (due, failure) -> failure == null ? new Claimed(due) : new ClaimFailed(failure));
    return Behaviors.same();
  }

  private List<Due> claim(Connection c, Map<String, Integer> busy, int free) throws SQLException {
    Instant now = Instant.now();
    List<String[]> hooks = new ArrayList<>();
    try (PreparedStatement s =
        c.prepareStatement(
            "SELECT factory, hook_id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= ? GROUP BY factory, hook_id")) {
      s.setTimestamp(1, timestamp(now));
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          hooks.add(new String[] {r.getString(1), r.getString(2)});
        }
      }
    }
    List<Due> due = new ArrayList<>();
    for (String[] hook : hooks) {
      int room =
          Math.min(
              free - due.size(),
              settings.inFlightPerHook() - busy.getOrDefault(hook[0] + "/" + hook[1], 0));
      if (room <= 0) {
        continue;
      }
      try (PreparedStatement s =
          c.prepareStatement(
              "SELECT d.id, d.event, d.body, d.attempts, w.url, w.secret FROM webhook_deliveries d"
                  + " JOIN webhooks w ON w.factory = d.factory AND w.id = d.hook_id"
                  + " WHERE d.factory = ? AND d.hook_id = ? AND d.state = 'pending' AND d.next_attempt_at <= ?"
                  + " ORDER BY d.seq LIMIT ?")) {
        s.setString(1, hook[0]);
        s.setString(2, hook[1]);
        s.setTimestamp(3, timestamp(now));
        s.setInt(4, room);
        try (ResultSet r = s.executeQuery()) {
          while (r.next()) {
            due.add(
                new Due(
                    r.getString(1),
                    hook[0],
                    hook[1],
                    r.getString(2),
                    r.getString(3),
                    r.getInt(4),
                    r.getString(5),
                    r.getString(6)));
          }
        }
      }
    }
    try (PreparedStatement s =
        c.prepareStatement(
            "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ? AND state = 'pending'")) {
      for (Due d : due) {
        s.setTimestamp(1, timestamp(now.plus(settings.lease())));
        s.setString(2, d.id());
        s.addBatch();
      }
      if (!due.isEmpty()) {
        s.executeBatch();
      }
    }
    return due;
  }

  private Behavior<Command> onClaimed(Claimed claimed) {
    claiming = false;
    for (Due due : claimed.due()) {
      inFlight.merge(due.hookKey(), 1, Integer::sum);
      total++;
      context.pipeToSelf(
          send(due),
          (status, failure) ->
              failure == null
                  ? new Sent(due, status, status / 100 == 2 ? null : "HTTP " + status)
                  : new Sent(due, 0, describe(failure)));
    }
    return Behaviors.same();
  }

  private CompletableFuture<Integer> send(Due due) {
    HttpRequest request;
    try {
      request =
          HttpRequest.newBuilder(URI.create(due.url()))
              .timeout(settings.requestTimeout())
              .header("Content-Type", "application/json")
              .header("User-Agent", "Flotilla-Webhooks")
              .header("X-Flotilla-Event", due.event())
              .header("X-Flotilla-Delivery", due.id())
              .header("X-Flotilla-Signature", "sha256=" + sign(due.secret(), due.body()))
              .POST(HttpRequest.BodyPublishers.ofString(due.body(), StandardCharsets.UTF_8))
              .build();
    } catch (IllegalArgumentException e) {
      return CompletableFuture.failedFuture(e);
    }
    long limit = settings.connectTimeout().plus(settings.requestTimeout()).toMillis();
    return client
        .sendAsync(request, HttpResponse.BodyHandlers.ofInputStream())
        .thenApply(
            response -> {
              // Only the status counts; closing unread ends the exchange without reading a body
              // of any size.
              try (InputStream ignored = response.body()) {
                return response.statusCode();
              } catch (java.io.IOException e) {
                return response.statusCode();
              }
            })
        .orTimeout(limit, TimeUnit.MILLISECONDS);
  }

  /** The hex HMAC-SHA256 of the body's UTF-8 bytes, keyed with the secret's. */
  public static String sign(String secret, String body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return HexFormat.of().formatHex(mac.doFinal(body.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String describe(Throwable failure) {
    Throwable cause =
        failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
            ? failure.getCause()
            : failure;
    String text =
        cause instanceof java.util.concurrent.TimeoutException
                || cause instanceof java.net.http.HttpTimeoutException
            ? "timed out"
            : cause.getClass().getSimpleName()
                + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
    StringBuilder plain = new StringBuilder();
    text.codePoints()
        .limit(ERROR_CHARS)
        .forEach(cp -> plain.appendCodePoint(Character.isISOControl(cp) ? ' ' : cp));
    return plain.toString();
  }

  private Behavior<Command> onSent(Sent sent) {
    Due due = sent.due();
    context.pipeToSelf(
        database.query(blocking, c -> record(c, sent)),
        (done, failure) -> {
          if (failure != null) {
            context
                .getLog()
                .warn("webhook delivery {} outcome not stored: {}", due.id(), failure.toString());
          }
          return new Recorded(due);
        });
    return Behaviors.same();
  }

  private Void record(Connection c, Sent sent) throws SQLException {
    Due due = sent.due();
    Instant now = Instant.now();
    int attempts = due.attempts() + 1;
    boolean delivered = sent.error() == null;
    boolean finished = delivered || attempts >= settings.maxAttempts();
    String state = delivered ? "delivered" : finished ? "failed" : "pending";
    try (PreparedStatement s =
        c.prepareStatement(
            "UPDATE webhook_deliveries SET state = ?, attempts = ?, status_code = ?, error = ?,"
                + " last_attempt_at = ?, next_attempt_at = ?, finished_at = ? WHERE id = ? AND state = 'pending'")) {
      s.setString(1, state);
      s.setInt(2, attempts);
      if (sent.status() == 0) {
        s.setNull(3, java.sql.Types.INTEGER);
      } else {
        s.setInt(3, sent.status());
      }
      s.setString(4, sent.error());
      s.setTimestamp(5, timestamp(now));
      s.setTimestamp(6, timestamp(finished ? now : now.plus(settings.backoff(attempts))));
      s.setTimestamp(7, finished ? timestamp(now) : null);
      s.setString(8, due.id());
      s.executeUpdate();
    }
    if (finished) {
      prune(c, due);
    }
    return null;
  }

  /** Keeps the newest {@code log-size} finished deliveries of the hook. */
  private void prune(Connection c, Due due) throws SQLException {
    long newestDropped;
    try (PreparedStatement s =
        c.prepareStatement(
            "SELECT seq FROM webhook_deliveries WHERE factory = ? AND hook_id = ? AND state <> 'pending'"
                + " ORDER BY seq DESC LIMIT 1 OFFSET ?")) {
      s.setString(1, due.factory());
      s.setString(2, due.hook());
      s.setInt(3, settings.logSize());
      try (ResultSet r = s.executeQuery()) {
        if (!r.next()) {
          return;
        }
        newestDropped = r.getLong(1);
      }
    }
    try (PreparedStatement s =
        c.prepareStatement(
            "DELETE FROM webhook_deliveries WHERE factory = ? AND hook_id = ? AND state <> 'pending' AND seq <= ?")) {
      s.setString(1, due.factory());
      s.setString(2, due.hook());
      s.setLong(3, newestDropped);
      s.executeUpdate();
    }
  }

  private Behavior<Command> onRecorded(Recorded recorded) {
    inFlight.computeIfPresent(recorded.due().hookKey(), (k, n) -> n <= 1 ? null : n - 1);
    total--;
    return claim();
  }
}
