package io.flotilla.gateway.cluster;

import io.flotilla.gateway.Main;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real cluster for chaos tests: PostgreSQL, {@code nodes} server processes (each {@code
 * bin/flotilla server --config conf/cluster/node-N.conf} in its own network namespace, see {@link
 * ChaosNetwork}) and HAProxy with the repository's {@code conf/haproxy/flotilla.cfg} on loopback in
 * front. Tests kill ({@code kill -9}), stop (SIGTERM: coordinated shutdown), start, partition and
 * heal nodes, and restart the database. Before each test every node runs again, healed, so that
 * tests stand alone. Skipped, saying why, where network namespaces cannot be made.
 */
final class ChaosCluster implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback {

  private static final Duration READY_PATIENCE = Duration.ofSeconds(240);
  private static final int HTTP_PORT = 8080;
  private static final int DEVICE_PORT = 8443;
  private static final int CLUSTER_PORT = 25520;

  private final int size;
  private final Map<Integer, Process> processes = new HashMap<>();
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private Path work;
  private ChaosNetwork network;
  private EmbeddedPostgres postgres;
  private int postgresPort;
  private Process haproxy;
  private int lbHttpPort;
  private int lbDevicePort;
  private String adminToken;

  ChaosCluster(int size) {
    this.size = size;
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    String unavailable = ChaosNetwork.unavailable();
    Assumptions.assumeTrue(unavailable == null, unavailable);
    Assumptions.assumeTrue(
        Files.isExecutable(Path.of("/usr/sbin/haproxy")),
        "HAProxy is not installed (Debian package haproxy, in .ci/run)");
    work = Files.createTempDirectory("flotilla-chaos");
    network = ChaosNetwork.create(size);
    postgresPort = freePort();
    startPostgres();
    try (Connection c = database("postgres");
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE flotilla");
    }
    // The first seed forms the cluster and makes the shared keys; the others join it.
    start(1);
    List<Integer> rest = new ArrayList<>();
    for (int n = 2; n <= size; n++) {
      launch(n);
      rest.add(n);
    }
    for (int n : rest) {
      awaitReady(n);
    }
    adminToken =
        Files.readString(work.resolve("shared").resolve("admin-token"), StandardCharsets.UTF_8)
            .strip();
    startHaproxy();
  }

  @Override
  public void beforeEach(ExtensionContext context) throws Exception {
    if (postgres == null) {
      startPostgres();
    }
    for (int n = 1; n <= size; n++) {
      network.heal(n);
    }
    for (int n = 1; n <= size; n++) {
      if (!alive(n)) {
        launch(n);
      }
    }
    for (int n = 1; n <= size; n++) {
      awaitReady(n);
    }
    awaitBalancerSees(size);
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    if (network == null) {
      return;
    }
    for (Process process : processes.values()) {
      process.destroyForcibly();
    }
    for (Process process : processes.values()) {
      process.waitFor(30, TimeUnit.SECONDS);
    }
    if (haproxy != null) {
      haproxy.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
    stopPostgres();
    network.close();
    try (var paths = Files.walk(work)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    }
  }

  // ---- what tests use

  int lbHttpPort() {
    return lbHttpPort;
  }

  int lbDevicePort() {
    return lbDevicePort;
  }

  String adminToken() {
    return adminToken;
  }

  Path log(int node) {
    return work.resolve("node-" + node).resolve("logs").resolve("flotilla.log");
  }

  /** SIGKILL: no shutdown hook, no hand-off; the others notice through failure detection. */
  void kill(int node) throws InterruptedException {
    Process process = processes.get(node);
    process.destroyForcibly();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException("node " + node + " survived SIGKILL for 30 s");
    }
  }

