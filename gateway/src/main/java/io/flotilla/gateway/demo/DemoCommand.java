package io.flotilla.gateway.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import io.flotilla.builder.image.BusyboxBaseImage;
import io.flotilla.builder.registry.RegistryClient;
import io.flotilla.builder.registry.RegistryEndpoints;
import io.flotilla.gateway.ConsoleOutput;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.NodeConfig;
import io.flotilla.gateway.http.JsonSupport;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code flotilla demo}: the whole publishing flow on the embedded default, as a new user would do
 * it by hand — a node, a factory and its token, a busybox base image in the registry, a compose app
 * pushed with the real {@code git} to containers.git, the build, and the target that devices
 * following {@code main} now see.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = "Show the flow from git push to a published target on the embedded default.")
public final class DemoCommand implements Callable<Integer> {

  private static final String FACTORY = "demo";
  private static final Duration BUILD_PATIENCE = Duration.ofMinutes(3);
  private static final Pattern ANNOUNCED = Pattern.compile("flotilla: build #(\\d+) ");
  private static final Duration DEVICE_PATIENCE = Duration.ofMinutes(5);

  /** The repository (or install) directory holding {@code bin/}, set by {@code bin/flotilla}. */
  public static final String HOME_PROPERTY = "flotilla.home";

  @Option(
      names = "--data-dir",
      defaultValue = "${env:FLOTILLA_DATA_DIR:-data}",
      description =
          "Where the node keeps its data (default: env FLOTILLA_DATA_DIR, else ./data, so `flotilla server` carries on from it).")
  Path dataDir;

  @Option(
      names = "--http-port",
      defaultValue = "${env:FLOTILLA_HTTP_PORT:-8080}",
      description = "API port (default: env FLOTILLA_HTTP_PORT, else 8080).")
  int httpPort;

  @Option(
      names = "--device-port",
      defaultValue = "${env:FLOTILLA_DEVICE_PORT:-8443}",
      description = "Device gateway port (default: env FLOTILLA_DEVICE_PORT, else 8443).")
  int devicePort;

  @Option(
      names = "--verbose",
      description =
          "Show the node's log on the console instead of in <data-dir>/logs/flotilla.log.")
  boolean verbose;

  @Option(
      names = "--keep-running",
      description =
          "Keep the node serving after the demo instead of stopping it, with a simulated device (bin/flotilla-sim) that updates to the built target.")
  boolean keepRunning;

  enum DeviceKind {
    auto,
    agent,
    simulated
  }

  @Option(
      names = "--device",
      defaultValue = "auto",
      description =
          "With --keep-running: agent (this project's agent on podman), simulated (bin/flotilla-sim) or auto (the agent where podman and docker-compose run as root on amd64, else simulated; default).")
  DeviceKind deviceKind;

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private String api;

