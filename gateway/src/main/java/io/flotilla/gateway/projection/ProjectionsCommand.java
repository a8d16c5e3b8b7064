package io.flotilla.gateway.projection;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.gateway.AdminTokenFile;
import io.flotilla.gateway.http.JsonSupport;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code flotilla projections list|skip|rebuild}: the read side's projections through a running
 * node's admin API ({@code /api/v1/projections}), with the admin token of the node's data dir. The
 * rebuild goes through the API rather than the data dir: the projections run inside the cluster
 * (any node, sharded daemons), so only the running node can pause and resume them, and an H2 data
 * dir is locked by its node anyway.
 */
@Command(
    name = "projections",
    mixinStandardHelpOptions = true,
    description =
        "Read-side projections of a running node: list them, skip an event one cannot store,"
            + " rebuild one from the journal.",
    subcommands = {
      ProjectionsCommand.ListCommand.class,
      ProjectionsCommand.SkipCommand.class,
      ProjectionsCommand.RebuildCommand.class
    })
public final class ProjectionsCommand implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "a projections command is required (list, skip, rebuild)");
  }

  /** Where the node is and how to authenticate. */
  static class ApiOptions {
    @Option(
        names = "--api",
        defaultValue = "http://127.0.0.1:${env:FLOTILLA_HTTP_PORT:-8080}",
        description =
            "The node's API URL (default http://127.0.0.1:$FLOTILLA_HTTP_PORT, else port 8080).")
    String api;

    @Option(
        names = "--data-dir",
        defaultValue = "${env:FLOTILLA_DATA_DIR:-data}",
        description =
            "The node's data dir, for its admin token (default $FLOTILLA_DATA_DIR, else ./data).")
    Path dataDir;

    @Option(
        names = "--token-file",
        description = "A file holding an admin token (default <data-dir>/admin-token).")
    Path tokenFile;

    int send(String method, String path, String body) throws Exception {
      HttpResponse<String> response = call(method, path, body);
      (response.statusCode() / 100 == 2 ? System.out : System.err).println(response.body());
      return response.statusCode() / 100 == 2 ? 0 : 1;
    }

    HttpResponse<String> call(String method, String path, String body) throws Exception {
      String token =
          Files.readString(
                  tokenFile != null ? tokenFile : dataDir.resolve(AdminTokenFile.FILE_NAME))
              .strip();
      HttpRequest.Builder request =
          HttpRequest.newBuilder(URI.create(api.replaceAll("/+$", "") + path))
              .timeout(Duration.ofSeconds(30))
              .header("Authorization", "Bearer " + token)
              .method(
                  method,
                  body == null
                      ? HttpRequest.BodyPublishers.noBody()
                      : HttpRequest.BodyPublishers.ofString(body));
      if (body != null) {
        request.header("Content-Type", "application/json");
      }
      return HttpClient.newBuilder()
          .connectTimeout(Duration.ofSeconds(10))
          .build()
          .send(request.build(), HttpResponse.BodyHandlers.ofString());
    }
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description =
          "Each projection: offset, running or stuck (on which event, why), skipped events.")
  static final class ListCommand implements Callable<Integer> {
    @CommandLine.Mixin ApiOptions api = new ApiOptions();

    @Override
    public Integer call() throws Exception {
      return api.send("GET", "/api/v1/projections", null);
    }
  }

  @Command(
      name = "skip",
      mixinStandardHelpOptions = true,
      description = "Let a projection pass over one event it cannot store (at its next retry).")
  static final class SkipCommand implements Callable<Integer> {
    @CommandLine.Mixin ApiOptions api = new ApiOptions();

    @Parameters(index = "0", description = "Projection name, e.g. targets.")
    String name;

    @Parameters(index = "1", description = "Projection key, e.g. targets or device-3.")
    String key;

    @Parameters(index = "2", description = "The event's persistence id, e.g. Targets|acme.")
    String persistenceId;

    @Parameters(index = "3", description = "The event's sequence number.")
    long sequenceNr;

    @Override
    public Integer call() throws Exception {
      String body =
          JsonSupport.MAPPER.writeValueAsString(
              Map.of("persistenceId", persistenceId, "sequenceNr", sequenceNr));
      return api.send(
          "POST", "/api/v1/projections/" + encode(name) + "/" + encode(key) + "/skip", body);
    }

    static String encode(String segment) {
      return java.net.URLEncoder.encode(segment, java.nio.charset.StandardCharsets.UTF_8)
          .replace("+", "%20");
    }
  }

  @Command(
      name = "rebuild",
      mixinStandardHelpOptions = true,
      description =
          "Empty a projection's read-side tables and replay its events from the first, showing"
              + " events replayed of the total until it has caught up (devices, targets, factories,"
              + " apps, builds, rollouts).")
  static final class RebuildCommand implements Callable<Integer> {
    @CommandLine.Mixin ApiOptions api = new ApiOptions();

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", description = "Projection name, e.g. devices.")
    String name;

    @Option(
        names = "--timeout",
        defaultValue = "PT1H",
        description = "Give up waiting after this long, ISO-8601 (default ${DEFAULT-VALUE}).")
    Duration timeout;

    @Override
    public Integer call() throws Exception {
      String path = "/api/v1/projections/" + SkipCommand.encode(name);
      HttpResponse<String> answer = api.call("POST", path + "/rebuild", null);
      var err = spec.commandLine().getErr();
      if (answer.statusCode() / 100 != 2) {
        err.println(answer.body());
        err.flush();
        return 1;
      }
      long deadline = System.nanoTime() + timeout.toNanos();
      JsonNode progress = JsonSupport.MAPPER.readTree(answer.body());
      while (!progress.path("caughtUp").asBoolean()) {
        err.println(
            name
                + ": "
                + progress.path("replayed").asLong()
                + "/"
                + progress.path("total").asLong()
                + " events replayed");
        err.flush();
        if (System.nanoTime() > deadline) {
          err.println(name + ": not caught up after " + timeout + "; the replay goes on");
          err.flush();
          return 1;
        }
        Thread.sleep(1000);
        HttpResponse<String> polled = api.call("GET", path + "/progress", null);
        if (polled.statusCode() / 100 != 2) {
          err.println(polled.body());
          err.flush();
          return 1;
        }
        progress = JsonSupport.MAPPER.readTree(polled.body());
      }
      err.println(name + ": rebuilt, " + progress.path("total").asLong() + " events replayed");
      err.flush();
      spec.commandLine().getOut().println(progress.toString());
      spec.commandLine().getOut().flush();
      return 0;
    }
  }
}
