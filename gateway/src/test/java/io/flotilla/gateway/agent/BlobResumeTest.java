package io.flotilla.gateway.agent;

import static org.junit.jupiter.api.Assertions.*;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.flotilla.agent.registry.RegistryPuller;
import io.flotilla.agent.store.ContentStore;
import io.flotilla.builder.registry.RegistryEndpoints;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.testing.ApiClient;
import io.flotilla.gateway.testing.TestServers;
import io.flotilla.protocol.device.HubCredentials;
import io.flotilla.protocol.oci.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's content store downloads a blob from the real registry through a counting proxy that
 * cuts the first download halfway; the second attempt asks for the rest with {@code Range} and the
 * proxy serves only the rest.
 */
class BlobResumeTest {

  private static final int SIZE = 3 * 1024 * 1024;
  private static final int CUT_AFTER = 1024 * 1024;

  record Served(String range, long bytes) {}

  @TempDir static Path dir;
  static FlotillaServer server;
  static HttpServer proxy;
  static String token;
  static final List<Served> served = new CopyOnWriteArrayList<>();
  static final AtomicBoolean cutNext = new AtomicBoolean(true);

  @BeforeAll
  static void start() throws Exception {
    server = TestServers.start(dir.resolve("data"), null);
    ApiClient api = new ApiClient(server.httpPort());
    String admin = server.adminToken().value();
    assertEquals(
        201,
        api.post("/api/v1/factories", admin, "{\"name\":\"acme\",\"platforms\":[\"amd64-linux\"]}")
            .status());
    token =
        api.post(
                "/api/v1/factories/acme/tokens",
                admin,
                "{\"scopes\":[\"containers:read\",\"containers:push\"]}")
            .json()
            .get("token")
            .asText();
    proxy = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    HttpClient upstream = HttpClient.newHttpClient();
    proxy.createContext("/", exchange -> forward(upstream, exchange));
    proxy.start();
  }

  @AfterAll
  static void stop() throws Exception {
    if (proxy != null) {
      proxy.stop(0);
    }
    if (server != null) {
      server.close();
    }
  }

  @Test
  void anInterruptedDownloadResumesWhereItStopped() throws Exception {
    byte[] blob = new byte[SIZE];
    new Random(7).nextBytes(blob);
    Digest digest = Digest.of(blob);
    String host = "127.0.0.1:" + server.httpPort();
    new io.flotilla.builder.registry.RegistryClient(
            HttpClient.newHttpClient(),
            new RegistryEndpoints(host, URI.create("http://" + host), "dev", token, Set.of(host)))
        .pushBlob(host, "acme/big", digest, blob);

    String viaProxy = "127.0.0.1:" + proxy.getAddress().getPort();
    RegistryPuller registry =
        new RegistryPuller(
            HttpClient.newHttpClient(), h -> "http", () -> new HubCredentials("dev", token));
    ContentStore store = new ContentStore(dir.resolve("store"));

    assertThrows(
        IOException.class,
        () -> store.fetch(digest, SIZE, registry.blob(viaProxy, "acme/big", digest), bytes -> {}));
    long kept = store.partialSize(digest);
    assertTrue(kept > 0 && kept <= CUT_AFTER, "kept " + kept + " bytes of the cut download");

    store.fetch(digest, SIZE, registry.blob(viaProxy, "acme/big", digest), bytes -> {});
    assertArrayEquals(blob, Files.readAllBytes(store.blobPath(digest)));

    List<Served> gets = served.stream().filter(s -> s.bytes() > 0).toList();
    assertEquals(2, gets.size(), served.toString());
    assertNull(gets.get(0).range(), "the first download starts at 0");
    assertEquals("bytes=" + kept + "-", gets.get(1).range());
    assertEquals(SIZE - kept, gets.get(1).bytes(), "the second download serves only the rest");
  }

  /**
   * Passes a request on to the server; the first blob body is cut after {@value #CUT_AFTER} bytes.
   */
  private static void forward(HttpClient upstream, HttpExchange exchange) throws IOException {
    try (exchange) {
      HttpRequest.Builder request =
          HttpRequest.newBuilder(
                  URI.create("http://127.0.0.1:" + server.httpPort() + exchange.getRequestURI()))
              .method(exchange.getRequestMethod(), HttpRequest.BodyPublishers.noBody());
      for (String header : List.of("Authorization", "Range", "Accept")) {
        String value = exchange.getRequestHeaders().getFirst(header);
        if (value != null) {
          request.header(header, value);
        }
      }
      HttpResponse<InputStream> response;
      try {
        response = upstream.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      }
      response
          .headers()
          .map()
          .forEach(
              (name, values) -> {
                if (!name.equalsIgnoreCase("content-length")
                    && !name.equalsIgnoreCase("transfer-encoding")
                    && !name.startsWith(":")) {
                  values.forEach(v -> exchange.getResponseHeaders().add(name, v));
                }
              });
      long length = response.headers().firstValueAsLong("Content-Length").orElse(-1);
      boolean head = exchange.getRequestMethod().equals("HEAD");
      exchange.sendResponseHeaders(
          response.statusCode(), head || length == 0 ? -1 : Math.max(length, 0));
      boolean blobBody =
          !head
              && exchange.getRequestURI().getPath().contains("/blobs/")
              && response.statusCode() / 100 == 2;
      long limit = blobBody && cutNext.getAndSet(false) ? CUT_AFTER : Long.MAX_VALUE;
      long count = 0;
      try (InputStream in = response.body();
          OutputStream out = exchange.getResponseBody()) {
        byte[] buffer = new byte[16384];
        for (int n;
            count < limit
                && (n = in.read(buffer, 0, (int) Math.min(buffer.length, limit - count))) > 0; ) {
          out.write(buffer, 0, n);
          count += n;
        }
        if (count == limit) {
          out.flush();
          // an abrupt end: the declared length was not reached, so the client sees a truncated body
          throw new IOException("cut");
        }
      } finally {
        if (blobBody) {
          served.add(new Served(exchange.getRequestHeaders().getFirst("Range"), count));
        }
      }
    }
  }
}
