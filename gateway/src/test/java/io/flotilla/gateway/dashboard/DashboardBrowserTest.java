package io.flotilla.gateway.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.deque.html.axecore.results.Results;
import com.deque.html.axecore.results.Rule;
import com.deque.html.axecore.selenium.AxeBuilder;
import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.builder.image.BusyboxBaseImage;
import io.flotilla.builder.registry.RegistryClient;
import io.flotilla.builder.registry.RegistryEndpoints;
import io.flotilla.fleetsim.Simulator;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.build.GitCli;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.TestServers;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboard in a real browser (Debian's headless Chromium driven by Selenium) against a real
 * server with a simulated fleet of 1,000 devices: sign-in, live fleet counts, the device table's
 * filters and pages, a device's update timeline, a build log streaming, a rollout's live phases and
 * its pause button, a revoked token losing its session, the CSRF check, and axe-core on every page.
 * Each page's screenshot is written to {@code target/dashboard-screenshots/}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DashboardBrowserTest {

  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  private static final Path SCREENSHOTS = Path.of("target", "dashboard-screenshots");
  private static final String FLEET = "fleet";
  private static final int DEVICES = 1000;
  private static final String APP =
      "hub.example:8080/" + FLEET + "/shellhttpd@sha256:" + "a".repeat(64);
  private static final AtomicInteger NEXT = new AtomicInteger();

  @TempDir static Path dir;
  private FlotillaServer server;
  private ApiClient api;
  private String admin;
  private String base;
  private ChromeDriver driver;
  private CompletableFuture<Simulator.Report> fleet;
  private final ByteArrayOutputStream simulatorOutput = new ByteArrayOutputStream();

  @BeforeAll
  void start() throws Exception {
    boolean present = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
    assumeTrue(
        present || "true".equals(System.getenv("CI")),
        "chromium and chromium-driver are not installed (CI installs them)");
    server = TestServers.start(dir.resolve("data"), null);
    api = new ApiClient(server.httpPort());
    admin = server.adminToken().value();
    base = "http://127.0.0.1:" + server.httpPort();
    assertEquals(
        201,
        api.post(
                "/api/v1/factories",
                admin,
                "{\"name\":\"" + FLEET + "\",\"platforms\":[\"amd64-linux\"]}")
            .status());
    String registration = token(FLEET, "devices:create");
    assertEquals(
        201,
        api.post(
                "/api/v1/factories/" + FLEET + "/targets",
                admin,
                "{\"tags\":[\"main\"],\"apps\":{\"shellhttpd\":\"" + APP + "\"}}")
            .status());
    driver = browser();
    PrintStream out = new PrintStream(simulatorOutput, true, StandardCharsets.UTF_8);
    fleet =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return new Simulator(
                        new Simulator.Settings(
                            URI.create("https://127.0.0.1:" + server.devicePort()),
                            URI.create(base),
                            registration,
                            FLEET,
                            DEVICES,
                            Duration.ofSeconds(10),
                            Duration.ZERO,
                            "main",
                            "amd64-linux",
                            false,
                            "http",
                            0,
                            Duration.ZERO,
                            Duration.ofSeconds(12),
                            Simulator.Connections.KEEPALIVE,
                            Simulator.Scenario.CHECKIN,
                            false,
                            false,
                            dir.resolve("fleet"),
                            2,
                            Duration.ofSeconds(30),
                            Duration.ofSeconds(5),
                            8,
                            out,
                            Simulator.Faults.NONE))
                    .run();
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            });
  }

  @AfterAll
  void stop() {
    if (driver != null) {
      driver.quit();
    }
    if (fleet != null) {
      fleet.orTimeout(60, TimeUnit.SECONDS).exceptionally(e -> null).join();
    }
    if (server != null) {
      server.close();
    }
  }

  @BeforeEach
  void signedOut() {
    driver.manage().deleteAllCookies();
  }

  private static ChromeDriver browser() throws Exception {
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments(
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--user-data-dir=" + Files.createTempDirectory(dir, "chromium"));
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(new File(CHROMEDRIVER.toString()))
            .usingAnyFreePort()
            .build();
    ChromeDriver driver = new ChromeDriver(service, options);
    driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(60));
    driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(60));
    return driver;
  }

  private String token(String factory, String... scopes) throws Exception {
    StringBuilder list = new StringBuilder();
    for (String scope : scopes) {
      list.append(list.isEmpty() ? "" : ",").append('"').append(scope).append('"');
    }
    ApiClient.Answer created =
        api.post(
            "/api/v1/factories/" + factory + "/tokens",
            admin,
            "{\"description\":\"browser test\",\"scopes\":[" + list + "]}");
    assertEquals(201, created.status(), created.body());
    return created.json().get("token").asText();
  }

  private void signIn(String token) {
    driver.get(base + "/sign-in");
    driver.findElement(By.id("token")).sendKeys(token);
    driver.findElement(By.cssSelector("form.signin button")).click();
    waitFor(Duration.ofSeconds(30), () -> !driver.getCurrentUrl().endsWith("/sign-in"));
  }

  private void waitFor(Duration timeout, java.util.function.BooleanSupplier condition) {
    new WebDriverWait(driver, timeout, Duration.ofMillis(200))
        .ignoring(StaleElementReferenceException.class)
        .until(d -> condition.getAsBoolean());
  }

  /** An element's text, read in one step: the live parts of a page are replaced as they update. */
  private String text(String id) {
    Object text =
        ((JavascriptExecutor) driver)
            .executeScript(
                "var e = document.getElementById(arguments[0]); return e ? e.innerText : null;",
                id);
    return text == null ? "" : text.toString().strip();
  }

  private String updated() {
    Object updated =
        ((JavascriptExecutor) driver)
            .executeScript("return document.getElementById('fleet').getAttribute('data-updated');");
    return updated == null ? "" : updated.toString();
  }

  private void screenshot(String name) throws Exception {
    Files.createDirectories(SCREENSHOTS);
    Files.write(SCREENSHOTS.resolve(name + ".png"), driver.getScreenshotAs(OutputType.BYTES));
  }

  /** axe-core on the current page: no serious or critical violation. */
  private void accessible(String page) {
    Results results = new AxeBuilder().analyze(driver);
    List<Rule> bad =
        results.getViolations().stream()
            .filter(v -> "serious".equals(v.getImpact()) || "critical".equals(v.getImpact()))
            .toList();
    assertTrue(
        bad.isEmpty(),
        page
            + ": "
            + bad.stream()
                .map(v -> v.getId() + " (" + v.getImpact() + "): " + v.getNodes())
                .toList());
  }

  /**
   * Waits for the simulated fleet: every device registered. A loaded machine may refuse some
   * check-ins (503 when an entity does not answer in time); the simulator counts them as errors,
   * and the tests look only at what reached the server.
   */
  private void fleetRegistered() throws Exception {
    Simulator.Report report = fleet.get(300, TimeUnit.SECONDS);
    assertEquals(DEVICES, report.registeredThisRun(), simulatorOutput + report.errors().toString());
  }

  /** A device of the fleet whose update to the published target succeeded. */
  private JsonNode updatedDevice() throws Exception {
    JsonNode[] found = new JsonNode[1];
    waitFor(
        Duration.ofSeconds(60),
        () -> {
          try {
            for (JsonNode d :
                api.get("/api/v1/factories/" + FLEET + "/devices?limit=1000", admin)
                    .json()
                    .get("devices")) {
              if ("succeeded".equals(d.path("updateState").asText())) {
                found[0] = d;
                return true;
              }
            }
            return false;
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        });
    return found[0];
  }

  @Test
  void aSimulatedFleetOfAThousandAppearsLiveOnTheFleetPage() throws Exception {
    signIn(admin);
    screenshot("factories");
    accessible("factories");
    driver.get(base + "/factories/" + FLEET + "/fleet");
    waitFor(
        Duration.ofSeconds(30),
        () -> driver.findElement(By.id("fleet")).getAttribute("data-updated") != null);
    String first = driver.findElement(By.id("fleet")).getAttribute("data-updated");
    waitFor(Duration.ofSeconds(300), () -> text("total-devices").equals(Integer.toString(DEVICES)));
    waitFor(Duration.ofSeconds(30), () -> !first.equals(updated()));
    assertTrue(driver.getPageSource().contains("main"), "the tag's row");
    waitFor(Duration.ofSeconds(60), () -> !text("checkins-hour").equals("0"));
    screenshot("fleet");
    accessible("fleet");
    driver.manage().window().setSize(new Dimension(390, 844));
    screenshot("fleet-phone");
    driver.manage().window().setSize(new Dimension(1280, 900));
  }

  @Test
  void theDeviceTableFiltersAndPagesAndADeviceShowsItsUpdateTimeline() throws Exception {
    fleetRegistered();
    signIn(token(FLEET, "devices:read"));
    driver.get(base + "/factories/" + FLEET + "/devices?size=25");
    assertTrue(text("device-count").startsWith(DEVICES + " devices match"), text("device-count"));
    assertTrue(text("device-count").contains("page 1 of 40"), text("device-count"));
    driver.findElement(By.cssSelector("a[rel=next]")).click();
    waitFor(Duration.ofSeconds(20), () -> text("device-count").contains("page 2 of 40"));
    screenshot("devices");
    accessible("devices");

    JsonNode device = updatedDevice();
    String name = device.get("name").asText();
    WebElement search = driver.findElement(By.id("f-q"));
    search.clear();
    search.sendKeys(device.get("uuid").asText());
    new Select(driver.findElement(By.id("f-sort"))).selectByValue("last-seen");
    driver.findElement(By.cssSelector("form.filters button")).click();
    waitFor(Duration.ofSeconds(20), () -> text("device-count").startsWith("1 devices match"));
    assertTrue(driver.getCurrentUrl().contains("q="), driver.getCurrentUrl());

    driver.findElement(By.linkText(name)).click();
    waitFor(Duration.ofSeconds(20), () -> !text("timeline").isEmpty());
    String timeline = text("timeline");
    assertTrue(timeline.contains("succeeded"), timeline);
    assertTrue(timeline.contains("amd64-linux-1"), timeline);
    assertTrue(driver.getPageSource().contains("Journal"), "the journal section");
    screenshot("device");
    accessible("device");

    driver.get(base + "/factories/" + FLEET + "/devices?status=bogus");
    assertTrue(driver.getPageSource().contains("Status must be online"), driver.getPageSource());
  }

  @Test
  void aBuildLogStreamsWhileTheBuildRuns() throws Exception {
    String factory = "build-" + NEXT.incrementAndGet();
    assertEquals(
        201,
        api.post(
                "/api/v1/factories",
                admin,
                "{\"name\":\"" + factory + "\",\"platforms\":[\"amd64-linux\"]}")
            .status());
    String push = token(factory, "containers:read", "containers:push");
    String host = "127.0.0.1:" + server.httpPort();
    RegistryClient registry =
        new RegistryClient(
            HttpClient.newHttpClient(),
            new RegistryEndpoints(host, URI.create("http://" + host), "dev", push, Set.of()));
    BusyboxBaseImage.push(registry, host, factory + "/busybox", "1");
    Path work = Files.createTempDirectory(dir, "git");
    GitCli.ok(
        work,
        "clone",
        "http://dev:" + push + "@" + host + "/git/" + factory + "/containers.git",
        "clone");
    Path clone = work.resolve("clone");
    Files.createDirectories(clone.resolve("web"));
    Files.writeString(
        clone.resolve("web/Dockerfile"),
        "FROM "
            + factory
            + "/busybox:1\nCOPY index.html /www/\nCMD [\"httpd\", \"-f\", \"-h\", \"/www\"]\n");
    Files.writeString(clone.resolve("web/index.html"), "<h1>dashboard</h1>\n");
    GitCli.ok(clone, "add", "-A");
    GitCli.ok(clone, "commit", "-q", "-m", "a web image");
    signIn(push);
    assertTrue(GitCli.ok(clone, "push", "origin", "HEAD:main").contains("build #1"));

    driver.get(base + "/factories/" + factory + "/builds/1");
    waitFor(
        Duration.ofSeconds(120),
        () -> "true".equals(driver.findElement(By.id("build-log")).getAttribute("data-complete")));
    String log = text("build-log");
    assertTrue(log.contains("publishing"), log);
    screenshot("build");
    accessible("build");
    driver.get(base + "/factories/" + factory + "/builds");
    assertTrue(driver.findElement(By.linkText("#1")).isDisplayed());
    screenshot("builds");
    accessible("builds");
  }

  @Test
  void aRevokedTokenLosesItsSessionAtItsNextRequest() throws Exception {
    String factory = "revoke-" + NEXT.incrementAndGet();
    assertEquals(
        201,
        api.post(
                "/api/v1/factories",
                admin,
                "{\"name\":\"" + factory + "\",\"platforms\":[\"amd64-linux\"]}")
            .status());
    String operator = token(factory, "admin");
    signIn(operator);
    driver.get(base + "/factories/" + factory + "/registrations");
    screenshot("registrations");
    accessible("registrations");
    driver.findElement(By.id("t-desc")).sendKeys("made in the browser");
    driver.findElement(By.cssSelector("input[name=scope][value='devices:read']")).click();
    driver.findElement(By.cssSelector("form.create-token button")).click();
    String secret = driver.findElement(By.id("secret")).getAttribute("value");
    assertTrue(secret.length() > 20, secret);
    assertEquals(200, api.get("/api/v1/factories/" + factory + "/devices", secret).status());

    JsonNode tokens = api.get("/api/v1/factories/" + factory + "/tokens", admin).json();
    String operatorId = null;
    for (JsonNode t : tokens.get("tokens")) {
      if (t.get("description").asText().equals("browser test")) {
        operatorId = t.get("id").asText();
      }
    }
    assertTrue(operatorId != null, tokens.toString());
    assertEquals(
        204, api.delete("/api/v1/factories/" + factory + "/tokens/" + operatorId, admin).status());
    driver.get(base + "/factories/" + factory + "/registrations");
    waitFor(Duration.ofSeconds(10), () -> driver.getCurrentUrl().contains("/sign-in"));
    assertTrue(driver.getPageSource().contains("Your session ended"), driver.getPageSource());
    screenshot("signed-out");
    accessible("sign-in");
  }

  @Test
  void aRolloutsPageShowsItsPhasesLiveAndItsPauseButtonPausesIt() throws Exception {
    String id = "browser-" + NEXT.incrementAndGet();
    String rollouts = "/api/v1/factories/" + FLEET + "/rollouts";
    ApiClient.Answer created =
        api.post(
            rollouts,
            admin,
            "{\"id\":\"" + id + "\",\"tag\":\"main\",\"version\":99,\"growth\":[50,100]}");
    assertEquals(201, created.status(), created.body());
    try {
      signIn(admin);
      driver.get(base + "/factories/" + FLEET + "/rollouts");
      assertEquals(
          "page", driver.findElement(By.linkText("Rollouts")).getAttribute("aria-current"));
      screenshot("rollouts");
      accessible("rollouts");
      driver.findElement(By.linkText(id)).click();
      waitFor(
          Duration.ofSeconds(30),
          () -> driver.findElement(By.id("rollout")).getAttribute("data-updated") != null);
      waitFor(Duration.ofSeconds(30), () -> text("phase-1").contains("started"));
      String phase = text("phase-1");
      assertTrue(phase.contains("step-1") && phase.contains("pending"), phase);
      assertTrue(text("rollout-state").equals("running"), text("rollout-state"));
      screenshot("rollout");
      accessible("rollout");

      driver.findElement(By.id("rollout-pause")).click();
      waitFor(Duration.ofSeconds(30), () -> text("rollout-state").equals("paused"));
      assertTrue(text("rollout-audit").contains("paused\tadmin"), text("rollout-audit"));
      assertEquals("paused", api.get(rollouts + "/" + id, admin).json().path("status").asText());

      assertEquals(200, api.post(rollouts + "/" + id + "/resume", admin, "").status());
      waitFor(Duration.ofSeconds(30), () -> text("rollout-state").equals("running"));
      assertTrue(driver.findElement(By.id("rollout-pause")).isDisplayed(), "the live forms");
    } finally {
      api.post(rollouts + "/" + id + "/cancel", admin, "");
    }
  }

  @Test
  void aFormWithoutTheSessionsCsrfTokenIsRefused() throws Exception {
    signIn(admin);
    driver.get(base + "/factories/" + FLEET + "/devices");
    ((JavascriptExecutor) driver)
        .executeScript("document.querySelector('.signout input[name=csrf]').value = 'forged';");
    driver.findElement(By.cssSelector(".signout button")).click();
    waitFor(Duration.ofSeconds(10), () -> driver.getPageSource().contains("CSRF"));
    assertTrue(driver.getTitle().startsWith("403"), driver.getTitle());
    driver.get(base + "/factories/" + FLEET + "/fleet");
    assertTrue(driver.getCurrentUrl().endsWith("/fleet"), "the session is still open");

    driver.get(base + "/factories/" + FLEET + "/targets");
    screenshot("targets");
    accessible("targets");
  }
}