  @Override
  public Integer call() throws Exception {
    step(1, "Starting a node on the embedded database in " + dataDir.toAbsolutePath().normalize());
    // A demo node never joins others, so its cluster port may be any free one instead of the fixed
    // 25520.
    var demoSettings = ConfigFactory.parseMap(Map.of("pekko.remote.artery.canonical.port", 0));
    try (ConsoleOutput output = ConsoleOutput.logTo(dataDir, verbose);
        FlotillaServer server =
            FlotillaServer.start(
                NodeConfig.load(null, dataDir, httpPort, devicePort, demoSettings))) {
      String base = "http://127.0.0.1:" + server.httpPort();
      api = base + "/api/v1";
      String admin = server.adminToken().value();
      String builtTarget = null;

      step(
          2,
          "Creating factory '"
              + FACTORY
              + "' and a token for CI (admin token in "
              + server.dataDir().resolve("admin-token")
              + ")");
      HttpResponse<String> factory =
          send(
              "POST",
              "/factories",
              admin,
              "{\"name\":\"" + FACTORY + "\",\"platforms\":[\"amd64-linux\"]}");
      if (factory.statusCode() != 201 && factory.statusCode() != 409) {
        return fail(
            "creating the factory answered " + factory.statusCode() + ": " + factory.body());
      }
      String token =
          json(send(
                  "POST",
                  "/factories/" + FACTORY + "/tokens",
                  admin,
                  "{\"description\":\"demo\",\"scopes\":[\"containers:push\",\"containers:read\",\"targets:read\",\"targets:write\"]}"))
              .get("token")
              .asText();

      String from = pushBaseImage(server.httpPort(), token);

      step(4, "Pushing a compose app to " + base + "/git/" + FACTORY + "/containers.git with git");
      Path work = Files.createTempDirectory("flotilla-demo");
      try {
        String pushed = pushApp(work, server.httpPort(), token, from);
        pushed
            .lines()
            .filter(line -> line.startsWith("remote:"))
            .forEach(line -> System.out.println("    " + line));

        long number = announcedBuild(pushed);
        step(5, "Waiting for build #" + number);
        JsonNode build = awaitBuild(admin, number);
        System.out.println(
            "    build #"
                + number
                + ": "
                + build.get("status").asText()
                + (build.hasNonNull("reason") ? " (" + build.get("reason").asText() + ")" : ""));
        if (!"succeeded".equals(build.get("status").asText())) {
          return fail(
              "the build did not succeed; its log: "
                  + api
                  + "/factories/"
                  + FACTORY
                  + "/builds/"
                  + number
                  + "/log");
        }

        step(6, "Targets that devices following tag 'main' now get");
        for (JsonNode target : build.get("targets")) {
          System.out.println("    " + target.asText() + "  apps: " + build.get("apps"));
          builtTarget = target.asText();
        }
      } finally {
        deleteTree(work);
      }

      System.out.println();
      System.out.println("Try it:");
      System.out.println(
          "  curl -s "
              + api
              + "/factories/"
              + FACTORY
              + "/targets -H \"Authorization: Bearer $(cat "
              + server.dataDir().resolve("admin-token")
              + ")\"");
      System.out.println(
          "  curl -s "
              + api
              + "/factories/"
              + FACTORY
              + "/builds -H \"Authorization: Bearer $(cat "
              + server.dataDir().resolve("admin-token")
              + ")\"");
      if (keepRunning) {
        List<Process> device = startDevice(server, admin, builtTarget);
        System.out.println("Serving on " + base + " (Ctrl-C stops it).");
        try {
          server.system().getWhenTerminated().toCompletableFuture().join();
        } finally {
          stop(device);
        }
      } else {
        System.out.println(
            "The node stops now; `bin/flotilla server --data-dir "
                + dataDir
                + "` carries on with the same data.");
      }
      return 0;
    }
  }

