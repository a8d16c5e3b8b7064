package io.flotilla.gateway;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.core.testing.TestDatabases;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.ApiClient.Answer;
import io.flotilla.gateway.testing.TestServers;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** The management API over real HTTP on a real server, each answer checked, bad input included. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class ManagementApiTest {

  static final Duration PATIENCE = Duration.ofSeconds(20);
  static final String DIGEST = "sha256:" + "7e".repeat(32);

  @TempDir static Path dataDir;
  FlotillaServer server;
  ApiClient api;
  String admin;

  abstract TestDatabases.Kind kind();

  @BeforeAll
  void start() throws Exception {
    server = TestServers.start(dataDir, TestDatabases.fresh(kind()));
    api = new ApiClient(server.httpPort());
    admin = Files.readString(dataDir.resolve("admin-token")).strip();
  }

  @AfterAll
  void stop() {
    server.close();
  }

  private String createFactory(String name) throws Exception {
    Answer created =
        api.post(
            "/api/v1/factories",
            admin,
            "{\"name\":\"" + name + "\",\"platforms\":[\"amd64-linux\",\"arm64-linux\"]}");
    assertEquals(201, created.status(), created.body());
    return name;
  }

  private String token(String factory, String scopes) throws Exception {
    Answer answer =
        api.post(
            "/api/v1/factories/" + factory + "/tokens",
            admin,
            "{\"description\":\"test\",\"scopes\":[" + scopes + "]}");
    assertEquals(201, answer.status(), answer.body());
    return answer.json().get("token").asText();
  }

  private static void assertError(Answer answer, int status) {
    assertEquals(status, answer.status(), answer.body());
    JsonNode body = answer.json();
    assertTrue(body.hasNonNull("error") && body.hasNonNull("detail"), answer.body());
  }

  @Test
  void healthAndAdminTokenFile() throws Exception {
    assertEquals(200, api.get("/health/alive", null).status());
    JsonNode ready = api.get("/health/ready", null).json();
    assertEquals("ready", ready.get("status").asText());
    // a node alone: one Up member with both roles, which it reaches
    JsonNode cluster = ready.get("cluster");
    assertEquals("up", cluster.get("status").asText(), ready.toString());
    assertEquals("[\"builder\",\"gateway\"]", cluster.get("roles").toString());
    assertEquals(1, cluster.get("members").size(), ready.toString());
    assertTrue(cluster.get("members").get(0).get("reachable").asBoolean(), ready.toString());
    JsonNode live = api.get("/health/live", null).json();
    assertEquals("alive", live.get("status").asText());
    assertEquals(cluster.get("self"), live.get("cluster").get("self"));
    assertEquals(
        "rw-------",
        PosixFilePermissions.toString(
            Files.getPosixFilePermissions(dataDir.resolve("admin-token"))));
  }

  @Test
  void factoriesAreCreatedOnceAndOnlyByTheAdmin() throws Exception {
    createFactory("acme");
    Answer get = api.get("/api/v1/factories/acme", admin);
    assertEquals(200, get.status());
    assertEquals("main", get.json().get("branchTags").get("main").asText());
    assertError(api.post("/api/v1/factories", admin, "{\"name\":\"acme\"}"), 409);
    assertError(api.post("/api/v1/factories", admin, "{\"name\":\"Bad Name\"}"), 400);
    assertError(api.post("/api/v1/factories", admin, "{\"name\":"), 400);
    assertError(
        api.post(
            "/api/v1/factories", admin, "{\"name\":\"ok-name\",\"platforms\":[\"no spaces\"]}"),
        400);
    assertError(api.get("/api/v1/factories/nope", admin), 404);

    Answer anonymous = api.post("/api/v1/factories", null, "{\"name\":\"other\"}");
    assertError(anonymous, 401);
    assertTrue(
        anonymous
            .response()
            .headers()
            .firstValue("WWW-Authenticate")
            .orElse("")
            .startsWith("Bearer"));
    assertError(
        api.post(
            "/api/v1/factories",
            "flt_acme_0123456789abcdef_" + "0".repeat(64),
            "{\"name\":\"other\"}"),
        401);
    assertError(api.post("/api/v1/factories", "garbage", "{\"name\":\"other\"}"), 401);
    String factoryAdmin = token("acme", "\"admin\"");
    assertError(api.post("/api/v1/factories", factoryAdmin, "{\"name\":\"other\"}"), 403);
  }

  @Test
  void tokensHaveScopesAreListedWithoutSecretsAndCanBeRevoked() throws Exception {
    createFactory("tokens");
    createFactory("elsewhere");
    String reader = token("tokens", "\"targets:read\"");
    String tokenId = reader.split("_")[2];
    assertEquals(200, api.get("/api/v1/factories/tokens/targets", reader).status());
    assertError(api.get("/api/v1/factories/elsewhere/targets", reader), 404);
    assertError(api.post("/api/v1/factories/tokens/targets", reader, "{\"tags\":[\"main\"]}"), 403);
    assertError(api.post("/api/v1/factories/tokens/tokens", admin, "{\"scopes\":[\"root\"]}"), 400);

    eventually(
        PATIENCE,
        () -> {
          Answer list = api.get("/api/v1/factories/tokens/tokens", admin);
          assertEquals(200, list.status());
          assertEquals(tokenId, list.json().get("tokens").get(0).get("id").asText());
          assertFalse(list.body().contains(reader), "the secret is shown only once");
          return null;
        });

    assertEquals(204, api.delete("/api/v1/factories/tokens/tokens/" + tokenId, admin).status());
    assertError(api.get("/api/v1/factories/tokens/targets", reader), 401);
    assertError(api.delete("/api/v1/factories/tokens/tokens/ffffffffffffffff", admin), 404);

    HttpRequest.Builder osf =
        api.request("/api/v1/factories/tokens", null)
            .header("OSF-TOKEN", token("tokens", "\"targets:read\""));
    assertEquals(200, api.send(osf.GET()).status());
  }

  @Test
  void targetsAreAddedRetaggedAndListedWithTheirApps() throws Exception {
    createFactory("fleet");
    String writer = token("fleet", "\"targets:read\",\"targets:write\"");
    String uri = "hub.example:8080/fleet/shellhttpd@" + DIGEST;
    Answer added =
        api.post(
            "/api/v1/factories/fleet/targets",
            writer,
            "{\"tags\":[\"main\"],\"apps\":{\"shellhttpd\":\""
                + uri
                + "\"},\"containersSha\":\"deadbeef\"}");
    assertEquals(201, added.status(), added.body());
    assertEquals(2, added.json().get("targets").size(), "one target per platform");
    assertEquals("amd64-linux-1", added.json().get("targets").get(0).get("name").asText());

    Answer second =
        api.post(
            "/api/v1/factories/fleet/targets",
            writer,
            "{\"hardwareIds\":[\"arm64-linux\"],\"tags\":[\"beta\"]}");
    assertEquals("arm64-linux-2", second.json().get("targets").get(0).get("name").asText());

    assertError(
        api.post(
            "/api/v1/factories/fleet/targets",
            writer,
            "{\"hardwareIds\":[\"riscv64-linux\"],\"tags\":[\"main\"]}"),
        400);
    assertError(
        api.post("/api/v1/factories/fleet/targets", writer, "{\"version\":1,\"tags\":[\"main\"]}"),
        409);
    assertError(
        api.post(
            "/api/v1/factories/fleet/targets",
            writer,
            "{\"tags\":[\"main\"],\"apps\":{\"x\":\"" + uri + "\"}}"),
        400);
    assertError(api.post("/api/v1/factories/fleet/targets", writer, "{\"tags\":[]}"), 400);
    assertError(api.post("/api/v1/factories/nothere/targets", admin, "{\"tags\":[\"main\"]}"), 404);

    Answer retag =
        api.patch(
            "/api/v1/factories/fleet/targets/arm64-linux-2",
            writer,
            "{\"tags\":[\"beta\",\"main\"]}");
    assertEquals(200, retag.status(), retag.body());
    assertError(
        api.patch("/api/v1/factories/fleet/targets/arm64-linux-9", writer, "{\"tags\":[\"main\"]}"),
        404);

    eventually(
        PATIENCE,
        () -> {
          JsonNode main =
              api.get("/api/v1/factories/fleet/targets?tag=main", writer).json().get("targets");
          assertEquals(3, main.size(), main.toString());
          assertEquals(
              1,
              api.get("/api/v1/factories/fleet/targets?tag=beta", writer)
                  .json()
                  .get("targets")
                  .size());
          JsonNode apps = api.get("/api/v1/factories/fleet/apps", writer).json().get("apps");
          assertEquals("shellhttpd", apps.get(0).get("name").asText());
          assertEquals(DIGEST, apps.get(0).get("latest").get("digest").asText());
          return null;
        });
    assertEquals(
        uri,
        api.get("/api/v1/factories/fleet/apps/shellhttpd", writer)
            .json()
            .get("versions")
            .get(0)
            .get("uri")
            .asText());
    assertError(api.get("/api/v1/factories/fleet/apps/none", writer), 404);
  }

  /**
   * Reads come from the read side; a write answers once its change is there, so the writer's next
   * read shows it.
   */
  @Test
  void aWritersNextReadShowsItsWrite() throws Exception {
    createFactory("ryw");
    assertTrue(
        api.get("/api/v1/factories", admin).body().contains("\"ryw\""),
        "the factory list right after the create");
    String writer = token("ryw", "\"targets:read\",\"targets:write\"");
    assertTrue(
        api.get("/api/v1/factories/ryw/tokens", admin).body().contains(writer.split("_")[2]),
        "the token list right after the create");
    for (int round = 1; round <= 3; round++) {
      String uri = "hub.example:8080/ryw/app" + round + "@" + DIGEST;
      Answer added =
          api.post(
              "/api/v1/factories/ryw/targets",
              writer,
              "{\"hardwareIds\":[\"amd64-linux\"],\"tags\":[\"main\"],\"apps\":{\"app"
                  + round
                  + "\":\""
                  + uri
                  + "\"}}");
      assertEquals(201, added.status(), added.body());
      String name = added.json().get("targets").get(0).get("name").asText();
      assertTrue(
          api.get("/api/v1/factories/ryw/targets?tag=main", writer).body().contains(name),
          name + " listed right after the POST");
      assertTrue(
          api.get("/api/v1/factories/ryw/apps", writer).body().contains("app" + round),
          "app" + round + " listed right after the POST");
      assertEquals(
          200,
          api.patch(
                  "/api/v1/factories/ryw/targets/" + name, writer, "{\"tags\":[\"main\",\"beta\"]}")
              .status());
      assertTrue(
          api.get("/api/v1/factories/ryw/targets?tag=beta", writer).body().contains(name),
          name + " tagged beta right after the PATCH");
    }
  }

  @Test
  void targetsArePrunedWithTheirVersionsNeverReissued() throws Exception {
    createFactory("pruning");
    String writer = token("pruning", "\"targets:read\",\"targets:write\"");
    String reader = token("pruning", "\"targets:read\"");
    assertEquals(
        201,
        api.post("/api/v1/factories/pruning/targets", writer, "{\"version\":4,\"tags\":[\"main\"]}")
            .status());
    assertError(api.delete("/api/v1/factories/pruning/targets/amd64-linux-4", reader), 403);
    Answer pruned = api.delete("/api/v1/factories/pruning/targets/amd64-linux-4", writer);
    assertEquals(200, pruned.status(), pruned.body());
    assertEquals("amd64-linux-4", pruned.json().get("name").asText());
    assertError(api.delete("/api/v1/factories/pruning/targets/amd64-linux-4", writer), 404);
    assertError(
        api.post(
            "/api/v1/factories/pruning/targets",
            writer,
            "{\"hardwareIds\":[\"amd64-linux\"],\"version\":4,\"tags\":[\"main\"]}"),
        409);
    Answer next =
        api.post(
            "/api/v1/factories/pruning/targets",
            writer,
            "{\"hardwareIds\":[\"amd64-linux\"],\"tags\":[\"main\"]}");
    assertEquals(
        "amd64-linux-5", next.json().get("targets").get(0).get("name").asText(), next.body());
    eventually(
        PATIENCE,
        () -> {
          JsonNode all = api.get("/api/v1/factories/pruning/targets", reader).json().get("targets");
          java.util.List<String> names = new java.util.ArrayList<>();
          all.forEach(t -> names.add(t.get("name").asText()));
          assertEquals(
              java.util.Set.of("amd64-linux-5", "arm64-linux-4"),
              java.util.Set.copyOf(names),
              all.toString());
          return null;
        });
  }

  @Test
  void journalReplayIsForTheAdminOnly() throws Exception {
    createFactory("journaled");
    Answer lines = api.get("/api/v1/journal/Factory/journaled", admin);
    assertEquals(200, lines.status());
    assertTrue(
        lines
            .response()
            .headers()
            .firstValue("Content-Type")
            .orElse("")
            .startsWith("application/x-ndjson"));
    String[] events = lines.body().strip().split("\n");
    assertEquals(1, events.length);
    assertTrue(
        events[0].contains("\"sequenceNr\":1") && events[0].contains("\"type\":\"Created\""),
        events[0]);
    assertError(api.get("/api/v1/journal/Factory/journaled", token("journaled", "\"admin\"")), 403);
    assertError(api.get("/api/v1/journal/Unknown/journaled", admin), 404);
    assertError(api.get("/api/v1/journal/Factory/never-made", admin), 404);
    assertError(api.get("/api/v1/journal/Factory/journaled?from=abc", admin), 400);
  }

  @Test
  void unknownPathsWrongMethodsAndHugeBodiesGetJsonErrors() throws Exception {
    assertError(api.get("/api/v1/nothing-here", admin), 404);
    assertError(api.delete("/api/v1/factories", admin), 405);
    // Only the headers: the server refuses on the declared length, so no half-sent body races the
    // answer.
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", server.httpPort())) {
      socket.setSoTimeout(20_000);
      String request =
          "POST /api/v1/factories HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
              + admin
              + "\r\nContent-Type: application/json\r\nContent-Length: "
              + (2 * 1024 * 1024)
              + "\r\n\r\n";
      socket.getOutputStream().write(request.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      String answer =
          new String(
              socket.getInputStream().readNBytes(512), java.nio.charset.StandardCharsets.UTF_8);
      assertTrue(answer.startsWith("HTTP/1.1 413"), answer);
      assertTrue(answer.contains("\"error\":\"payload_too_large\""), answer);
    }
  }
}

class ManagementApiOnH2Test extends ManagementApiTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.H2;
  }
}

class ManagementApiOnPostgresTest extends ManagementApiTest {
  @Override
  TestDatabases.Kind kind() {
    return TestDatabases.Kind.POSTGRES;
  }
}
