package io.flotilla.gateway.openapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.ApiClient.Answer;
import io.flotilla.gateway.testing.TestServers;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The OpenAPI document served at {@code /api/v1/openapi.json} against the real routes: every
 * documented operation is routed, every other method on a documented path is not, every path
 * segment the route classes match is documented, and the examples validate against the schemas.
 */
class OpenApiTest {

  static final ObjectMapper JSON = new ObjectMapper();
  static final List<String> METHODS = List.of("get", "post", "put", "patch", "delete");

  /** pekko-http's answer when no route matched the path (Errors turns it into JSON). */
  static final String UNROUTED = "The requested resource could not be found.";

  /**
   * The route classes mounted below /api/v1, and literals of theirs mounted elsewhere: the device
   * authorization grant's OAuth endpoints live at the root of the API port.
   */
  static final List<String> ROUTE_SOURCES =
      List.of(
          "factory/FactoryRoutes.java",
          "target/TargetRoutes.java",
          "rollout/RolloutRoutes.java",
          "webhook/WebhookRoutes.java",
          "app/AppRoutes.java",
          "build/BuildRoutes.java",
          "device/DeviceAdminRoutes.java",
          "device/FleetHistoryRoutes.java",
          "device/DeviceAuthorizationRoutes.java",
          "device/TufRootRoutes.java",
          "journal/JournalRoutes.java",
          "projection/ProjectionRoutes.java",
          "openapi/OpenApiRoutes.java");

  static final Set<String> MOUNTED_ELSEWHERE = Set.of("oauth", "authorization", "device", "token");

  @TempDir static Path dir;
  static FlotillaServer server;
  static ApiClient api;
  static String admin;
  static JsonNode document;

