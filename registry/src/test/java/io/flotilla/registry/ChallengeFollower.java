package io.flotilla.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A registry client that knows nothing but its credentials, as regctl and distribution's client do:
 * it sends a request anonymously, reads the {@code WWW-Authenticate} challenge, fetches a token
 * from the realm for exactly the scopes asked (split on spaces), and retries with it.
 */
final class ChallengeFollower {
  private static final Pattern PARAM = Pattern.compile("(\\w+)=\"([^\"]*)\"");

  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(10))
          .build();
  private final String baseUrl;
  private final String basic;

  /** The scopes of the last token fetched, as the challenge asked for them. */
  List<String> lastScopes = List.of();

  ChallengeFollower(RegistryServer server, RegistryServer.Credentials credentials) {
    this.baseUrl = server.baseUrl();
    this.basic =
        "Basic "
            + Base64.getEncoder()
                .encodeToString(
                    (credentials.user() + ":" + credentials.password())
                        .getBytes(StandardCharsets.UTF_8));
  }

  HttpResponse<byte[]> send(String method, String path) throws Exception {
    HttpResponse<byte[]> first = raw(method, path, null);
    if (first.statusCode() != 401) {
      return first;
    }
    Map<String, String> challenge =
        parse(first.headers().firstValue("WWW-Authenticate").orElseThrow());
    String realm = challenge.get("realm");
    assertNotNull(realm, "a bearer challenge names its realm");
    lastScopes =
        challenge.containsKey("scope") ? List.of(challenge.get("scope").split(" ")) : List.of();
    StringBuilder url =
        new StringBuilder(realm)
            .append("?service=")
            .append(URLEncoder.encode(challenge.get("service"), StandardCharsets.UTF_8));
    for (String scope : lastScopes) {
      url.append("&scope=").append(URLEncoder.encode(scope, StandardCharsets.UTF_8));
    }
    HttpResponse<byte[]> token =
        http.send(
            HttpRequest.newBuilder(URI.create(url.toString()))
                .header("Authorization", basic)
                .timeout(Duration.ofSeconds(30))
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
    assertEquals(200, token.statusCode(), () -> new String(token.body(), StandardCharsets.UTF_8));
    return raw(
        method,
        path,
        "Bearer " + RegistryJson.MAPPER.readTree(token.body()).path("token").asText());
  }

  private HttpResponse<byte[]> raw(String method, String path, String authorization)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(baseUrl + path))
            .timeout(Duration.ofSeconds(30))
            .method(method, HttpRequest.BodyPublishers.noBody());
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  static Map<String, String> parse(String header) {
    assertEquals("Bearer ", header.substring(0, 7), header);
    Map<String, String> params = new LinkedHashMap<>();
    Matcher m = PARAM.matcher(header.substring(7));
    while (m.find()) {
      params.put(m.group(1), m.group(2));
    }
    return params;
  }

  /** The access entries of a token, decoded from its JWT payload: {@code name -> actions}. */
  static Map<String, List<String>> access(String jwt) throws Exception {
    byte[] payload = Base64.getUrlDecoder().decode(jwt.split("\\.")[1]);
    Map<String, List<String>> access = new LinkedHashMap<>();
    RegistryJson.MAPPER
        .readTree(payload)
        .path("access")
        .forEach(
            entry -> {
              List<String> actions = new ArrayList<>();
              entry.path("actions").forEach(a -> actions.add(a.asText()));
              access.put(entry.path("name").asText(), actions);
            });
    return access;
  }
}
