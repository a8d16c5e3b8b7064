package io.flotilla.gateway.projection;

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
 * {@code flotilla projections list|skip}: the read side's projections through a running node's
 * admin API ({@code /api/v1/projections}), with the admin token of the node's data dir.
 */
@Command(
    name = "projections",
    mixinStandardHelpOptions = true,
    description =
        "Read-side projections of a running node: list them, skip an event one cannot store.",
    subcommands = {ProjectionsCommand.ListCommand.class, ProjectionsCommand.SkipCommand.class})
public final class ProjectionsCommand implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "a projections command is required (list, skip)");
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
      HttpResponse<String> response =
          HttpClient.newBuilder()
              .connectTimeout(Duration.ofSeconds(10))
              .build()
              .send(request.build(), HttpResponse.BodyHandlers.ofString());
      (response.statusCode() / 100 == 2 ? System.out : System.err).println(response.body());
      return response.statusCode() / 100 == 2 ? 0 : 1;
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

    private static String encode(String segment) {
      return java.net.URLEncoder.encode(segment, java.nio.charset.StandardCharsets.UTF_8)
          .replace("+", "%20");
    }
  }
}
