package io.flotilla.agent.sysinfo;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.agent.gateway.GatewayClient;
import io.flotilla.agent.store.AtomicFiles;
import io.flotilla.protocol.Json;
import io.flotilla.protocol.device.NetworkInfo;
import io.flotilla.protocol.oci.Digest;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The device's inventory for §4's {@code PUT /system_info} (hardware, in lshw's JSON shape), {@code
 * /system_info/network} and {@code /system_info/config}, each sent only when it differs from what
 * the server last acknowledged. Hashes of what was sent are kept on disk, so restarting the agent
 * does not resend an unchanged inventory.
 */
public final class SystemInfo {

  private final Path procDir;
  private final Path sysDir;
  private final Path sentFile;
  private final ObjectMapper json = Json.mapper();

  public SystemInfo(Path sentFile) {
    this(Path.of("/proc"), Path.of("/sys"), sentFile);
  }

  SystemInfo(Path procDir, Path sysDir, Path sentFile) {
    this.procDir = procDir;
    this.sysDir = sysDir;
    this.sentFile = sentFile;
  }

  /** Sends what changed; answers the names of the parts sent. */
  public List<String> report(GatewayClient gateway, String mergedConfigToml) throws IOException {
    Map<String, String> sent = new TreeMap<>(sent());
    List<String> reported = new ArrayList<>();
    ObjectNode hardware = hardware();
    NetworkInfo network = network();
    send(
        sent,
        reported,
        "hardware",
        json.writeValueAsBytes(hardware),
        () -> gateway.putSystemInfo(hardware));
    send(
        sent,
        reported,
        "network",
        json.writeValueAsBytes(network),
        () -> gateway.putNetworkInfo(network));
    send(
        sent,
        reported,
        "config",
        mergedConfigToml.getBytes(StandardCharsets.UTF_8),
        () -> gateway.putConfigInfo(mergedConfigToml));
    return reported;
  }

  private interface Put {
    void run() throws IOException;
  }

  private void send(
      Map<String, String> sent, List<String> reported, String part, byte[] content, Put put)
      throws IOException {
    String digest = Digest.of(content).toString();
    if (digest.equals(sent.get(part))) {
      return;
    }
    put.run();
    sent.put(part, digest);
    reported.add(part);
    Files.createDirectories(sentFile.getParent());
    AtomicFiles.write(sentFile, json.writeValueAsBytes(sent));
  }

  /** lshw's JSON shape: the system with a core bus holding the processor and the memory. */
  public ObjectNode hardware() {
    ObjectNode system = json.createObjectNode();
    system.put("id", hostname());
    system.put("class", "system");
    dmi("product_name").ifPresent(v -> system.put("product", v));
    dmi("sys_vendor").ifPresent(v -> system.put("vendor", v));
    dmi("product_serial").ifPresent(v -> system.put("serial", v));
    ObjectNode core = json.createObjectNode().put("id", "core").put("class", "bus");
    ArrayNode children = core.putArray("children");
    Map<String, String> cpu = firstCpu();
    ObjectNode processor = json.createObjectNode().put("id", "cpu").put("class", "processor");
    Optional.ofNullable(cpu.get("model name")).ifPresent(v -> processor.put("product", v));
    Optional.ofNullable(cpu.get("vendor_id")).ifPresent(v -> processor.put("vendor", v));
    processor.putObject("configuration").put("cores", Runtime.getRuntime().availableProcessors());
    processor.put("architecture", System.getProperty("os.arch"));
    children.add(processor);
    memoryBytes()
        .ifPresent(
            bytes ->
                children.add(
                    json.createObjectNode()
                        .put("id", "memory")
                        .put("class", "memory")
                        .put("units", "bytes")
                        .put("size", bytes)));
    system.putArray("children").add(core);
    return system;
  }

  /**
   * Hostname, and the MAC and IPv4 address of the interface of the default route (else the first
   * one up).
   */
  public NetworkInfo network() {
    Optional<NetworkInterface> nic = defaultRouteInterface().or(SystemInfo::firstInterfaceUp);
    String mac = nic.flatMap(SystemInfo::mac).orElse("");
    String ipv4 =
        nic.flatMap(
                n ->
                    Collections.list(n.getInetAddresses()).stream()
                        .filter(a -> a instanceof Inet4Address)
                        .map(InetAddress::getHostAddress)
                        .findFirst())
            .orElse("");
    return new NetworkInfo(hostname(), mac, ipv4);
  }

  private Optional<NetworkInterface> defaultRouteInterface() {
    // /proc/net/route: Iface, Destination (hex), ...; the default route has destination 00000000
    try {
      return Files.readAllLines(procDir.resolve("net/route")).stream()
          .skip(1)
          .map(l -> l.trim().split("\\s+"))
          .filter(f -> f.length > 1 && f[1].equals("00000000"))
          .map(f -> f[0])
          .findFirst()
          .flatMap(SystemInfo::interfaceNamed);
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static Optional<NetworkInterface> interfaceNamed(String name) {
    try {
      return Optional.ofNullable(NetworkInterface.getByName(name));
    } catch (SocketException e) {
      return Optional.empty();
    }
  }

  private static Optional<NetworkInterface> firstInterfaceUp() {
    try {
      return NetworkInterface.networkInterfaces()
          .filter(
              n -> {
                try {
                  return n.isUp() && !n.isLoopback();
                } catch (SocketException e) {
                  return false;
                }
              })
          .findFirst();
    } catch (SocketException e) {
      return Optional.empty();
    }
  }

  private static Optional<String> mac(NetworkInterface nic) {
    try {
      byte[] address = nic.getHardwareAddress();
      if (address == null) {
        return Optional.empty();
      }
      return Optional.of(HexFormat.ofDelimiter(":").formatHex(address));
    } catch (SocketException e) {
      return Optional.empty();
    }
  }

  private String hostname() {
    return read(procDir.resolve("sys/kernel/hostname"))
        .orElseGet(
            () -> {
              try {
                return InetAddress.getLocalHost().getHostName();
              } catch (IOException e) {
                return "unknown";
              }
            });
  }

  private Optional<String> dmi(String field) {
    return read(sysDir.resolve("class/dmi/id").resolve(field));
  }

  private Map<String, String> firstCpu() {
    return read(procDir.resolve("cpuinfo"))
        .map(
            text ->
                text.split("\n\n", 2)[0]
                    .lines()
                    .map(l -> l.split(":", 2))
                    .filter(kv -> kv.length == 2)
                    .collect(Collectors.toMap(kv -> kv[0].trim(), kv -> kv[1].trim(), (a, b) -> a)))
        .orElse(Map.of());
  }

  private Optional<Long> memoryBytes() {
    return read(procDir.resolve("meminfo"))
        .flatMap(text -> text.lines().filter(l -> l.startsWith("MemTotal:")).findFirst())
        .map(l -> Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024);
  }

  private static Optional<String> read(Path file) {
    try {
      String text = Files.readString(file).strip();
      return text.isEmpty() ? Optional.empty() : Optional.of(text);
    } catch (IOException | SecurityException e) {
      // not every device has DMI or a readable serial; the inventory just leaves the field out
      return Optional.empty();
    }
  }

  private Map<String, String> sent() throws IOException {
    if (!Files.exists(sentFile)) {
      return Map.of();
    }
    return json.readValue(sentFile.toFile(), new TypeReference<Map<String, String>>() {});
  }
}
