package io.flotilla.gateway.build;

import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.TestServers;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * containers.git over git's protocol v2 (git's default since 2.26), with a client whose own default
 * branch is {@code master}: the clone of the empty repository starts on the server's {@code main},
 * so the README's {@code git push origin main} works, and later clones and fetches of the filled
 * repository run through JGit's v2.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GitProtocolV2Test {

  @TempDir static Path dir;
  private FlotillaServer server;

  @AfterAll
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  private static String git(Path where, String... args) throws Exception {
    String[] v2 = new String[args.length + 4];
    v2[0] = "-c";
    v2[1] = "protocol.version=2";
    v2[2] = "-c";
    v2[3] = "init.defaultBranch=master";
    System.arraycopy(args, 0, v2, 4, args.length);
    return GitCli.ok(where, v2);
  }

  @Test
  void anEmptyCloneStartsOnMainAndTheFilledRepositoryClonesAndFetches() throws Exception {
    server = TestServers.start(dir.resolve("data"), null);
    ApiClient api = new ApiClient(server.httpPort());
    String admin = server.adminToken().value();
    assertEquals(
        201,
        api.post("/api/v1/factories", admin, "{\"name\":\"acme\",\"platforms\":[\"amd64-linux\"]}")
            .status());
    String push =
        api.post(
                "/api/v1/factories/acme/tokens",
                admin,
                "{\"scopes\":[\"containers:read\",\"containers:push\"]}")
            .json()
            .get("token")
            .asText();
    String remote =
        "http://dev:" + push + "@127.0.0.1:" + server.httpPort() + "/git/acme/containers.git";

    String cloned = git(dir, "clone", remote, "first");
    assertTrue(cloned.contains("empty repository"), cloned);
    Path first = dir.resolve("first");
    assertEquals(
        "refs/heads/main",
        git(first, "symbolic-ref", "HEAD").strip(),
        "the clone follows the server's HEAD");

    Files.writeString(first.resolve("notes.txt"), "hello\n");
    git(first, "add", "-A");
    git(first, "commit", "-q", "-m", "notes");
    assertTrue(
        git(first, "push", "origin", "main").contains("build #"), "a push to main starts a build");

    git(dir, "clone", remote, "second");
    Path second = dir.resolve("second");
    assertEquals("refs/heads/main", git(second, "symbolic-ref", "HEAD").strip());
    assertEquals("hello\n", Files.readString(second.resolve("notes.txt")));

    Files.writeString(first.resolve("notes.txt"), "hello again\n");
    git(first, "commit", "-q", "-am", "more notes");
    git(first, "push", "origin", "main");
    git(second, "pull", "-q", "--ff-only");
    assertEquals("hello again\n", Files.readString(second.resolve("notes.txt")));
  }
}
