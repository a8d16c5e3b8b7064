package io.flotilla.gateway.dashboard;

import static io.flotilla.core.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.device.DeviceClient;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.TestServers;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard over plain HTTP against a real server: the session cookie's flags, the sign-in
 * form's and every other form's CSRF checks, the scopes of the API deciding each page, escaping,
 * bounded input answered with 4xx pages, and the API keeping its JSON answers beside it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DashboardHttpTest {

  private static final Pattern CSRF =
      Pattern.compile("name=\"csrf\" value=\"([A-Za-z0-9_-]{43})\"");
  private static final Pattern NONCE =
      Pattern.compile("name=\"nonce\" value=\"([A-Za-z0-9_-]{43})\"");
  private static final AtomicInteger NEXT = new AtomicInteger();

  @TempDir static Path dir;
  private FlotillaServer server;
  private ApiClient api;
  private String admin;

  @BeforeAll
  void start() throws Exception {
    server = TestServers.start(dir.resolve("data"), null);
    api = new ApiClient(server.httpPort());
    admin = server.adminToken().value();
  }

  @AfterAll
  void stop() {
    server.close();
  }

  private String factory() throws Exception {
    String name = "dash-" + NEXT.incrementAndGet();
    assertEquals(
        201,
        api.post(
                "/api/v1/factories",
                admin,
                "{\"name\":\"" + name + "\",\"platforms\":[\"amd64-linux\"]}")
            .status());
    return name;
  }

  private String token(String factory, String scopes) throws Exception {
    var created =
        api.post(
            "/api/v1/factories/" + factory + "/tokens",
            admin,
            "{\"description\":\"http test\",\"scopes\":[" + scopes + "]}");
    assertEquals(201, created.status(), created.body());
    return created.json().get("token").asText();
  }

  private ApiClient.Answer get(String path, String cookie) throws Exception {
    HttpRequest.Builder request = api.request(path, null).GET();
    if (cookie != null) {
      request.header("Cookie", cookie);
    }
    return api.send(request);
  }

  private ApiClient.Answer post(String path, String cookie, String form) throws Exception {
    HttpRequest.Builder request =
        api.request(path, null)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(form));
    if (cookie != null) {
      request.header("Cookie", cookie);
    }
    return api.send(request);
  }

  private static String form(String... pairs) {
    StringBuilder body = new StringBuilder();
    for (int i = 0; i < pairs.length; i += 2) {
      body.append(body.isEmpty() ? "" : "&")
          .append(URLEncoder.encode(pairs[i], StandardCharsets.UTF_8))
          .append('=')
          .append(URLEncoder.encode(pairs[i + 1], StandardCharsets.UTF_8));
    }
    return body.toString();
  }

  private static String group(Pattern pattern, String body) {
    Matcher m = pattern.matcher(body);
    assertTrue(m.find(), body);
    return m.group(1);
  }

  /** Signs in with {@code token}: the session cookie as a Cookie header value. */
  private String signIn(String token) throws Exception {
    ApiClient.Answer page = get("/sign-in", null);
    assertEquals(200, page.status());
    String nonce = group(NONCE, page.body());
    String signInCookie = page.response().headers().firstValue("Set-Cookie").orElseThrow();
    assertTrue(
        signInCookie.contains("HttpOnly") && signInCookie.contains("SameSite=Strict"),
        signInCookie);
    ApiClient.Answer signedIn =
        post(
            "/sign-in",
            DashboardRoutes.SIGN_IN_COOKIE + "=" + nonce,
            form("nonce", nonce, "token", token));
    assertEquals(303, signedIn.status(), signedIn.body());
    String session =
        signedIn.response().headers().allValues("Set-Cookie").stream()
            .filter(c -> c.startsWith(DashboardRoutes.SESSION_COOKIE + "="))
            .findFirst()
            .orElseThrow();
    assertTrue(session.contains("HttpOnly"), session);
    assertTrue(session.contains("SameSite=Strict"), session);
    assertTrue(session.contains("Path=/"), session);
    assertFalse(session.contains(token), "the cookie never carries the token");
    return session.substring(0, session.indexOf(';'));
  }

  @Test
  void signingInNeedsTheFormsOwnNonceAndAValidToken() throws Exception {
    assertEquals(
        "/sign-in?m=in", get("/", null).response().headers().firstValue("Location").orElseThrow());
    ApiClient.Answer page = get("/sign-in", null);
    String nonce = group(NONCE, page.body());
    assertTrue(
        page.response()
            .headers()
            .firstValue("Content-Security-Policy")
            .orElseThrow()
            .contains("script-src 'self'"));

    ApiClient.Answer forged = post("/sign-in", null, form("nonce", nonce, "token", admin));
    assertEquals(403, forged.status());
    assertTrue(forged.body().contains("<html"), forged.body());
    ApiClient.Answer wrong =
        post(
            "/sign-in",
            DashboardRoutes.SIGN_IN_COOKIE + "=" + nonce,
            form("nonce", nonce, "token", "flt_not-a-token"));
    assertEquals(401, wrong.status());
    assertTrue(wrong.body().contains("Not signed in"), wrong.body());
    ApiClient.Answer huge =
        post(
            "/sign-in",
            DashboardRoutes.SIGN_IN_COOKIE + "=" + nonce,
            form("nonce", nonce, "token", "x".repeat(600)));
    assertEquals(400, huge.status());
    ApiClient.Answer tooBig =
        post(
            "/sign-in",
            DashboardRoutes.SIGN_IN_COOKIE + "=" + nonce,
            form("nonce", nonce, "token", "x".repeat(200_000)));
    assertTrue(
        tooBig.status() == 413 || tooBig.status() == 400, tooBig.status() + " " + tooBig.body());

    String session = signIn(admin);
    ApiClient.Answer home = get("/", session);
    assertEquals(200, home.status());
    assertTrue(home.body().contains("Factories"), home.body());
  }

  @Test
  void everyFormNeedsTheSessionsCsrfTokenAndSigningOutEndsTheSession() throws Exception {
    String session = signIn(admin);
    String factory = factory();
    ApiClient.Answer fleet = get("/factories/" + factory + "/fleet", session);
    assertEquals(200, fleet.status(), fleet.body());
    String csrf = group(CSRF, fleet.body());

    ApiClient.Answer noCsrf = post("/sign-out", session, form());
    assertEquals(403, noCsrf.status());
    ApiClient.Answer forged =
        post(
            "/factories/" + factory + "/tokens",
            session,
            form("csrf", "x".repeat(43), "description", "d"));
    assertEquals(403, forged.status());
    assertEquals(
        0, api.get("/api/v1/factories/" + factory + "/tokens", admin).json().get("tokens").size());

    ApiClient.Answer created =
        post(
            "/factories/" + factory + "/tokens",
            session,
            form("csrf", csrf, "description", "from the dashboard", "scope", "devices:read"));
    assertEquals(200, created.status(), created.body());
    assertEquals(
        "no-store", created.response().headers().firstValue("Cache-Control").orElseThrow());
    assertEquals(
        1, api.get("/api/v1/factories/" + factory + "/tokens", admin).json().get("tokens").size());

    ApiClient.Answer out = post("/sign-out", session, form("csrf", csrf));
    assertEquals(303, out.status());
    assertEquals(
        "/sign-in?m=ended",
        get("/factories/" + factory + "/fleet", session)
            .response()
            .headers()
            .firstValue("Location")
            .orElseThrow());
  }

  @Test
  void theApisScopesDecideWhatATokenSeesAndDoes() throws Exception {
    String mine = factory();
    String other = factory();
    String session = signIn(token(mine, "\"devices:read\""));

    assertEquals(303, get("/", session).status(), "a factory token goes to its own factory");
    ApiClient.Answer fleet = get("/factories/" + mine + "/fleet", session);
    assertEquals(200, fleet.status());
    assertFalse(fleet.body().contains("/targets\""), "no link to a page it may not see");
    assertEquals(404, get("/factories/" + other + "/fleet", session).status());
    assertEquals(403, get("/factories/" + mine + "/targets", session).status());
    assertEquals(403, get("/factories/" + mine + "/builds", session).status());
    String csrf = group(CSRF, fleet.body());
    ApiClient.Answer tag =
        post(
            "/factories/" + mine + "/devices/tag",
            session,
            form("csrf", csrf, "tag", "x", "uuid", "a"));
    assertEquals(403, tag.status(), "tagging needs devices:write");
    ApiClient.Answer group =
        post(
            "/factories/" + mine + "/devices/group",
            session,
            form("csrf", csrf, "group", "lab", "uuid", "a"));
    assertEquals(403, group.status(), "grouping needs devices:write");
    ApiClient.Answer registrations = get("/factories/" + mine + "/registrations", session);
    assertEquals(200, registrations.status());
    assertTrue(registrations.body().contains("needs scope admin"), registrations.body());
  }

  @Test
  void badInputIsA4xxPageAndTextIsEscaped() throws Exception {
    String factory = factory();
    String session = signIn(admin);
    String devices = "/factories/" + factory + "/devices";
    for (String query :
        List.of(
            "?page=0",
            "?page=abc",
            "?size=7",
            "?sort=uuid;drop",
            "?status=lost",
            "?seen=1y",
            "?dir=up",
            "?q=" + "a".repeat(200),
            "?q=%01",
            "?tag=%20bad%20tag",
            "?group=bad%20group",
            "?label=no-value",
            "?label=bad%20key=x",
            "?label=ring=bad%20value",
            "?page=9999999")) {
      ApiClient.Answer answer = get(devices + query, session);
      assertEquals(400, answer.status(), query + ": " + answer.body());
      assertTrue(answer.body().contains("role=\"alert\""), answer.body());
    }
    ApiClient.Answer escaped = get(devices + "?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E", session);
    assertEquals(200, escaped.status(), escaped.body());
    assertFalse(escaped.body().contains("<script>alert"), escaped.body());
    assertTrue(escaped.body().contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assertEquals(404, get("/factories/" + factory + "/devices/no-such-device", session).status());
    assertEquals(404, get("/factories/" + factory + "/devices/%3Cx%3E", session).status());
    assertEquals(404, get("/factories/Bad_Name/fleet", session).status());
    assertEquals(404, get("/factories/" + factory + "/nothing-here", session).status());
    assertEquals(404, get("/factories/" + factory + "/builds/0", session).status());
    assertEquals(405, post("/factories/" + factory + "/fleet", session, form()).status());

    String csrf = group(CSRF, get(devices, session).body());
    ApiClient.Answer badGroup =
        post(devices + "/group", session, form("csrf", csrf, "group", "no spaces", "uuid", "a"));
    assertEquals(400, badGroup.status(), badGroup.body());
    ApiClient.Answer unknown =
        post(
            devices + "/group",
            session,
            form("csrf", csrf, "group", "lab", "uuid", "1b4e28ba-2fa1-11d2-883f-0016d3cca427"));
    assertEquals(200, unknown.status(), unknown.body());
    assertTrue(
        unknown.body().contains("Set the group of 0 of 1 devices to lab")
            && unknown.body().contains("Not changed"),
        unknown.body());
    ApiClient.Answer filtered = get(devices + "?group=lab&label=ring%3Dcanary", session);
    assertEquals(200, filtered.status(), filtered.body());
    assertTrue(filtered.body().contains("0 devices match"), filtered.body());

    ApiClient.Answer json = api.get("/api/v1/no-such-thing", admin);
    assertEquals(404, json.status());
    assertTrue(
        json.response()
            .headers()
            .firstValue("Content-Type")
            .orElseThrow()
            .startsWith("application/json"));
    assertEquals(200, get("/assets/htmx.min.js", null).status());
    assertEquals(200, get("/assets/dashboard.js", null).status());
    assertEquals(404, get("/assets/..%2Fapplication.conf", null).status());
  }

  /** A device registered on tag main. */
  private String device(String factory) throws Exception {
    return DeviceClient.register(api, admin, factory).uuid;
  }

  /**
   * A rollout of version 2 on tag main over two devices: a canary phase (the labelled one) and the
   * rest, created through the API, its first phase started.
   */
  private String rollout(String factory) throws Exception {
    String canary = device(factory);
    device(factory);
    String api = "/api/v1/factories/" + factory;
    assertEquals(
        200,
        this.api
            .patch(api + "/devices/" + canary, admin, "{\"labels\":{\"ring\":\"canary\"}}")
            .status());
    ApiClient.Answer created =
        this.api.post(
            api + "/rollouts",
            admin,
            "{\"id\":\"r1\",\"tag\":\"main\",\"version\":2,\"errorCount\":1,"
                + "\"phases\":[{\"name\":\"canary\",\"labels\":{\"ring\":\"canary\"}},"
                + "{\"name\":\"everyone\",\"percent\":100,\"successWithinSeconds\":7200}]}");
    assertEquals(201, created.status(), created.body());
    eventually(
        Duration.ofSeconds(30),
        () -> {
          assertEquals(
              1, this.api.get(api + "/rollouts/r1", admin).json().path("startedPhases").asInt());
          return null;
        });
    return "/factories/" + factory + "/rollouts";
  }

  private String status(String factory) throws Exception {
    return api.get("/api/v1/factories/" + factory + "/rollouts/r1", admin)
        .json()
        .path("status")
        .asText();
  }

  @Test
  void aRolloutsPageShowsItsPhasesAndItsFormsPauseAndCancelOnlyWithTheSessionsCsrf()
      throws Exception {
    String factory = factory();
    String rollouts = rollout(factory);
    String session = signIn(admin);

    // the list reads the read side, which has the started phase a moment after the entity
    eventually(
        Duration.ofSeconds(30),
        () -> {
          ApiClient.Answer list = get(rollouts, session);
          assertEquals(200, list.status(), list.body());
          assertTrue(list.body().contains("href=\"" + rollouts + "/r1\""), list.body());
          assertTrue(
              list.body().contains("<td>version 2</td><td>running</td><td>canary (1 of 2)</td>"),
              list.body());
          return null;
        });
    assertTrue(
        get("/factories/" + factory + "/fleet", session).body().contains(rollouts + "\""),
        "the navigation links to the rollouts");

    ApiClient.Answer page = get(rollouts + "/r1", session);
    assertEquals(200, page.status(), page.body());
    String body = page.body();
    assertTrue(body.contains("<th scope=\"row\">canary</th><td>labels ring=canary</td>"), body);
    assertTrue(body.contains("0 of 1 updated (0%), 0 failed, 1 pending"), body);
    assertTrue(
        body.contains("<td>100% of the tag (cumulative)</td><td class=\"phase-state\">pending"));
    assertTrue(body.contains("95% updated within 1 h") && body.contains("updated within 2 h"));
    assertTrue(body.contains("halts once 1 device failed"), body);
    assertTrue(body.contains("<td>phase canary (1 of 2)</td>"), "the audit trail: " + body);
    assertTrue(body.contains("id=\"rollout-pause\""), body);
    String csrf = group(CSRF, body);

    assertEquals(403, post(rollouts + "/r1/pause", session, form()).status());
    assertEquals(403, post(rollouts + "/r1/pause", session, form("csrf", "x".repeat(43))).status());
    assertEquals("running", status(factory), "a refused form changes nothing");

    ApiClient.Answer paused = post(rollouts + "/r1/pause", session, form("csrf", csrf));
    assertEquals(303, paused.status(), paused.body());
    assertEquals(
        rollouts + "/r1", paused.response().headers().firstValue("Location").orElseThrow());
    assertEquals("paused", status(factory));
    body = get(rollouts + "/r1", session).body();
    assertTrue(body.contains("<dd id=\"rollout-state\">paused</dd>"), body);
    assertTrue(body.contains("<th scope=\"row\">paused</th><td>admin</td>"), body);
    assertTrue(body.contains("id=\"rollout-resume\"") && !body.contains("id=\"rollout-pause\""));

    assertEquals(303, post(rollouts + "/r1/cancel", session, form("csrf", csrf)).status());
    ApiClient.Answer refused = post(rollouts + "/r1/resume", session, form("csrf", csrf));
    assertEquals(409, refused.status(), refused.body());
    assertTrue(refused.body().contains("rollout is canceled"), refused.body());
    assertEquals("canceled", status(factory));

    ApiClient.Answer stream =
        api.send(
            api.request(rollouts + "/r1/events", null)
                .header("Cookie", session)
                .header("Accept", "text/event-stream")
                .GET());
    assertEquals(200, stream.status());
    assertTrue(stream.body().contains("event:rollout-phases"), stream.body());
    assertTrue(stream.body().contains("0 of 1 updated"), stream.body());
    assertTrue(
        stream.body().contains("event:end") && stream.body().contains("the rollout is canceled"),
        "a finished rollout's stream ends: " + stream.body());
  }

  @Test
  void aReadOnlyTokenSeesARolloutWithoutItsFormsAndBadRolloutInputIsA4xxPage() throws Exception {
    String factory = factory();
    String rollouts = rollout(factory);
    String session = signIn(token(factory, "\"targets:read\""));
    ApiClient.Answer page = get(rollouts + "/r1", session);
    assertEquals(200, page.status(), page.body());
    assertTrue(page.body().contains("0 of 1 updated"), page.body());
    assertFalse(page.body().contains("<button type=\"submit\" id=\"rollout-"), page.body());
    assertTrue(page.body().contains("needs scope targets:write"), page.body());
    String csrf = group(CSRF, page.body());
    ApiClient.Answer pause = post(rollouts + "/r1/pause", session, form("csrf", csrf));
    assertEquals(403, pause.status(), pause.body());
    assertEquals("running", status(factory));
    assertEquals(403, get(rollouts, signIn(token(factory, "\"devices:read\""))).status());

    String admins = signIn(admin);
    for (String path :
        List.of(
            "/Bad_Id",
            "/no-such-rollout",
            "/" + "r".repeat(64),
            "/%3Cscript%3E",
            "/r1/nothing",
            "/no-such-rollout/events")) {
      ApiClient.Answer answer = get(rollouts + path, admins);
      assertEquals(404, answer.status(), path + ": " + answer.body());
      assertTrue(answer.body().contains("role=\"alert\""), answer.body());
    }
    String adminCsrf = group(CSRF, get(rollouts, admins).body());
    assertEquals(404, post(rollouts + "/none/cancel", admins, form("csrf", adminCsrf)).status());
    assertEquals(404, post(rollouts + "/r1/explode", admins, form("csrf", adminCsrf)).status());
    assertEquals(405, get(rollouts + "/r1/pause", admins).status());
    ApiClient.Answer huge =
        post(rollouts + "/r1/cancel", admins, form("csrf", adminCsrf, "x", "y".repeat(100_000)));
    assertTrue(huge.status() == 413 || huge.status() == 400, huge.status() + " " + huge.body());
    assertEquals("running", status(factory), "refused input changes nothing");
  }
}
