package io.flotilla.gateway.cli;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.Main;
import io.flotilla.gateway.build.GitCli;
import io.flotilla.gateway.device.DeviceClient;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.ApiClient.Answer;
import io.flotilla.gateway.testing.TestServers;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code bin/flotilla}'s operator commands against a real server over HTTP: every command, its
 * {@code --json} parsed back, and the exit codes scripts rely on. One server and one build are
 * shared; each test makes the targets, devices and tokens it changes.
 */
class CliTest {

  static final ObjectMapper JSON = new ObjectMapper();
  static final Duration PATIENCE = Duration.ofSeconds(60);
  static final String FACTORY = "acme";

  @TempDir static Path dir;
  static FlotillaServer server;
  static ApiClient api;
  static String admin;
  static String url;
  static String deviceToken;
  static final AtomicInteger versions = new AtomicInteger(100);

  record Run(int exit, String out, String err) {
    JsonNode json() {
      try {
        return JSON.readTree(out);
      } catch (Exception e) {
        throw new AssertionError("not JSON (exit " + exit + "): " + out + "\n" + err, e);
      }
    }

    Run ok() {
      assertEquals(0, exit, "stdout: " + out + "\nstderr: " + err);
      return this;
    }
  }

  @BeforeAll
  static void start() throws Exception {
    server = TestServers.start(dir.resolve("data"), null);
    api = new ApiClient(server.httpPort());
    admin = server.adminToken().value();
    url = "http://127.0.0.1:" + server.httpPort();
    Answer factory =
        api.post("/api/v1/factories", admin, "{\"name\":\"acme\",\"platforms\":[\"amd64-linux\"]}");
    assertEquals(201, factory.status(), factory.body());
    Answer token =
        api.post(
            "/api/v1/factories/acme/tokens",
            admin,
            "{\"description\":\"devices\",\"scopes\":[\"devices:create\"]}");
    assertEquals(201, token.status(), token.body());
    deviceToken = token.json().get("token").asText();
    Answer push =
        api.post(
            "/api/v1/factories/acme/tokens",
            admin,
            "{\"description\":\"ci\",\"scopes\":[\"containers:read\",\"containers:push\"]}");
    assertEquals(201, push.status(), push.body());
    String pushToken = push.json().get("token").asText();
    Path home = Files.createDirectories(dir.resolve("git"));
    GitCli.ok(
        home, "clone", "http://ci:" + pushToken + "@" + hostPort() + "/git/acme/containers.git");
    Path clone = home.resolve("containers");
    Files.writeString(clone.resolve("README"), "no apps yet\n");
    GitCli.ok(clone, "add", "-A");
    GitCli.ok(clone, "commit", "-q", "-m", "no apps");
    GitCli.ok(clone, "push", "origin", "HEAD:main");
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  static String hostPort() {
    return "127.0.0.1:" + server.httpPort();
  }

  /** Runs {@code flotilla args...} in-process, as the launcher would. */
  static Run cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine command = Main.commandLine();
    command.setOut(new PrintWriter(out, true));
    command.setErr(new PrintWriter(err, true));
    int exit = command.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  /** {@code args} with the server, the admin token and the factory given as flags. */
  static Run admin(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(
        List.of(
            "--url",
            url,
            "--token",
            admin,
            "--factory",
            FACTORY,
            "--cli-config",
            dir.resolve("unused.yaml").toString()));
    return cli(all.toArray(String[]::new));
  }

  static String newTarget(String tag) throws Exception {
    long version = versions.incrementAndGet();
    Answer added =
        api.post(
            "/api/v1/factories/acme/targets",
            admin,
            "{\"version\":"
                + version
                + ",\"tags\":[\""
                + tag
                + "\"],\"apps\":{\"app\":\"hub.local/acme/app@sha256:"
                + "cd".repeat(32)
                + "\"}}");
    assertEquals(201, added.status(), added.body());
    return "amd64-linux-" + version;
  }

  static String newDevice() throws Exception {
    DeviceClient device = new DeviceClient();
    ObjectNode body = JSON.createObjectNode();
    body.put("name", "dev-" + device.uuid.substring(0, 8));
    body.put("uuid", device.uuid);
    body.put("hardware-id", "amd64-linux");
    body.put("csr", device.csr(FACTORY));
    body.put("sota-config-dir", "/var/sota");
    Answer registered =
        api.send(
            api.request("/ota/devices/", null)
                .header("OSF-TOKEN", deviceToken)
                .header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body.toString())));
    assertEquals(201, registered.status(), registered.body());
    return device.uuid;
  }

  @Test
  void loginWritesAPrivateProfileThatLaterCommandsUse() throws Exception {
    Path profile = dir.resolve("login/config.yaml");
    JsonNode login =
        cli(
                "login",
                "--url",
                url + "/api/v1/",
                "--token",
                admin,
                "--factory",
                FACTORY,
                "--cli-config",
                profile.toString(),
                "--json")
            .ok()
            .json();
    assertEquals(url, login.get("url").asText(), "the API suffix and slash are dropped");
    assertEquals(FACTORY, login.get("factory").asText());
    assertFalse(login.toString().contains(admin), "the token is never printed whole");
    assertEquals(
        PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(profile));
    assertTrue(Files.readString(profile).contains(admin));

    JsonNode status = cli("status", "--json", "--cli-config", profile.toString()).ok().json();
    assertTrue(status.has("devices") && status.has("byTag"), status.toString());
    Run table = cli("status", "--cli-config", profile.toString()).ok();
    assertTrue(table.out().contains("factory:") && table.out().contains(FACTORY), table.out());

    cli("config", "set", "factory", "nowhere", "--cli-config", profile.toString()).ok();
    JsonNode shown = cli("config", "get", "--json", "--cli-config", profile.toString()).ok().json();
    assertEquals("nowhere", shown.get("factory").asText());
    assertEquals(url, shown.get("url").asText());
    assertEquals(profile.toString(), shown.get("file").asText());
    assertFalse(shown.get("token").asText().contains(admin));
    assertEquals(
        0,
        cli("status", "--factory", FACTORY, "--cli-config", profile.toString()).exit(),
        "a flag wins over the profile");
    assertEquals(
        CliFailure.USAGE,
        cli("config", "set", "colour", "blue", "--cli-config", profile.toString()).exit());
  }

  @Test
  void exitCodesTellScriptsWhatWentWrong() throws Exception {
    Path empty = dir.resolve("empty.yaml");
    assertEquals(
        CliFailure.USAGE,
        cli("targets", "list", "--url", url, "--token", admin, "--cli-config", empty.toString())
            .exit(),
        "no factory anywhere");
    Run noToken =
        cli(
            "targets",
            "list",
            "--url",
            url,
            "--factory",
            FACTORY,
            "--cli-config",
            empty.toString());
    assertEquals(CliFailure.DENIED, noToken.exit(), noToken.err());
    assertEquals(
        CliFailure.DENIED,
        cli(
                "login",
                "--url",
                url,
                "--token",
                "not-a-token",
                "--cli-config",
                dir.resolve("refused.yaml").toString())
            .exit());
    assertFalse(Files.exists(dir.resolve("refused.yaml")), "a refused login saves nothing");
    assertEquals(CliFailure.USAGE, admin("targets", "frobnicate").exit());
    assertEquals(CliFailure.USAGE, admin("devices", "list", "--limit", "0").exit());
    Run missing = admin("targets", "show", "amd64-linux-999999");
    assertEquals(CliFailure.NOT_FOUND, missing.exit());
    assertTrue(missing.err().contains("amd64-linux-999999"), missing.err());
    int closed;
    try (ServerSocket socket = new ServerSocket(0)) {
      closed = socket.getLocalPort();
    }
    Run unreachable =
        cli(
            "status",
            "--url",
            "http://127.0.0.1:" + closed,
            "--token",
            admin,
            "--factory",
            FACTORY,
            "--cli-config",
            empty.toString());
    assertEquals(CliFailure.SERVER, unreachable.exit(), unreachable.err());
  }

  @Test
  void targetsListShowTagAndPrune() throws Exception {
    String tag = "t-" + versions.get();
    String first = newTarget(tag);
    String second = newTarget(tag);

    JsonNode listed = admin("targets", "list", "--tag", tag, "--json").ok().json();
    Set<String> names = new HashSet<>();
    listed.get("targets").forEach(t -> names.add(t.get("name").asText()));
    assertEquals(Set.of(first, second), names);
    Run table = admin("targets", "list", "--tag", tag).ok();
    assertTrue(table.out().startsWith("NAME"), table.out());
    assertTrue(table.out().contains(first) && table.out().contains(tag), table.out());

    JsonNode shown = admin("targets", "show", first, "--json").ok().json();
    assertEquals(first, shown.get("name").asText());
    assertTrue(shown.get("apps").has("app"));
    assertTrue(admin("targets", "show", first).ok().out().contains("hub.local/acme/app@sha256:"));

    JsonNode tagged =
        admin("targets", "tag", first, second, "--tags", tag + "-b", "--append", "--json")
            .ok()
            .json();
    assertEquals(2, tagged.size());
    for (JsonNode target : tagged) {
      assertEquals(List.of(tag, tag + "-b"), JSON.convertValue(target.get("tags"), List.class));
    }
    JsonNode replaced = admin("targets", "tag", first, "-T", tag + "-c", "--json").ok().json();
    assertEquals(List.of(tag + "-c"), JSON.convertValue(replaced.get(0).get("tags"), List.class));
    assertEquals(
        1,
        admin("targets", "list", "--tag", tag + "-c", "--json").ok().json().get("targets").size());

    Run pruned = admin("targets", "prune", first, second, "--json").ok();
    assertEquals(2, pruned.json().size());
    assertTrue(pruned.err().contains("[2/2] pruned " + second), pruned.err());
    assertEquals(CliFailure.NOT_FOUND, admin("targets", "show", first).exit());
    assertEquals(CliFailure.NOT_FOUND, admin("targets", "prune", first).exit());
  }

  @Test
  void devicesListShowConfigAndDelete() throws Exception {
    String uuid = newDevice();
    JsonNode listed =
        eventually(
            PATIENCE,
            () -> {
              JsonNode page = admin("devices", "list", "--all", "--json").ok().json();
              assertTrue(page.get("devices").toString().contains(uuid), page.toString());
              return page;
            });
    assertTrue(listed.get("nextCursor").isNull());
    assertTrue(admin("devices", "list").ok().out().contains(uuid));

    JsonNode shown = admin("devices", "show", uuid, "--json").ok().json();
    assertEquals(uuid, shown.get("uuid").asText());
    assertEquals("amd64-linux", shown.get("hardwareId").asText());
    assertTrue(admin("devices", "show", uuid).ok().out().contains("hardwareId:"));

    Path file = Files.writeString(dir.resolve("b-" + uuid), "line one\nline two\n");
    JsonNode set =
        admin(
                "devices",
                "config",
                "set",
                uuid,
                "a.conf=1",
                "b.conf=@" + file,
                "--reason",
                "cli test",
                "--on-changed",
                "/usr/bin/true",
                "--json")
            .ok()
            .json();
    assertEquals(2, set.get("files").size(), set.toString());
    admin("devices", "config", "set", uuid, "a.conf=2", "--json").ok();
    JsonNode config = admin("devices", "config", "get", uuid, "--json").ok().json();
    assertEquals(2, config.get("files").size(), config.toString());
    for (JsonNode f : config.get("files")) {
      if (f.get("name").asText().equals("a.conf")) {
        assertEquals("2", f.get("value").asText());
      } else {
        assertEquals("line one\nline two\n", f.get("value").asText());
        assertEquals("/usr/bin/true", f.get("onChanged").get(0).asText(), "kept by the merge");
      }
    }
    assertTrue(admin("devices", "config", "get", uuid).ok().out().contains("b.conf"));
    assertEquals(CliFailure.USAGE, admin("devices", "config", "set", uuid, "novalue").exit());

    JsonNode deleted = admin("devices", "delete", uuid, "--json").ok().json();
    assertTrue(deleted.get("deleted").asBoolean());
    eventually(
        PATIENCE,
        () -> {
          JsonNode after = admin("devices", "show", uuid, "--json").ok().json();
          assertNotNull(after.get("decommissionedAt"), after.toString());
          return after;
        });
    assertEquals(
        CliFailure.NOT_FOUND,
        admin("devices", "show", java.util.UUID.randomUUID().toString()).exit());
  }

  @Test
  void devicesGroupLabelAndListByThem() throws Exception {
    String uuid = newDevice();
    String other = newDevice();
    String group = "g-" + uuid.substring(0, 8);
    JsonNode grouped = admin("devices", "group", uuid, group, "--json").ok().json();
    assertEquals(group, grouped.get("group").asText());
    assertTrue(admin("devices", "group", other, group).ok().out().contains(group));

    JsonNode labelled =
        admin("devices", "label", uuid, "ring=canary", "site=lab", "--json").ok().json();
    assertEquals(
        java.util.Map.of("ring", "canary", "site", "lab"),
        JSON.convertValue(labelled.get("labels"), java.util.Map.class));
    JsonNode relabelled =
        admin("devices", "label", uuid, "ring=beta", "--remove", "site", "--json").ok().json();
    assertEquals(
        java.util.Map.of("ring", "beta"),
        JSON.convertValue(relabelled.get("labels"), java.util.Map.class),
        "the other labels stay, the removed one goes");
    assertTrue(admin("devices", "label", other, "ring=stable").ok().out().contains("ring=stable"));

    Set<String> inGroup = new HashSet<>();
    admin("devices", "list", "--group", group, "--json")
        .ok()
        .json()
        .get("devices")
        .forEach(d -> inGroup.add(d.get("uuid").asText()));
    assertEquals(Set.of(uuid, other), inGroup);
    JsonNode beta =
        admin("devices", "list", "--group", group, "--label", "ring=beta", "--json").ok().json();
    assertEquals(1, beta.get("devices").size(), beta.toString());
    assertEquals(uuid, beta.get("devices").get(0).get("uuid").asText());
    Run table = admin("devices", "list", "--group", group, "--label", "ring=stable").ok();
    assertTrue(table.out().contains(other) && !table.out().contains(uuid), table.out());

    JsonNode ungrouped = admin("devices", "group", other, "", "--json").ok().json();
    assertTrue(ungrouped.path("group").isNull() || ungrouped.path("group").isMissingNode());
    assertEquals(CliFailure.USAGE, admin("devices", "label", uuid, "novalue").exit());
    assertEquals(CliFailure.USAGE, admin("devices", "label", uuid).exit());
    assertEquals(CliFailure.USAGE, admin("devices", "label", uuid, "bad key=x").exit());
    assertEquals(CliFailure.USAGE, admin("devices", "list", "--label", "nokey").exit());
    assertEquals(
        CliFailure.NOT_FOUND,
        admin("devices", "label", java.util.UUID.randomUUID().toString(), "a=b").exit());
  }

  @Test
  void rolloutsCreateListShowPauseResumeAndCancel() throws Exception {
    String tag = "r-" + versions.get();
    newTarget(tag);
    String id = "cli-" + versions.incrementAndGet();
    JsonNode created =
        admin(
                "rollouts",
                "create",
                id,
                "--tag",
                tag,
                "--target-version",
                String.valueOf(versions.get() + 1),
                "--growth",
                "10,100",
                "--error-count",
                "3",
                "--rollback",
                "--json")
            .ok()
            .json();
    assertEquals(id, created.get("id").asText());
    assertEquals("running", created.get("status").asText());
    assertEquals(2, created.get("progress").get("phases").size());

    JsonNode listed = admin("rollouts", "list", "--json").ok().json();
    assertTrue(listed.get("rollouts").toString().contains(id), listed.toString());
    assertTrue(admin("rollouts", "list").ok().out().contains(id));

    JsonNode shown = admin("rollouts", "show", id, "--json").ok().json();
    assertEquals(tag, shown.get("tag").asText());
    assertEquals("step-1", shown.get("progress").get("phases").get(0).get("name").asText());
    Run table = admin("rollouts", "show", id).ok();
    assertTrue(table.out().contains("status:"), table.out());
    assertTrue(table.out().contains("step-2") && table.out().contains("PROGRESS"), table.out());

    assertEquals(
        "paused", admin("rollouts", "pause", id, "--json").ok().json().get("status").asText());
    assertTrue(admin("rollouts", "resume", id).ok().out().contains("running"));
    assertEquals(
        "canceled", admin("rollouts", "cancel", id, "--json").ok().json().get("status").asText());
    assertEquals(CliFailure.USAGE, admin("rollouts", "resume", id).exit(), "409: canceled");

    Path phases =
        Files.writeString(
            dir.resolve("phases-" + id + ".json"),
            "[{\"name\":\"lab\",\"group\":\"lab\"},{\"name\":\"rest\",\"percent\":100}]");
    JsonNode byFile =
        admin(
                "rollouts",
                "create",
                id + "-b",
                "--tag",
                tag,
                "--target-version",
                "7",
                "--phases-file",
                phases.toString(),
                "--json")
            .ok()
            .json();
    assertEquals("lab", byFile.get("progress").get("phases").get(0).get("name").asText());
    assertEquals(
        CliFailure.USAGE,
        admin("rollouts", "create", "x", "--tag", tag, "--target-version", "7", "--phases", "{")
            .exit());
    assertEquals(
        CliFailure.USAGE,
        admin("rollouts", "create", "Bad Id", "--tag", tag, "--target-version", "7").exit());
    assertEquals(CliFailure.NOT_FOUND, admin("rollouts", "show", "none").exit());
    assertEquals(CliFailure.NOT_FOUND, admin("rollouts", "pause", "none").exit());
  }

  @Test
  void buildsListShowAndLogs() throws Exception {
    JsonNode build =
        eventually(
            PATIENCE,
            () -> {
              JsonNode shown = admin("builds", "show", "1", "--json").ok().json();
              assertEquals("succeeded", shown.get("status").asText(), shown.toString());
              return shown;
            });
    assertEquals(1, build.get("number").asLong());
    JsonNode listed = admin("builds", "list", "--json").ok().json();
    assertEquals(1, listed.get("builds").get(0).get("number").asLong());
    assertTrue(admin("builds", "list").ok().out().contains("succeeded"));
    assertTrue(admin("builds", "show", "1").ok().out().contains("status:"));

    Run followed = admin("builds", "logs", "1", "--follow").ok();
    assertFalse(followed.out().isBlank());
    assertTrue(followed.err().contains("build 1 succeeded"), followed.err());
    String[] lines = admin("builds", "logs", "1", "--json").ok().out().split("\n");
    assertEquals(followed.out().split("\n").length, lines.length);
    for (String line : lines) {
      assertTrue(JSON.readTree(line).has("line"), line);
    }
    assertEquals(CliFailure.NOT_FOUND, admin("builds", "show", "999").exit());
    assertEquals(CliFailure.NOT_FOUND, admin("builds", "logs", "999").exit());
  }

  @Test
  void tokensCreateListAndRevoke() throws Exception {
    JsonNode created =
        admin("tokens", "create", "--description", "reader", "--scopes", "targets:read", "--json")
            .ok()
            .json();
    String id = created.get("id").asText();
    String secret = created.get("token").asText();
    JsonNode listed = admin("tokens", "list", "--json").ok().json();
    assertTrue(listed.get("tokens").toString().contains(id), listed.toString());
    assertTrue(admin("tokens", "list").ok().out().contains("reader"));

    Path empty = dir.resolve("none.yaml");
    String[] asReader = {
      "--url", url, "--token", secret, "-f", FACTORY, "--cli-config", empty.toString()
    };
    assertEquals(0, cli(concat(new String[] {"targets", "list", "--json"}, asReader)).exit());
    assertEquals(
        CliFailure.DENIED,
        cli(concat(new String[] {"devices", "list"}, asReader)).exit(),
        "a token without devices:read");

    JsonNode revoked = admin("tokens", "revoke", id, "--json").ok().json();
    assertTrue(revoked.get("revoked").asBoolean());
    eventually(
        PATIENCE,
        () -> {
          assertEquals(
              CliFailure.DENIED, cli(concat(new String[] {"targets", "list"}, asReader)).exit());
          return null;
        });
    assertTrue(
        admin("tokens", "create", "--description", "x", "--scopes", "nonsense").exit()
            == CliFailure.USAGE);
  }

  @Test
  void devicesShowAtAMomentReplaysTheJournal() throws Exception {
    java.time.Instant beforeRegistration = java.time.Instant.now().minusSeconds(1);
    String uuid = newDevice();
    JsonNode registered =
        eventually(PATIENCE, () -> admin("devices", "show", uuid, "--json").ok().json());
    String original = registered.get("name").asText();
    Thread.sleep(20);
    java.time.Instant afterRegistration = java.time.Instant.now();
    Thread.sleep(20);
    Answer renamed =
        api.patch(
            "/api/v1/factories/acme/devices/" + uuid,
            admin,
            "{\"name\":\"renamed\",\"group\":\"lab\"}");
    assertEquals(200, renamed.status(), renamed.body());

    JsonNode then =
        admin("devices", "show", uuid, "--at", afterRegistration.toString(), "--json").ok().json();
    assertEquals(original, then.get("name").asText(), "the name it had then");
    assertTrue(then.path("group").isMissingNode() || then.get("group").isNull(), then.toString());
    JsonNode now =
        admin("devices", "show", uuid, "--at", java.time.Instant.now().toString(), "--json")
            .ok()
            .json();
    assertEquals("renamed", now.get("name").asText());
    assertEquals("lab", now.get("group").asText());
    java.time.Instant readSide = java.time.Instant.parse(registered.get("createdAt").asText());
    java.time.Instant journal = java.time.Instant.parse(now.get("createdAt").asText());
    assertTrue(
        Math.abs(java.time.Duration.between(journal, readSide).toNanos()) <= 500,
        "the journal's instant "
            + journal
            + ", which the read side rounds to the microsecond: "
            + readSide);
    assertTrue(
        admin("devices", "show", uuid, "--at", afterRegistration.toString())
            .ok()
            .out()
            .contains(original));

    Run before = admin("devices", "show", uuid, "--at", beforeRegistration.toString());
    assertEquals(CliFailure.NOT_FOUND, before.exit(), before.err());
    assertEquals(CliFailure.USAGE, admin("devices", "show", uuid, "--at", "yesterday").exit());
  }

  @Test
  void statusAtAMomentFollowsEveryPage() throws Exception {
    JsonNode now =
        eventually(
            PATIENCE,
            () -> {
              JsonNode shown = admin("status", "--json").ok().json();
              assertTrue(shown.get("devices").asLong() >= 0, shown.toString());
              return shown;
            });
    java.time.Instant before = java.time.Instant.now();
    Thread.sleep(20);
    String uuid = newDevice();
    eventually(PATIENCE, () -> admin("devices", "show", uuid, "--json").ok().json());
    Thread.sleep(20);
    java.time.Instant after = java.time.Instant.now();

    JsonNode then = admin("status", "--at", before.toString(), "--json").ok().json();
    JsonNode later = admin("status", "--at", after.toString(), "--json").ok().json();
    assertFalse(then.get("fleet").toString().contains(uuid), then.toString());
    assertTrue(later.get("fleet").toString().contains(uuid), later.toString());
    assertEquals(
        then.get("devices").asLong() + 1,
        later.get("devices").asLong(),
        "one device more, registered in between (" + now + ")");
    long summed = 0;
    for (JsonNode tag : later.get("byTag")) {
      summed += tag.get("devices").asLong();
    }
    assertEquals(later.get("devices").asLong(), summed);
    Run table = admin("status", "--at", after.toString()).ok();
    assertTrue(table.out().contains("at:") && table.out().contains("TAG"), table.out());

    Answer paged = api.get("/api/v1/factories/acme/status?at=" + after + "&limit=1", admin);
    assertEquals(200, paged.status(), paged.body());
    assertEquals(1, paged.json().get("fleet").size());
    assertEquals(CliFailure.USAGE, admin("status", "--at", "yesterday").exit());
    assertEquals(
        400, api.get("/api/v1/factories/acme/status?at=" + after + "&limit=0", admin).status());
    assertEquals(
        400, api.get("/api/v1/factories/acme/status?at=" + after + "&cursor=%00", admin).status());
    assertEquals(
        400,
        api.get("/api/v1/factories/acme/status?at=%2B1000000000-12-31T23:59:59Z", admin).status(),
        "a moment the journal's milliseconds cannot hold");
  }

  private static String[] concat(String[] a, String[] b) {
    String[] all = new String[a.length + b.length];
    System.arraycopy(a, 0, all, 0, a.length);
    System.arraycopy(b, 0, all, a.length, b.length);
    return all;
  }
}