  @BeforeAll
  static void start() throws Exception {
    server = TestServers.start(dir.resolve("data"), null);
    api = new ApiClient(server.httpPort());
    admin = server.adminToken().value();
    assertEquals(
        201,
        api.post("/api/v1/factories", admin, "{\"name\":\"acme\",\"platforms\":[\"amd64-linux\"]}")
            .status());
    Answer served = api.get("/api/v1/openapi.json", null);
    assertEquals(200, served.status(), "served without a token");
    assertEquals(
        "application/json", served.response().headers().firstValue("Content-Type").orElseThrow());
    document = served.json();
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  static Map<String, String> samples() {
    return Map.ofEntries(
        Map.entry("factory", "acme"),
        Map.entry("tokenId", "0000000000000000"),
        Map.entry("branch", "main"),
        Map.entry("target", "amd64-linux-999"),
        Map.entry("rollout", "wave-999"),
        Map.entry("webhook", "0123456789abcdef"),
        Map.entry("app", "shellhttpd"),
        Map.entry("build", "999"),
        Map.entry("uuid", "1b4e28ba-2fa1-11d2-883f-0016d3cca427"),
        Map.entry("correlationId", "c-1"),
        Map.entry("group", "lab"),
        Map.entry("userCode", "BCDF-GHJK"),
        Map.entry("version", "1"),
        Map.entry("entityType", "Factory"),
        Map.entry("entityId", "acme"),
        Map.entry("name", "targets"),
        Map.entry("key", "targets"));
  }

  static String concrete(String template) {
    Matcher m = Pattern.compile("\\{([^}]+)}").matcher(template);
    StringBuilder path = new StringBuilder();
    while (m.find()) {
      String value = samples().get(m.group(1));
      assertTrue(value != null, "no sample for path parameter " + m.group(1));
      m.appendReplacement(path, Matcher.quoteReplacement(value));
    }
    m.appendTail(path);
    return "/api/v1" + path;
  }

  static Answer call(String method, String path) throws Exception {
    HttpRequest.Builder request = api.request(path, admin);
    if (method.equals("get") || method.equals("delete")) {
      request.method(method.toUpperCase(), HttpRequest.BodyPublishers.noBody());
    } else {
      request
          .header("Content-Type", "application/json")
          .method(method.toUpperCase(), HttpRequest.BodyPublishers.ofString("{}"));
    }
    return api.send(request);
  }

  static boolean routed(Answer answer) {
    if (answer.status() == 405) {
      return false;
    }
    return !(answer.status() == 404 && answer.body().contains(UNROUTED));
  }

  @Test
  void everyDocumentedOperationIsRoutedAndNoOtherMethodIs() throws Exception {
    assertEquals("3.1.0", document.get("openapi").asText());
    int operations = 0;
    for (Map.Entry<String, JsonNode> entry : document.get("paths").properties()) {
      String path = concrete(entry.getKey());
      for (String method : METHODS) {
        if (entry.getKey().equals("/factories/{factory}/tuf/root-rotations")
            && method.equals("post")) {
          continue;
        }
        Answer answer = call(method, path);
        if (entry.getValue().has(method)) {
          operations++;
          assertTrue(
              routed(answer),
              method
                  + " "
                  + path
                  + " is documented but not routed: "
                  + answer.status()
                  + " "
                  + answer.body());
          assertNotEquals(500, answer.status(), method + " " + path + ": " + answer.body());
        } else {
          assertFalse(
              routed(answer),
              method
                  + " "
                  + path
                  + " is routed but not documented: "
                  + answer.status()
                  + " "
                  + answer.body());
        }
      }
    }
    assertTrue(operations >= 38, "operations documented: " + operations);
  }

  @Test
  void everyPathSegmentTheRoutesMatchIsDocumented() throws Exception {
    Set<String> documented = new HashSet<>();
    for (String path : iterable(document.get("paths").fieldNames())) {
      for (String segment : path.split("/")) {
        documented.add(segment.replaceAll("\\{[^}]+}", ""));
      }
    }
    Path sources = Path.of(System.getProperty("user.dir"), "src/main/java/io/flotilla/gateway");
    Pattern literal = Pattern.compile("(?:path|pathPrefix|segment)\\(\\s*\"([^\"]+)\"");
    Set<String> missing = new TreeSet<>();
    int literals = 0;
    for (String source : ROUTE_SOURCES) {
      Matcher m = literal.matcher(Files.readString(sources.resolve(source)));
      while (m.find()) {
        literals++;
        String segment = m.group(1);
        if (!MOUNTED_ELSEWHERE.contains(segment) && !documented.contains(segment)) {
          missing.add(source + ": " + segment);
        }
      }
    }
    assertTrue(literals > 20, "found " + literals + " path literals");
    assertEquals(Set.of(), missing, "route segments no documented path has");
  }

  @Test
  void theExamplesValidateAgainstTheirSchemas() throws Exception {
    SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    JsonNode components = document.get("components");
    int examples = 0;
    for (Map.Entry<String, JsonNode> entry : components.get("schemas").properties()) {
      Schema schema = schema(registry, "#/components/schemas/" + entry.getKey());
      for (JsonNode example : iterable(entry.getValue().path("examples").elements())) {
        examples++;
        List<Error> errors = schema.validate(example);
        assertEquals(List.of(), errors, entry.getKey() + " example " + example);
      }
    }
    for (Map.Entry<String, JsonNode> response : components.get("responses").properties()) {
      JsonNode content = response.getValue().get("content").get("application/json");
      Schema schema = schema(registry, content.get("schema").get("$ref").asText());
      for (JsonNode example : iterable(content.get("examples").elements())) {
        examples++;
        assertEquals(List.of(), schema.validate(example.get("value")), response.getKey());
      }
    }
    assertTrue(examples >= 20, "examples: " + examples);
    Schema target = schema(registry, "#/components/schemas/Target");
    assertFalse(
        target.validate(JSON.readTree("{\"name\":\"x\",\"version\":\"one\"}")).isEmpty(),
        "the schemas do refuse what does not fit");
  }

  @Test
  void documentedAnswersMatchWhatTheServerSends() throws Exception {
    SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    Answer target =
        api.post(
            "/api/v1/factories/acme/targets",
            admin,
            "{\"tags\":[\"openapi\"],\"apps\":{\"app\":\"hub.local/acme/app@sha256:"
                + "ab".repeat(32)
                + "\"}}");
    assertEquals(201, target.status(), target.body());
    Map<String, String> answers =
        Map.of(
            "/api/v1/factories/acme", "Factory",
            "/api/v1/factories", "FactoryList",
            "/api/v1/factories/acme/targets", "TargetList",
            "/api/v1/factories/acme/tokens", "TokenList",
            "/api/v1/factories/acme/status", "FleetStatus",
            "/api/v1/factories/acme/apps", "AppList",
            "/api/v1/factories/acme/devices", "DeviceList",
            "/api/v1/projections", "Projections",
            "/api/v1/factories/acme/builds", "BuildList",
            "/api/v1/factories/acme/tuf/root.json", "TufRoot");
    List<String> problems = new ArrayList<>();
    for (Map.Entry<String, String> answer : answers.entrySet()) {
      Answer got = api.get(answer.getKey(), admin);
      assertEquals(200, got.status(), answer.getKey() + ": " + got.body());
      List<Error> errors =
          schema(registry, "#/components/schemas/" + answer.getValue()).validate(got.json());
      if (!errors.isEmpty()) {
        problems.add(answer.getKey() + " " + errors + " in " + got.body());
      }
    }
    Answer missing = api.get("/api/v1/factories/acme/devices/none", admin);
    problems.addAll(
        schema(registry, "#/components/schemas/Error").validate(missing.json()).stream()
            .map(Object::toString)
            .toList());
    assertEquals(List.of(), problems);
  }

  /** A schema of the document by its JSON pointer, with the document's components to refer to. */
  static Schema schema(SchemaRegistry registry, String pointer) throws Exception {
    ObjectNode root = JSON.createObjectNode();
    root.put("$schema", "https://json-schema.org/draft/2020-12/schema");
    root.put("$ref", pointer);
    root.set("components", document.get("components"));
    return registry.getSchema(JSON.writeValueAsString(root));
  }

  static <T> Iterable<T> iterable(java.util.Iterator<T> iterator) {
    return () -> iterator;
  }
}