  /** SIGTERM: coordinated shutdown (drain, hand-off of its shards, leave). */
  void stop(int node) throws InterruptedException {
    Process process = processes.get(node);
    process.destroy();
    if (!process.waitFor(90, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      throw new IllegalStateException("node " + node + " did not stop within 90 s of SIGTERM");
    }
  }

  /** Starts the node and waits until it is ready. */
  void start(int node) throws IOException, InterruptedException {
    launch(node);
    awaitReady(node);
  }

  boolean alive(int node) {
    Process process = processes.get(node);
    return process != null && process.isAlive();
  }

  /** Waits (bounded) for the node's process to end by itself, e.g. after being downed. */
  boolean awaitExit(int node, Duration patience) throws InterruptedException {
    return processes.get(node).waitFor(patience.toMillis(), TimeUnit.MILLISECONDS);
  }

  void partition(int node) throws IOException {
    network.partition(node);
  }

  void heal(int node) throws IOException {
    network.heal(node);
  }

  void stopPostgres() throws IOException {
    if (postgres != null) {
      postgres.close();
      postgres = null;
    }
  }

  void startPostgres() throws IOException {
    postgres =
        EmbeddedPostgres.builder()
            .setDataDirectory(work.resolve("postgres"))
            .setCleanDataDirectory(false)
            .setPort(postgresPort)
            .setServerConfig("listen_addresses", "127.0.0.1," + ChaosNetwork.HOST_ADDRESS)
            .setServerConfig("max_connections", "200")
            .start();
    Path hba = work.resolve("postgres").resolve("pg_hba.conf");
    String line = "host all all 10.231.0.0/24 trust";
    if (!Files.readString(hba).contains(line)) {
      Files.writeString(hba, Files.readString(hba) + "\n" + line + "\n");
      try (Connection c = database("postgres");
          Statement s = c.createStatement()) {
        s.execute("SELECT pg_reload_conf()");
      } catch (SQLException e) {
        throw new IOException(e);
      }
    }
  }

  /** The cluster's database, from the host, for checking the journal. */
  Connection database() throws SQLException {
    return database("flotilla");
  }

  /** Node readiness as the load balancer asks it; false when it does not answer. */
  boolean ready(int node) {
    try {
      return http.send(
                  HttpRequest.newBuilder(URI.create(base(node) + "/health/ready"))
                      .timeout(Duration.ofSeconds(3))
                      .build(),
                  HttpResponse.BodyHandlers.discarding())
              .statusCode()
          == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  // ---- internals

  private Connection database(String name) throws SQLException {
    return DriverManager.getConnection(
        "jdbc:postgresql://127.0.0.1:" + postgresPort + "/" + name, "postgres", "");
  }

  private static String base(int node) {
    return "http://" + ChaosNetwork.address(node) + ":" + HTTP_PORT;
  }

  private void launch(int node) throws IOException {
    Path root = Path.of(System.getProperty("user.dir")).toAbsolutePath().getParent();
    Path dataDir = Files.createDirectories(work.resolve("node-" + node));
    List<String> command = new ArrayList<>(ChaosNetwork.inside(node));
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(List.of("-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
    for (int n = 1; n <= size; n++) {
      command.add(
          "-Dpekko.cluster.seed-nodes."
              + (n - 1)
              + "=pekko://flotilla@"
              + ChaosNetwork.address(n)
              + ":"
              + CLUSTER_PORT);
    }
    command.add("-Dflotilla.http.tls=off");
    command.add("-Dflotilla.drain-time=4s");
    command.addAll(
        List.of(
            "-cp",
            System.getProperty("java.class.path"),
            Main.class.getName(),
            "server",
            "--config",
            root.resolve("conf/cluster/node-" + Math.min(node, 3) + ".conf").toString()));
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(
                ProcessBuilder.Redirect.appendTo(dataDir.resolve("console.log").toFile()));
    Map<String, String> env = builder.environment();
    env.put("FLOTILLA_DATA_DIR", dataDir.toString());
    env.put("FLOTILLA_SHARED_DIR", work.resolve("shared").toString());
    env.put(
        "FLOTILLA_DB_URL",
        "jdbc:postgresql://" + ChaosNetwork.HOST_ADDRESS + ":" + postgresPort + "/flotilla");
    env.put("FLOTILLA_DB_USER", "postgres");
    env.put("FLOTILLA_HTTP_INTERFACE", ChaosNetwork.address(node));
    env.put("FLOTILLA_HTTP_PORT", String.valueOf(HTTP_PORT));
    env.put("FLOTILLA_DEVICE_PORT", String.valueOf(DEVICE_PORT));
    env.put("FLOTILLA_CLUSTER_HOST", ChaosNetwork.address(node));
    env.put("FLOTILLA_CLUSTER_PORT", String.valueOf(CLUSTER_PORT));
    if (lbHttpPort == 0) {
      lbHttpPort = freePort();
      lbDevicePort = freePort();
    }
    env.put("FLOTILLA_DEVICE_PUBLIC_URL", "https://127.0.0.1:" + lbDevicePort);
    env.put("FLOTILLA_PUBLIC_URL", "http://127.0.0.1:" + lbHttpPort);
    processes.put(node, builder.start());
  }

  private void awaitReady(int node) throws IOException, InterruptedException {
    Instant deadline = Instant.now().plus(READY_PATIENCE);
    while (Instant.now().isBefore(deadline)) {
      if (!alive(node)) {
        throw new IOException(
            "node "
                + node
                + " exited with "
                + processes.get(node).exitValue()
                + ":\n"
                + tail(node));
      }
      if (ready(node)) {
        return;
      }
      Thread.sleep(250);
    }
    throw new IOException(
        "node " + node + " was not ready within " + READY_PATIENCE + ":\n" + tail(node));
  }

  private void startHaproxy() throws IOException, InterruptedException {
    Path root = Path.of(System.getProperty("user.dir")).toAbsolutePath().getParent();
    ProcessBuilder builder =
        new ProcessBuilder(
                "/usr/sbin/haproxy",
                "-db",
                "-f",
                root.resolve("conf/haproxy/flotilla.cfg").toString())
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(work.resolve("haproxy.log").toFile()));
    Map<String, String> env = builder.environment();
    env.put("FLOTILLA_LB_HOST", "127.0.0.1");
    env.put("FLOTILLA_LB_HTTP_PORT", String.valueOf(lbHttpPort));
    env.put("FLOTILLA_LB_DEVICE_PORT", String.valueOf(lbDevicePort));
    env.put("FLOTILLA_LB_ADMIN_PORT", String.valueOf(freePort()));
    for (int n = 1; n <= 3; n++) {
      env.put("FLOTILLA_NODE" + n + "_HOST", ChaosNetwork.address(n));
      env.put("FLOTILLA_NODE" + n + "_HTTP_PORT", String.valueOf(HTTP_PORT));
      env.put("FLOTILLA_NODE" + n + "_DEVICE_PORT", String.valueOf(DEVICE_PORT));
    }
    haproxy = builder.start();
    awaitBalancerSees(size);
  }

  /** Waits until a request through the load balancer is answered by a ready node. */
  private void awaitBalancerSees(int nodes) throws IOException, InterruptedException {
    Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
    HttpRequest request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + lbHttpPort + "/health/ready"))
            .timeout(Duration.ofSeconds(3))
            .build();
    int answered = 0;
    while (Instant.now().isBefore(deadline)) {
      try {
        if (http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 200
            && ++answered >= nodes * 2) {
          return;
        }
      } catch (IOException e) {
        answered = 0;
      }
      Thread.sleep(200);
    }
    throw new IOException(
        "HAProxy did not route to the nodes within 30 s:\n"
            + Files.readString(work.resolve("haproxy.log")));
  }

  String tail(int node) {
    try {
      Path log =
          Files.exists(log(node)) ? log(node) : work.resolve("node-" + node).resolve("console.log");
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
