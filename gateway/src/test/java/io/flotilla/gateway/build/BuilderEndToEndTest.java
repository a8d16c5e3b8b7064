package io.flotilla.gateway.build;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import io.flotilla.builder.image.BusyboxBaseImage;
import io.flotilla.builder.registry.RegistryClient;
import io.flotilla.builder.registry.RegistryEndpoints;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.ApiClient.Answer;
import io.flotilla.gateway.testing.TestServers;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a new user does: create a factory, clone the empty containers.git, add an app whose service
 * is built from a COPY-only Dockerfile on a busybox base in our registry plus an external pinned
 * image, push, and see the build publish target {@code <hwid>-1}; push again for {@code -2}. The
 * external registry is a real one (Debian's docker-registry) on another port, so the copy into the
 * factory's space goes over the wire too. The server and the external registry are shared; each
 * test has a factory (and so a containers.git and build numbers) of its own.
 */
class BuilderEndToEndTest {

  @TempDir static Path dir;
  static FlotillaServer server;
  static ApiClient api;
  static String admin;
  static String host;
  static String externalHost;
  static Process externalRegistry;
  private static final AtomicInteger factories = new AtomicInteger();

  String factory;
  String pushToken;
  String readToken;
  Path clone;

  @BeforeAll
  static void start() throws Exception {
    int externalPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      externalPort = socket.getLocalPort();
    }
    externalHost = "127.0.0.1:" + externalPort;
    server =
        TestServers.start(
            dir.resolve("data"),
            ConfigFactory.parseMap(
                Map.of("flotilla.builder.insecure-registries", List.of(externalHost))));
    api = new ApiClient(server.httpPort());
    host = "127.0.0.1:" + server.httpPort();
    admin = server.adminToken().value();

    Path config =
        Files.writeString(
            dir.resolve("registry.yml"),
            "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: "
                + dir.resolve("external")
                + "\nhttp:\n  addr: "
                + externalHost
                + "\n");
    externalRegistry =
        new ProcessBuilder("docker-registry", "serve", config.toString())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("registry.log").toFile())
            .start();
    eventually(
        Duration.ofSeconds(20),
        () ->
            HttpClient.newHttpClient()
                .send(
                    java.net.http.HttpRequest.newBuilder(
                            URI.create("http://" + externalHost + "/v2/"))
                        .build(),
                    java.net.http.HttpResponse.BodyHandlers.discarding())
                .statusCode());
    RegistryClient external =
        new RegistryClient(
            HttpClient.newHttpClient(),
            new RegistryEndpoints(
                host, URI.create("http://" + host), "dev", null, Set.of(externalHost)));
    BusyboxBaseImage.push(external, externalHost, "library/busybox", "1.36");
  }

  @AfterAll
  static void stop() throws Exception {
    if (externalRegistry != null) {
      externalRegistry.destroy();
      externalRegistry.waitFor(10, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.close();
    }
  }

  /**
   * A factory of its own, with its busybox base and an empty clone of its containers.git that
   * pushes with the push token.
   */
  @BeforeEach
  void newFactory() throws Exception {
    factory = "acme-" + factories.incrementAndGet();
    assertEquals(
        201,
        api.post(
                "/api/v1/factories",
                admin,
                "{\"name\":\"" + factory + "\",\"platforms\":[\"amd64-linux\"]}")
            .status());
    pushToken = token("[\"containers:read\",\"containers:push\",\"targets:read\"]");
    readToken = token("[\"containers:read\"]");
    RegistryClient ours =
        new RegistryClient(
            HttpClient.newHttpClient(),
            new RegistryEndpoints(
                host, URI.create("http://" + host), "dev", pushToken, Set.of(externalHost)));
    BusyboxBaseImage.push(ours, host, factory + "/busybox", "1");
    Path home = Files.createDirectories(dir.resolve(factory));
    String cloned = GitCli.ok(home, "clone", remote(readToken), "clone");
    assertTrue(cloned.contains("empty repository"), cloned);
    clone = home.resolve("clone");
    GitCli.ok(clone, "remote", "set-url", "origin", remote(pushToken));
  }

  private String token(String scopes) throws Exception {
    Answer answer =
        api.post("/api/v1/factories/" + factory + "/tokens", admin, "{\"scopes\":" + scopes + "}");
    assertEquals(201, answer.status(), answer.body());
    return answer.json().get("token").asText();
  }

  String remote(String token) {
    return "http://dev:" + token + "@" + host + "/git/" + factory + "/containers.git";
  }

  JsonNode awaitBuild(int number, String status) throws Exception {
    JsonNode build =
        eventually(
            Duration.ofSeconds(90),
            () -> {
              Answer answer =
                  api.get("/api/v1/factories/" + factory + "/builds/" + number, pushToken);
              assertEquals(200, answer.status(), answer.body());
              JsonNode json = answer.json();
              String current = json.get("status").asText();
              assertTrue(
                  current.equals("succeeded")
                      || current.equals("failed")
                      || current.equals("canceled"),
                  "still " + current);
              return json;
            });
    String log =
        api.get("/api/v1/factories/" + factory + "/builds/" + number + "/log", pushToken).body();
    assertEquals(
        status, build.get("status").asText(), "build " + number + ": " + build + "\n" + log);
    return build;
  }

  String commitAndPush(String message) throws Exception {
    commit(message);
    return GitCli.ok(clone, "push", "origin", "HEAD:main");
  }

  private void commit(String message) throws Exception {
    GitCli.ok(clone, "add", "-A");
    GitCli.ok(clone, "commit", "-q", "-m", message);
  }

  /**
   * The first app: web built from a COPY-only Dockerfile on the factory's busybox, and a sidecar
   * pinned in the external registry.
   */
  private void writeFirstApp() throws Exception {
    Files.createDirectories(clone.resolve("web"));
    Files.writeString(
        clone.resolve("web/Dockerfile"),
        "FROM "
            + factory
            + "/busybox:1\nWORKDIR /www\nCOPY index.html .\nEXPOSE 80\nCMD [\"httpd\", \"-f\", \"-h\", \"/www\"]\n");
    Files.writeString(clone.resolve("web/index.html"), "<h1>hello v1</h1>\n");
    Files.createDirectories(clone.resolve("shop"));
    Files.writeString(
        clone.resolve("shop/docker-compose.yml"),
        "services:\n  web:\n    image: web\n    ports: [\"8080:80\"]\n  sidecar:\n    image: "
            + externalHost
            + "/library/busybox:1.36\n    command: [\"sleep\", \"3600\"]\n");
  }

  /** A finished build #1 of a repository without apps, the quickest build there is. */
  private void firstBuildWithoutApps() throws Exception {
    Files.writeString(clone.resolve("README"), "no apps yet\n");
    commitAndPush("no apps");
    awaitBuild(1, "succeeded");
  }

  @Test
  void aPushBuildsTheAppAndPublishesTargetOne() throws Exception {
    writeFirstApp();
    String pushed = commitAndPush("first app");
    assertTrue(pushed.contains("build #1"), pushed);
    assertTrue(pushed.contains("/api/v1/factories/" + factory + "/builds/1"), pushed);

    JsonNode build = awaitBuild(1, "succeeded");
    String appUri = build.get("apps").get("shop").asText();
    assertTrue(appUri.startsWith(host + "/" + factory + "/shop@sha256:"), appUri);
    assertEquals(List.of("amd64-linux-1"), List.of(build.get("targets").get(0).asText()));

    JsonNode targets =
        eventually(
            Duration.ofSeconds(20),
            () -> {
              JsonNode list =
                  api.get("/api/v1/factories/" + factory + "/targets?tag=main", pushToken).json();
              assertTrue(list.toString().contains("amd64-linux-1"), list.toString());
              return list;
            });
    assertTrue(targets.toString().contains(appUri), targets.toString());
    String commit = GitCli.ok(clone, "rev-parse", "HEAD").strip();
    assertTrue(targets.toString().contains(commit), targets.toString());

    if (Files.isExecutable(Path.of("/usr/bin/skopeo"))) {
      String image = skopeo("inspect", "docker://" + host + "/" + factory + "/web:1");
      assertTrue(image.contains("\"Architecture\": \"amd64\""), image);
      String app = skopeo("inspect", "--raw", "docker://" + appUri);
      assertTrue(app.contains("application/vnd.fio+compose-app"), app);
      String copied =
          skopeo("inspect", "docker://" + host + "/" + factory + "/ext/library/busybox:1.36");
      assertTrue(copied.contains("amd64"), copied);
    }
  }

  @Test
  void aSecondPushMakesTargetTwo() throws Exception {
    writeFirstApp();
    commitAndPush("first app");
    awaitBuild(1, "succeeded");
    Files.writeString(clone.resolve("web/index.html"), "<h1>hello v2</h1>\n");
    String pushed = commitAndPush("second");
    assertTrue(pushed.contains("build #2"), pushed);
    awaitBuild(2, "succeeded");
    eventually(
        Duration.ofSeconds(20),
        () -> {
          String list =
              api.get("/api/v1/factories/" + factory + "/targets?tag=main", pushToken).body();
          assertTrue(list.contains("amd64-linux-2"), list);
          return list;
        });
    String log = api.get("/api/v1/factories/" + factory + "/builds/2/log", pushToken).body();
    assertTrue(log.contains("backend: in-process"), log);
  }

  @Test
  void badComposeYamlFailsTheBuildWithItsReason() throws Exception {
    writeFirstApp();
    commit("first app");
    Files.writeString(clone.resolve("shop/docker-compose.yml"), "services: [unclosed\n");
    commitAndPush("broken yaml");
    JsonNode build = awaitBuild(1, "failed");
    assertTrue(build.get("reason").asText().contains("invalid compose YAML"), build.toString());
    GitCli.ok(clone, "revert", "--no-edit", "HEAD");
    GitCli.ok(clone, "push", "origin", "HEAD:main");
    awaitBuild(2, "succeeded");
  }

  @Test
  void aBranchWithoutTagStartsNothingAndSaysSo() throws Exception {
    writeFirstApp();
    commit("first app");
    String pushed = GitCli.ok(clone, "push", "origin", "HEAD:feature");
    assertTrue(pushed.contains("branch feature maps to no tag"), pushed);
  }

  @Test
  void pushesWithoutTokenOrWithAReadOnlyTokenAreRejected() throws Exception {
    firstBuildWithoutApps();
    Files.writeString(clone.resolve("README"), "a change\n");
    commit("a change");
    GitCli.Result anonymous =
        GitCli.run(
            clone, "push", "http://" + host + "/git/" + factory + "/containers.git", "HEAD:main");
    assertNotEquals(0, anonymous.exit(), anonymous.output());
    GitCli.Result readOnly = GitCli.run(clone, "push", remote(readToken), "HEAD:main");
    assertNotEquals(0, readOnly.exit(), readOnly.output());
    assertTrue(readOnly.output().contains("403"), readOnly.output());
    GitCli.Result fetch = GitCli.run(clone, "fetch", remote(readToken), "main");
    assertEquals(0, fetch.exit(), fetch.output());
  }

  @Test
  void withBuildahADockerfileWithRunBuildsAndAFailingRunFailsTheBuild() throws Exception {
    boolean ci = "true".equals(System.getenv("CI"));
    org.junit.jupiter.api.Assumptions.assumeTrue(
        ci || Files.isExecutable(Path.of("/usr/bin/buildah")), "buildah is not installed");
    writeFirstApp();
    Files.createDirectories(clone.resolve("tool"));
    Files.writeString(
        clone.resolve("tool/Dockerfile"),
        "FROM "
            + factory
            + "/busybox:1\nRUN echo built-by-run > /hello\nCMD [\"cat\", \"/hello\"]\n");
    Files.writeString(
        clone.resolve("shop/docker-compose.yml"),
        "services:\n  web:\n    image: web\n  tool:\n    image: tool\n");
    commitAndPush("an image with RUN");
    JsonNode build = awaitBuild(1, "succeeded");
    String log = api.get("/api/v1/factories/" + factory + "/builds/1/log", pushToken).body();
    assertTrue(log.contains("backend: buildah"), log);
    assertTrue(
        build.get("apps").get("shop").asText().startsWith(host + "/" + factory + "/shop@"),
        build.toString());

    Files.writeString(
        clone.resolve("tool/Dockerfile"), "FROM " + factory + "/busybox:1\nRUN false\n");
    commitAndPush("a failing RUN");
    JsonNode failed = awaitBuild(2, "failed");
    assertTrue(failed.get("reason").asText().contains("buildah bud failed"), failed.toString());
  }

  /** The build number that the push answer names ("build #N"). */
  static int pushedBuild(String pushed) {
    java.util.regex.Matcher matcher =
        java.util.regex.Pattern.compile("build #(\\d+)").matcher(pushed);
    assertTrue(matcher.find(), pushed);
    return Integer.parseInt(matcher.group(1));
  }

  /** The known good app set, so each bad-input case changes one thing. */
  void writeGoodApps() throws Exception {
    Files.createDirectories(clone.resolve("web"));
    Files.writeString(
        clone.resolve("web/Dockerfile"),
        "FROM "
            + factory
            + "/busybox:1\nWORKDIR /www\nCOPY index.html .\nEXPOSE 80\nCMD [\"httpd\", \"-f\", \"-h\", \"/www\"]\n");
    Files.writeString(clone.resolve("web/index.html"), "<h1>hello</h1>\n");
    Files.createDirectories(clone.resolve("shop"));
    Files.writeString(
        clone.resolve("shop/docker-compose.yml"), "services:\n  web:\n    image: web\n");
  }

  String failedBuildReason(String message) throws Exception {
    JsonNode build = awaitBuild(pushedBuild(commitAndPush(message)), "failed");
    return build.get("reason").asText();
  }

  @Test
  void anAppWithNoServicesFailsTheBuild() throws Exception {
    writeGoodApps();
    Files.writeString(clone.resolve("shop/docker-compose.yml"), "services: {}\n");
    String reason = failedBuildReason("no services");
    assertTrue(reason.contains("no services"), reason);
  }

  @Test
  void aServiceImageThatIsNeitherBuiltNorPinnedFailsTheBuild() throws Exception {
    writeGoodApps();
    Files.writeString(
        clone.resolve("shop/docker-compose.yml"),
        "services:\n  web:\n    image: web\n  cache:\n    image: redis\n");
    String reason = failedBuildReason("unpinned external image");
    assertTrue(reason.contains("service cache") && reason.contains("redis"), reason);
  }

  @Test
  void aDockerfileSyntaxErrorFailsTheBuildNamingTheLine() throws Exception {
    writeGoodApps();
    Files.writeString(
        clone.resolve("web/Dockerfile"),
        "FROM " + factory + "/busybox:1\nCOPPY index.html /www/\n");
    String reason = failedBuildReason("Dockerfile typo");
    assertTrue(reason.contains("line 2") && reason.contains("COPPY"), reason);
  }

  @Test
  void aMissingBaseImageFailsTheBuild() throws Exception {
    writeGoodApps();
    Files.writeString(
        clone.resolve("web/Dockerfile"),
        "FROM " + factory + "/does-not-exist:1\nCOPY index.html /www/\n");
    String reason = failedBuildReason("missing base");
    assertTrue(reason.contains(factory + "/does-not-exist:1"), reason);
  }

  @Test
  void aRepositoryWithoutAppsPublishesATargetWithoutApps() throws Exception {
    writeGoodApps();
    commit("good apps");
    GitCli.ok(clone, "rm", "-r", "-q", "shop");
    JsonNode build = awaitBuild(pushedBuild(commitAndPush("no apps at all")), "succeeded");
    String target = build.get("targets").get(0).asText();
    JsonNode published =
        eventually(
            Duration.ofSeconds(20),
            () -> {
              for (JsonNode candidate :
                  api.get("/api/v1/factories/" + factory + "/targets", pushToken)
                      .json()
                      .get("targets")) {
                if (candidate.get("name").asText().equals(target)) {
                  return candidate;
                }
              }
              throw new AssertionError(target + " is not listed yet");
            });
    assertEquals(0, published.get("apps").size(), published.toString());
  }

  @Test
  void theBuildApiAnswersBadRequestsWithJsonErrors() throws Exception {
    firstBuildWithoutApps();
    assertEquals(404, api.get("/api/v1/factories/" + factory + "/builds/9999", pushToken).status());
    assertEquals(
        400, api.get("/api/v1/factories/" + factory + "/builds/not-a-number", pushToken).status());
    assertEquals(401, api.get("/api/v1/factories/" + factory + "/builds", null).status());
    Answer finished = api.post("/api/v1/factories/" + factory + "/builds/1/cancel", pushToken, "");
    assertEquals(409, finished.status(), "a finished build cannot be canceled: " + finished.body());
    Answer badCommit =
        api.post(
            "/api/v1/factories/" + factory + "/builds", pushToken, "{\"commit\":\"not-a-sha\"}");
    assertEquals(400, badCommit.status(), badCommit.body());
    assertTrue(badCommit.json().hasNonNull("error"), badCommit.body());
  }

  private String skopeo(String... args) throws Exception {
    List<String> command = new java.util.ArrayList<>(List.of("skopeo"));
    command.addAll(List.of(args));
    command.addAll(List.of("--tls-verify=false", "--creds", "dev:" + pushToken));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, process.waitFor(), String.join(" ", command) + "\n" + output);
    return output;
  }
}
