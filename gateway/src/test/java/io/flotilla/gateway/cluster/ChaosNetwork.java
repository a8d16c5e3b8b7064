package io.flotilla.gateway.cluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A private network for cluster nodes: one network namespace per node, each with a veth pair onto a
 * bridge in the host namespace that carries 10.231.0.1 (where PostgreSQL and HAProxy reach the
 * nodes). A node's artery, HTTP and device ports bind its own 10.231.0.(10+n), so {@link
 * #partition} (iptables DROP on the namespace's link) cuts exactly that node off from the others,
 * the database and the load balancer, as a pulled cable would. Every name starts with {@code
 * flchaos}; {@link #clean} removes what a killed run left.
 */
final class ChaosNetwork implements AutoCloseable {

  static final String HOST_ADDRESS = "10.231.0.1";
  private static final String BRIDGE = "flchaos0";
  private static final String PREFIX = "flchaos";

  private final int nodes;

  private ChaosNetwork(int nodes) {
    this.nodes = nodes;
  }

  /** Why namespaces cannot be made here, or null when they can. */
  static String unavailable() {
    try {
      if (!"root".equals(System.getProperty("user.name"))) {
        return "network namespaces need root (ip netns); the chaos tests run as root in CI";
      }
      run("ip", "netns", "list");
      run("iptables", "--version");
      return null;
    } catch (IOException e) {
      return "ip netns / iptables are not usable here: " + e.getMessage();
    }
  }

  static ChaosNetwork create(int nodes) throws IOException {
    clean();
    ChaosNetwork network = new ChaosNetwork(nodes);
    run("ip", "link", "add", BRIDGE, "type", "bridge");
    run("ip", "addr", "add", HOST_ADDRESS + "/24", "dev", BRIDGE);
    run("ip", "link", "set", BRIDGE, "up");
    for (int n = 1; n <= nodes; n++) {
      String ns = namespace(n);
      String hostSide = PREFIX + "h" + n;
      run("ip", "netns", "add", ns);
      run("ip", "link", "add", hostSide, "type", "veth", "peer", "name", "eth0", "netns", ns);
      run("ip", "link", "set", hostSide, "master", BRIDGE);
      run("ip", "link", "set", hostSide, "up");
      run("ip", "netns", "exec", ns, "ip", "addr", "add", address(n) + "/24", "dev", "eth0");
      run("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up");
      run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
      run("ip", "netns", "exec", ns, "ip", "route", "add", "default", "via", HOST_ADDRESS);
    }
    return network;
  }

  static String namespace(int node) {
    return PREFIX + "-" + node;
  }

  static String address(int node) {
    return "10.231.0." + (10 + node);
  }

  /** The command prefix that runs a program inside the node's namespace. */
  static List<String> inside(int node) {
    return List.of("ip", "netns", "exec", namespace(node));
  }

  /** Drops everything the node sends or receives on its link; loopback inside keeps working. */
  void partition(int node) throws IOException {
    heal(node);
    run(inside(node), "iptables", "-A", "INPUT", "-i", "eth0", "-j", "DROP");
    run(inside(node), "iptables", "-A", "OUTPUT", "-o", "eth0", "-j", "DROP");
  }

  void heal(int node) throws IOException {
    run(inside(node), "iptables", "-F", "INPUT");
    run(inside(node), "iptables", "-F", "OUTPUT");
  }

  @Override
  public void close() throws IOException {
    clean();
  }

  /** Removes the bridge and every namespace of this harness, whoever made them. */
  static void clean() throws IOException {
    for (String line : output("ip", "netns", "list").split("\n")) {
      String ns = line.strip().split("\\s+")[0];
      if (ns.startsWith(PREFIX + "-")) {
        runQuietly("ip", "netns", "del", ns);
      }
    }
    for (String line : output("ip", "-o", "link", "show").split("\n")) {
      String[] fields = line.split(":\\s+");
      if (fields.length > 1) {
        String name = fields[1].split("@")[0];
        if (name.startsWith(PREFIX)) {
          runQuietly("ip", "link", "del", name);
        }
      }
    }
  }

  private static void run(List<String> prefix, String... command) throws IOException {
    List<String> all = new ArrayList<>(prefix);
    all.addAll(List.of(command));
    run(all.toArray(String[]::new));
  }

  static void run(String... command) throws IOException {
    Result result = exec(command);
    if (result.exit != 0) {
      throw new IOException(String.join(" ", command) + " failed: " + result.output);
    }
  }

  private static void runQuietly(String... command) throws IOException {
    exec(command);
  }

  private static String output(String... command) throws IOException {
    return exec(command).output;
  }

  private record Result(int exit, String output) {}

  private static Result exec(String... command) throws IOException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    try {
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IOException(String.join(" ", command) + " did not finish in 30 s");
      }
      return new Result(process.exitValue(), output);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }
}
