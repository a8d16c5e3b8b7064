package io.flotilla.gateway;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.auth.AdminTokens;
import io.flotilla.core.auth.ApiToken;
import io.flotilla.registry.Durable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The admin token in {@code <data-dir>/admin-token} (mode 0600): made on first start, registered
 * (hash only) with the AdminTokens entity on every start so a restored data dir or a fresh database
 * still accept it.
 */
public final class AdminTokenFile {

  public static final String FILE_NAME = "admin-token";

  private AdminTokenFile() {}

  public static ApiToken ensure(FlotillaCore core, Path dataDir, Duration patience)
      throws IOException, InterruptedException {
    Path file = dataDir.resolve(FILE_NAME);
    ApiToken token;
    boolean existed = Files.exists(file);
    if (existed) {
      String content = Files.readString(file, StandardCharsets.UTF_8).strip();
      token =
          ApiToken.parse(content)
              .filter(ApiToken::isAdmin)
              .orElseThrow(
                  () ->
                      new IllegalStateException(
                          file
                              + " does not hold an admin token (fla_...); remove it to make a new one"));
    } else {
      token = ApiToken.newAdminToken();
    }
    register(core, token, patience);
    if (!existed) {
      write(file, token.value());
    }
    return token;
  }

  /**
   * Retries while the node is still joining its cluster: sharding answers only once the member is
   * Up.
   */
  private static void register(FlotillaCore core, ApiToken token, Duration patience)
      throws InterruptedException {
    Instant deadline = Instant.now().plus(patience);
    while (true) {
      try {
        core.adminTokens()
            .<org.apache.pekko.Done>askWithStatus(
                replyTo -> new AdminTokens.Register(token.id(), token.secretHash(), replyTo),
                core.askTimeout())
            .toCompletableFuture()
            .get(core.askTimeout().toMillis() + 1000, TimeUnit.MILLISECONDS);
        return;
      } catch (ExecutionException | TimeoutException e) {
        if (Instant.now().isAfter(deadline)) {
          throw new IllegalStateException(
              "could not register the admin token: " + e.getMessage(), e);
        }
      }
    }
  }

  /**
   * On disk before the node says it is up: an operator who read the token from the log must find it
   * after a crash.
   */
  private static void write(Path file, String value) throws IOException {
    Path temp = file.resolveSibling(FILE_NAME + ".tmp");
    Files.deleteIfExists(temp);
    Durable.write(temp, (value + "\n").getBytes(StandardCharsets.UTF_8));
    Durable.publish(temp, file);
  }
}
