package io.flotilla.agent.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.flotilla.protocol.Json;
import io.flotilla.protocol.device.AppsStates;
import io.flotilla.protocol.device.ComposeAppRef;
import io.flotilla.protocol.device.DeviceEvent;
import io.flotilla.protocol.device.DeviceHeaders;
import io.flotilla.protocol.device.HubCredentials;
import io.flotilla.protocol.device.TargetCustom;
import io.flotilla.protocol.device.TargetsMetadata;
import io.flotilla.protocol.device.TargetsSigned;
import io.flotilla.protocol.device.TufTarget;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The device-facing part of the gateway that an update needs (§3, §4, §6), over plain HTTP: the
 * agent's own protocol code runs against it until the real server exists. Publishing a target bumps
 * {@code signed.version}.
 */
public final class TestGateway implements AutoCloseable {

  private final HttpServer server;
  private final Map<String, TufTarget> targets = new TreeMap<>();
  private long signedVersion;
  public final List<DeviceEvent> events = new CopyOnWriteArrayList<>();
  public final List<AppsStates> appsStates = new CopyOnWriteArrayList<>();
  public final List<String> seenTargetHeaders = new CopyOnWriteArrayList<>();

  public TestGateway() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/repo/targets.json", this::targets);
    server.createContext(
        "/events",
        exchange -> {
          events.addAll(
              List.of(Json.mapper().readValue(exchange.getRequestBody(), DeviceEvent[].class)));
          respond(exchange, 200, new byte[0]);
        });
    server.createContext(
        "/apps-states",
        exchange -> {
          appsStates.add(Json.mapper().readValue(exchange.getRequestBody(), AppsStates.class));
          respond(exchange, 200, new byte[0]);
        });
    server.createContext(
        "/hub-creds/",
        exchange ->
            respond(
                exchange,
                200,
                Json.toBytes(new HubCredentials(TestRegistry.USER, TestRegistry.SECRET))));
    server.start();
  }

  public URI uri() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  public synchronized void publish(
      String hardwareId, long version, String tag, Map<String, String> appUris) {
    Map<String, ComposeAppRef> apps = new TreeMap<>();
    appUris.forEach((name, uri) -> apps.put(name, new ComposeAppRef(uri)));
    targets.put(
        hardwareId + "-" + version,
        TufTarget.containersOnly(
            new TargetCustom(
                hardwareId,
                Long.toString(version),
                List.of(hardwareId),
                List.of(tag),
                TargetCustom.FORMAT_OSTREE,
                null,
                null,
                "commit-" + version,
                apps)));
    signedVersion++;
  }

  private synchronized void targets(HttpExchange exchange) throws IOException {
    String tag = exchange.getRequestHeaders().getFirst(DeviceHeaders.TAGS);
    String running = exchange.getRequestHeaders().getFirst(DeviceHeaders.TARGET);
    if (running != null) {
      seenTargetHeaders.add(running);
    }
    if (tag == null) {
      respond(exchange, 404, new byte[0]);
      return;
    }
    Map<String, TufTarget> tagged = new TreeMap<>();
    targets.forEach(
        (name, target) -> {
          if (target.custom().tags().contains(tag)) {
            tagged.put(name, target);
          }
        });
    respond(
        exchange,
        200,
        Json.toBytes(
            new TargetsMetadata(
                List.of(),
                new TargetsSigned(
                    TargetsSigned.TYPE, "2099-01-01T00:00:00Z", signedVersion, tagged))));
  }

  private static void respond(HttpExchange exchange, int status, byte[] body) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    if (body.length > 0) {
      exchange.getResponseBody().write(body);
    }
    exchange.close();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