  /**
   * A device to look at after the demo, following {@code main} until it runs the built target: this
   * project's agent on podman where podman runs apps ({@link #podmanRunsApps}), else one simulated
   * device of {@code bin/flotilla-sim}, which registers and speaks the device protocol over mutual
   * TLS like a real one with only its runtime simulated. Its output goes to {@code
   * <data-dir>/logs/demo-device.log}. No device when the demo was not started by {@code
   * bin/flotilla}, which names the launchers' directory.
   */
  private List<Process> startDevice(FlotillaServer server, String admin, String builtTarget)
      throws IOException, InterruptedException {
    String home = System.getProperty(HOME_PROPERTY);
    if (home == null || !Files.isExecutable(Path.of(home, "bin", "flotilla-sim"))) {
      System.out.println(
          "No device: the device launchers are found only when the demo runs from bin/flotilla.");
      return List.of();
    }
    boolean agent =
        deviceKind == DeviceKind.agent || (deviceKind == DeviceKind.auto && podmanRunsApps());
    Path deviceDir = Files.createDirectories(server.dataDir().resolve("demo-device"));
    Path tokenFile = deviceDir.resolve("token");
    String token =
        json(send(
                "POST",
                "/factories/" + FACTORY + "/tokens",
                admin,
                "{\"description\":\"demo device\",\"scopes\":[\"devices:create\"]}"))
            .get("token")
            .asText();
    Files.deleteIfExists(tokenFile);
    Files.createFile(
        tokenFile,
        java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
            java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
    Files.writeString(tokenFile, token);
    Path log = Files.createDirectories(server.dataDir().resolve("logs")).resolve("demo-device.log");
    List<Process> processes =
        agent
            ? startAgent(Path.of(home), server, deviceDir, tokenFile, log)
            : List.of(startSimulated(Path.of(home), server, deviceDir, tokenFile, log));
    Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(processes)));
    System.out.println("    its output: " + log);
    JsonNode seen = awaitDevice(admin, builtTarget, processes.get(processes.size() - 1));
    String adminToken = server.dataDir().resolve("admin-token").toString();
    if (seen == null) {
      System.out.println(
          "    the device has not reported "
              + builtTarget
              + " within "
              + DEVICE_PATIENCE.toMinutes()
              + " minutes; see "
              + log);
      return processes;
    }
    String uuid = seen.get("uuid").asText();
    System.out.println(
        "    device "
            + uuid
            + " runs "
            + seen.path("targetName").asText()
            + " (update "
            + seen.path("updateState").asText()
            + ")");
    System.out.println();
    System.out.println("Where to look:");
    System.out.println("  API:         " + api + "  (admin token in " + adminToken + ")");
    System.out.println(
        "  dashboard:   "
            + api.substring(0, api.length() - "/api/v1".length())
            + "/  (sign in with the admin token)");
    System.out.println(
        "  the device:  curl -s "
            + api
            + "/factories/"
            + FACTORY
            + "/devices/"
            + uuid
            + " -H \"Authorization: Bearer $(cat "
            + adminToken
            + ")\"");
    System.out.println(
        "  its updates: curl -s "
            + api
            + "/factories/"
            + FACTORY
            + "/devices/"
            + uuid
            + "/updates -H \"Authorization: Bearer $(cat "
            + adminToken
            + ")\"");
    if (agent) {
      System.out.println(
          "  its app:     podman --url unix://"
              + deviceDir.resolve("podman.sock")
              + " ps   (the containers stay after the demo; `... rm -af` removes them)");
    }
    return processes;
  }

  /** The daemon before the podman service it talks to. */
  private static void stop(List<Process> processes) {
    for (int i = processes.size() - 1; i >= 0; i--) {
      processes.get(i).destroy();
    }
  }

  /**
   * Rootful podman serving the Docker API, with docker-compose, on amd64 (the demo factory's only
   * platform): what the agent needs to run the built app (docs/container-tooling.md).
   */
  private static boolean podmanRunsApps() {
    return "root".equals(System.getProperty("user.name"))
        && "amd64".equals(System.getProperty("os.arch"))
        && onPath("podman")
        && onPath("docker-compose");
  }

  private static boolean onPath(String command) {
    String path = System.getenv("PATH");
    return path != null
        && java.util.Arrays.stream(path.split(java.io.File.pathSeparator))
            .anyMatch(dir -> !dir.isEmpty() && Files.isExecutable(Path.of(dir, command)));
  }

  /**
   * This project's agent, registered with the token as the README's device is, and its daemon
   * against a podman service on a socket in the device's directory (with the settings the README
   * gives, so that containers start where root may not raise resource limits).
   */
  private List<Process> startAgent(
      Path home, FlotillaServer server, Path deviceDir, Path tokenFile, Path log)
      throws IOException, InterruptedException {
    step(7, "Starting this project's agent on podman, following tag 'main'");
    Path launcher = home.resolve("bin/flotilla-agent");
    Path sota = deviceDir.resolve("sota");
    if (!Files.exists(sota.resolve("sota.toml"))) {
      Process register =
          new ProcessBuilder(
                  launcher.toString(),
                  "register",
                  "--server",
                  "http://127.0.0.1:" + server.httpPort(),
                  "--token",
                  Files.readString(tokenFile).strip(),
                  "--factory",
                  FACTORY,
                  "--name",
                  "demo-device",
                  "--hw-id",
                  "amd64-linux",
                  "--tag",
                  "main",
                  "--sota-dir",
                  sota.toString())
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .start();
      if (!register.waitFor(DEVICE_PATIENCE.toSeconds(), TimeUnit.SECONDS)) {
        register.destroyForcibly();
        throw new IOException("the agent's registration did not finish; see " + log);
      }
      if (register.exitValue() != 0) {
        throw new IOException("the agent's registration failed; see " + log);
      }
    }
    Path conf =
        Files.writeString(
            deviceDir.resolve("containers.conf"),
            String.join(
                "\n",
                "[containers]",
                "default_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]",
                "[network]",
                "network_backend = \"netavark\"",
                "[engine]",
                "runtime = \"runc\"",
                "cgroup_manager = \"cgroupfs\"",
                "events_logger = \"file\"",
                ""));
    Path socket = deviceDir.resolve("podman.sock");
    Files.deleteIfExists(socket);
    ProcessBuilder service =
        new ProcessBuilder("podman", "system", "service", "--time=0", "unix://" + socket)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    service.environment().put("CONTAINERS_CONF", conf.toString());
    Process podman = service.start();
    for (int i = 0; i < 100 && !Files.exists(socket) && podman.isAlive(); i++) {
      Thread.sleep(100);
    }
    if (!Files.exists(socket)) {
      podman.destroy();
      throw new IOException("podman system service did not start; see " + log);
    }
    Path confD = Files.createDirectories(deviceDir.resolve("conf.d"));
    ProcessBuilder daemon =
        new ProcessBuilder(
                launcher.toString(), "-c", sota.resolve("sota.toml") + "," + confD, "daemon")
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    daemon.environment().put("DOCKER_HOST", "unix://" + socket);
    return List.of(podman, daemon.start());
  }

  private Process startSimulated(
      Path home, FlotillaServer server, Path deviceDir, Path tokenFile, Path log)
      throws IOException {
    step(7, "Starting a simulated device (bin/flotilla-sim) that follows tag 'main'");
    return new ProcessBuilder(
            home.resolve("bin/flotilla-sim").toString(),
            "--server",
            "https://127.0.0.1:" + server.devicePort(),
            "--api",
            "http://127.0.0.1:" + server.httpPort(),
            "--token-file",
            tokenFile.toString(),
            "--factory",
            FACTORY,
            "--devices",
            "1",
            "--poll",
            "5s",
            "--duration",
            "87600h",
            "--progress",
            "60s",
            "--tag",
            "main",
            "--work-dir",
            deviceDir.resolve("keys").toString())
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .start();
  }

  /**
   * The factory's device once it reports the built target installed; null when it has not within
   * {@link #DEVICE_PATIENCE} (the simulator's first run builds its jar with Maven) or has exited.
   */
  private JsonNode awaitDevice(String admin, String builtTarget, Process device)
      throws IOException, InterruptedException {
    Instant deadline = Instant.now().plus(DEVICE_PATIENCE);
    while (Instant.now().isBefore(deadline) && device.isAlive()) {
      for (JsonNode found :
          json(send("GET", "/factories/" + FACTORY + "/devices", admin, null)).path("devices")) {
        if (found.path("targetName").asText().equals(builtTarget)
            && "succeeded".equals(found.path("updateState").asText())) {
          return found;
        }
      }
      Thread.sleep(1000);
    }
    return null;
  }

  /**
   * Busybox from the host when it has one, so the app can really run on a device; an empty base
   * otherwise.
   */
  private String pushBaseImage(int port, String token) throws IOException {
    if (!Files.isExecutable(BusyboxBaseImage.HOST_BUSYBOX)) {
      step(3, "No /bin/busybox on this machine: the app image starts FROM scratch");
      return "scratch";
    }
    step(3, "Pushing a busybox base image (" + FACTORY + "/busybox:1) to the registry");
    String host = "127.0.0.1:" + port;
    RegistryClient registry =
        new RegistryClient(
            http,
            new RegistryEndpoints(
                host, URI.create("http://" + host), FACTORY, token, Set.of(host)));
    String repository = FACTORY + "/busybox";
    BusyboxBaseImage.push(registry, host, repository, "1");
    return repository + ":1";
  }

  private String pushApp(Path work, int port, String token, String from)
      throws IOException, InterruptedException {
    String remote =
        "http://ci:" + token + "@127.0.0.1:" + port + "/git/" + FACTORY + "/containers.git";
    git(work, "clone", remote, "containers");
    Path repo = work.resolve("containers");
    Files.createDirectories(repo.resolve("httpd"));
    Files.createDirectories(repo.resolve("shellhttpd"));
    Files.writeString(
        repo.resolve("httpd/Dockerfile"),
        "FROM "
            + from
            + "\nWORKDIR /www\nCOPY index.html .\nEXPOSE 8080\nCMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n");
    Files.writeString(
        repo.resolve("httpd/index.html"), "<h1>Hello from Flotilla, " + Instant.now() + "</h1>\n");
    Files.writeString(
        repo.resolve("shellhttpd/docker-compose.yml"),
        "services:\n  httpd:\n    image: httpd\n    ports: [\"8080:8080\"]\n");
    git(repo, "add", "-A");
    git(repo, "commit", "-q", "-m", "demo: shellhttpd");
    return git(repo, "push", "origin", "HEAD:main");
  }

  /**
   * The number the push's answer announced: the build list is a read side that may not show it yet.
   */
  static long announcedBuild(String pushOutput) throws IOException {
    Matcher matcher = ANNOUNCED.matcher(pushOutput);
    if (!matcher.find()) {
      throw new IOException("the push did not start a build:\n" + pushOutput);
    }
    return Long.parseLong(matcher.group(1));
  }

  /**
   * Asks the build itself (not the lagging list), printing each step as it starts so a slow build
   * shows progress.
   */
  private JsonNode awaitBuild(String admin, long number) throws IOException, InterruptedException {
    Instant deadline = Instant.now().plus(BUILD_PATIENCE);
    int stepsShown = 0;
    while (true) {
      JsonNode build =
          json(send("GET", "/factories/" + FACTORY + "/builds/" + number, admin, null));
      JsonNode steps = build.get("steps");
      for (; steps != null && stepsShown < steps.size(); stepsShown++) {
        System.out.println(
            "    "
                + steps
                    .get(stepsShown)
                    .get("step")
                    .asText()
                    .toLowerCase(java.util.Locale.ROOT)
                    .replace('_', ' '));
      }
      if (List.of("succeeded", "failed", "canceled").contains(build.get("status").asText())) {
        return build;
      }
      if (Instant.now().isAfter(deadline)) {
        throw new IOException(
            "build #"
                + number
                + " did not finish within "
                + BUILD_PATIENCE.toMinutes()
                + " minutes");
      }
      Thread.sleep(500);
    }
  }

  private HttpResponse<String> send(String method, String path, String token, String body)
      throws IOException, InterruptedException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(api + path))
            .timeout(Duration.ofSeconds(30))
            .header("Authorization", "Bearer " + token);
    if (body != null) {
      request.header("Content-Type", "application/json");
    }
    request.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode json(HttpResponse<String> response) throws IOException {
    if (response.statusCode() >= 300) {
      throw new IOException(
          response.uri().getPath() + " answered " + response.statusCode() + ": " + response.body());
    }
    return JsonSupport.MAPPER.readTree(response.body());
  }

  /** The real git, isolated from the user's git config and credential helpers. */
  private static String git(Path dir, String... args) throws IOException, InterruptedException {
    List<String> command =
        new ArrayList<>(
            List.of(
                "git",
                "-c",
                "user.name=Flotilla Demo",
                "-c",
                "user.email=demo@flotilla.invalid",
                "-c",
                "credential.helper=",
                "-c",
                "init.defaultBranch=main",
                "-c",
                "protocol.version=0"));
    command.addAll(List.of(args));
    ProcessBuilder builder =
        new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
    builder.environment().put("GIT_TERMINAL_PROMPT", "0");
    builder.environment().put("GIT_CONFIG_NOSYSTEM", "1");
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new IOException("the demo needs git on the PATH: " + e.getMessage(), e);
    }
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(120, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new IOException("git " + args[0] + " did not finish in 2 minutes");
    }
    if (process.exitValue() != 0) {
      throw new IOException("git " + args[0] + " failed:\n" + output);
    }
    return output;
  }

  private void step(int number, String what) {
    System.out.println("[" + number + "/" + (keepRunning ? 7 : 6) + "] " + what);
  }

  private static int fail(String why) {
    System.err.println("flotilla demo: " + why);
    return 1;
  }

  private static void deleteTree(Path root) throws IOException {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    }
  }
}
