package io.flotilla.agent.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.flotilla.protocol.oci.Digest;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The pull side of the OCI distribution API over real HTTP, with the Bearer token flow: requests
 * without the token get a 401 challenge naming {@code /token}, which hands out the token for the
 * right basic credentials. Counts the blob bytes it serves so tests can prove what was (not)
 * downloaded.
 */
public final class TestRegistry implements AutoCloseable {

  public static final String USER = "device";
  public static final String SECRET = "s3cret";
  private static final String TOKEN = "pull-token";
  private static final Pattern PATH =
      Pattern.compile("/v2/(.+)/(manifests|blobs)/(sha256:[0-9a-f]{64})");

  private record Content(String mediaType, byte[] bytes) {}

  private final HttpServer server;
  private final Map<String, Content> content = new ConcurrentHashMap<>();
  public final AtomicLong blobBytesServed = new AtomicLong();
  public final AtomicInteger tokenRequests = new AtomicInteger();

  public TestRegistry() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/token", this::token);
    server.createContext("/v2/", this::serve);
    server.start();
  }

  public String host() {
    return "127.0.0.1:" + server.getAddress().getPort();
  }

  public Digest put(String repository, String mediaType, byte[] bytes) {
    Digest digest = Digest.of(bytes);
    content.put(repository + "@" + digest, new Content(mediaType, bytes));
    return digest;
  }

  private void token(HttpExchange exchange) throws IOException {
    tokenRequests.incrementAndGet();
    String expected =
        "Basic "
            + Base64.getEncoder()
                .encodeToString((USER + ":" + SECRET).getBytes(StandardCharsets.UTF_8));
    if (!expected.equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
      send(
          exchange,
          401,
          "application/json",
          "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}".getBytes(StandardCharsets.UTF_8));
      return;
    }
    send(
        exchange,
        200,
        "application/json",
        ("{\"token\":\"" + TOKEN + "\"}").getBytes(StandardCharsets.UTF_8));
  }

  private void serve(HttpExchange exchange) throws IOException {
    Matcher m = PATH.matcher(exchange.getRequestURI().getPath());
    if (!m.matches()) {
      send(exchange, 404, "application/json", new byte[0]);
      return;
    }
    if (!("Bearer " + TOKEN).equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
      exchange
          .getResponseHeaders()
          .set(
              "WWW-Authenticate",
              "Bearer realm=\"http://"
                  + host()
                  + "/token\",service=\"test\",scope=\"repository:"
                  + m.group(1)
                  + ":pull\"");
      send(
          exchange,
          401,
          "application/json",
          "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}".getBytes(StandardCharsets.UTF_8));
      return;
    }
    Content found = content.get(m.group(1) + "@" + m.group(3));
    if (found == null) {
      send(
          exchange,
          404,
          "application/json",
          "{\"errors\":[{\"code\":\"BLOB_UNKNOWN\"}]}".getBytes(StandardCharsets.UTF_8));
      return;
    }
    exchange.getResponseHeaders().set("Docker-Content-Digest", m.group(3));
    if (m.group(2).equals("blobs")) {
      String range = exchange.getRequestHeaders().getFirst("Range");
      int start =
          range != null && range.startsWith("bytes=")
              ? Integer.parseInt(range.substring(6, range.indexOf('-')))
              : 0;
      byte[] bytes = found.bytes();
      if (start > 0) {
        exchange
            .getResponseHeaders()
            .set("Content-Range", "bytes " + start + "-" + (bytes.length - 1) + "/" + bytes.length);
      }
      byte[] body = java.util.Arrays.copyOfRange(bytes, start, bytes.length);
      if (!exchange.getRequestMethod().equals("HEAD")) {
        blobBytesServed.addAndGet(body.length);
      }
      send(exchange, start > 0 ? 206 : 200, found.mediaType(), body);
    } else {
      send(exchange, 200, found.mediaType(), found.bytes());
    }
  }

  private static void send(HttpExchange exchange, int status, String type, byte[] body)
      throws IOException {
    exchange.getResponseHeaders().set("Content-Type", type);
    if (exchange.getRequestMethod().equals("HEAD")) {
      exchange.getResponseHeaders().set("Content-Length", Integer.toString(body.length));
      exchange.sendResponseHeaders(status, -1);
    } else {
      exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
      exchange.getResponseBody().write(body);
    }
    exchange.close();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
