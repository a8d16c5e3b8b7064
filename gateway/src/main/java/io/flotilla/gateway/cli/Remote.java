package io.flotilla.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * The options every command against a running server shares, and its HTTP calls. A flag wins over
 * the environment ({@code FLOTILLA_URL}, {@code FLOTILLA_TOKEN}, {@code FLOTILLA_FACTORY}), which
 * wins over the profile file.
 */
public final class Remote {

  static final ObjectMapper JSON = new ObjectMapper().findAndRegisterModules();

  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);

  @Option(
      names = "--url",
      defaultValue = "${env:FLOTILLA_URL}",
      description = "The server's API URL (default: env FLOTILLA_URL, else the profile's url).")
  String url;

  @Option(
      names = "--token",
      defaultValue = "${env:FLOTILLA_TOKEN}",
      description = "API token (default: env FLOTILLA_TOKEN, else the profile's token).")
  String token;

  @Option(
      names = {"-f", "--factory"},
      defaultValue = "${env:FLOTILLA_FACTORY}",
      description = "Factory (default: env FLOTILLA_FACTORY, else the profile's factory).")
  String factory;

  @Option(names = "--json", description = "Print the server's JSON instead of a table.")
  boolean json;

  @Option(
      names = "--cli-config",
      description =
          "Profile file (default: env FLOTILLA_CLI_CONFIG, else $XDG_CONFIG_HOME/flotilla/config.yaml, else ~/.config/flotilla/config.yaml).")
  Path profileFile;

  private Profile profile;
  private HttpClient http;

  Path profileFile() {
    return profileFile != null ? profileFile : Profile.defaultFile();
  }

  Profile profile() {
    if (profile == null) {
      profile = Profile.load(profileFile());
    }
    return profile;
  }

  String baseUrl() {
    String chosen = url != null && !url.isBlank() ? url : profile().url();
    if (chosen == null || chosen.isBlank()) {
      throw new CliFailure(
          CliFailure.USAGE,
          "no server URL: run `flotilla login --url URL --token TOKEN`, or pass --url or set FLOTILLA_URL");
    }
    return chosen.replaceAll("/+$", "").replaceAll("/api/v1$", "");
  }

  String token() {
    String chosen = token != null && !token.isBlank() ? token : profile().token();
    if (chosen == null || chosen.isBlank()) {
      throw new CliFailure(
          CliFailure.DENIED,
          "no token: run `flotilla login --url URL --token TOKEN`, or pass --token or set FLOTILLA_TOKEN");
    }
    return chosen;
  }

  String factory() {
    String chosen = factory != null && !factory.isBlank() ? factory : profile().factory();
    if (chosen == null || chosen.isBlank()) {
      throw new CliFailure(
          CliFailure.USAGE,
          "no factory: pass --factory NAME, set FLOTILLA_FACTORY or run `flotilla config set factory NAME`");
    }
    return chosen;
  }

  /** {@code /api/v1/factories/<factory>} followed by {@code path}. */
  String factoryPath(String path) {
    return "/api/v1/factories/" + segment(factory()) + path;
  }

  static String segment(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
  }

  JsonNode get(String path) {
    return call("GET", path, null);
  }

  JsonNode call(String method, String path, Object body) {
    HttpResponse<String> response =
        send(method, path, body, REQUEST_TIMEOUT, HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() / 100 != 2) {
      throw failure(response.statusCode(), response.body());
    }
    if (response.body() == null || response.body().isBlank()) {
      return JSON.nullNode();
    }
    try {
      return JSON.readTree(response.body());
    } catch (IOException e) {
      throw new CliFailure(
          CliFailure.SERVER, "the server's answer to " + method + " " + path + " is not JSON");
    }
  }

  /** A streamed answer (a build's log): the caller reads and closes it. */
  InputStream stream(String path) {
    HttpResponse<InputStream> response =
        send("GET", path, null, REQUEST_TIMEOUT, HttpResponse.BodyHandlers.ofInputStream());
    if (response.statusCode() / 100 != 2) {
      try (InputStream body = response.body()) {
        throw failure(
            response.statusCode(), new String(body.readAllBytes(), StandardCharsets.UTF_8));
      } catch (IOException e) {
        throw failure(response.statusCode(), "");
      }
    }
    return response.body();
  }

  private <T> HttpResponse<T> send(
      String method,
      String path,
      Object body,
      Duration timeout,
      HttpResponse.BodyHandler<T> handler) {
    String target = baseUrl() + path;
    HttpRequest.Builder request;
    try {
      request =
          HttpRequest.newBuilder(URI.create(target))
              .timeout(timeout)
              .header("Authorization", "Bearer " + token())
              .header("Accept", "application/json")
              .method(
                  method,
                  body == null
                      ? HttpRequest.BodyPublishers.noBody()
                      : HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
    } catch (IllegalArgumentException | IOException e) {
      throw new CliFailure(CliFailure.USAGE, "bad server URL " + target + ": " + e.getMessage());
    }
    if (body != null) {
      request.header("Content-Type", "application/json");
    }
    try {
      return client().send(request.build(), handler);
    } catch (ConnectException e) {
      throw new CliFailure(CliFailure.SERVER, "cannot connect to " + baseUrl());
    } catch (HttpTimeoutException e) {
      throw new CliFailure(CliFailure.SERVER, method + " " + target + ": no answer in " + timeout);
    } catch (IOException e) {
      throw new CliFailure(CliFailure.SERVER, method + " " + target + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliFailure(CliFailure.SERVER, "interrupted");
    }
  }

  private HttpClient client() {
    if (http == null) {
      http = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT).build();
    }
    return http;
  }

  /** The server's {@code {"error","detail"}} as one line, with the status's exit code. */
  private static CliFailure failure(int status, String body) {
    String message = "HTTP " + status;
    try {
      JsonNode error = JSON.readTree(body);
      if (error != null && error.hasNonNull("error")) {
        message += " " + error.get("error").asText();
        if (error.hasNonNull("detail")) {
          message += ": " + error.get("detail").asText();
        }
      }
    } catch (IOException e) {
      if (body != null && !body.isBlank()) {
        message += ": " + body.strip();
      }
    }
    return new CliFailure(CliFailure.forStatus(status), message);
  }
}
