package io.flotilla.registry;

import static io.flotilla.registry.RegistryHttp.header;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.protocol.oci.Digest;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Clients that disconnect halfway, and clients that push the same blob at the same time. */
class UploadRobustnessTest {
  @TempDir static Path root;
  static RegistryServer server;
  static RegistryHttp client;

  @BeforeAll
  static void start() throws Exception {
    server = RegistryServer.start(root, "pekko.http.server.request-timeout = 1s");
    client = RegistryHttp.basic(server, RegistryServer.PUSHER);
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  /**
   * Sends a request head announcing {@code announced} bytes, then only {@code body}, then hangs up.
   */
  private static void sendAndDisconnect(String method, String path, long announced, byte[] body)
      throws Exception {
    try (Socket socket = new Socket("127.0.0.1", server.port)) {
      OutputStream out = socket.getOutputStream();
      String credentials =
          Base64.getEncoder()
              .encodeToString(
                  (RegistryServer.PUSHER.user() + ":" + RegistryServer.PUSHER.password())
                      .getBytes(StandardCharsets.UTF_8));
      String head =
          method
              + " "
              + path
              + " HTTP/1.1\r\n"
              + "Host: "
              + server.hostPort()
              + "\r\n"
              + "Authorization: Basic "
              + credentials
              + "\r\n"
              + "Content-Type: application/octet-stream\r\n"
              + "Content-Length: "
              + announced
              + "\r\n\r\n";
      out.write(head.getBytes(StandardCharsets.US_ASCII));
      out.write(body);
      out.flush();
    }
  }

  private static long offsetOf(String location) throws Exception {
    HttpResponse<byte[]> status = client.send("GET", location);
    assertEquals(204, status.statusCode());
    String range = header(status, "Range");
    if (range.equals("0-0")) {
      // Ambiguous by the protocol (empty or one byte); the session file says which.
      String id = location.substring(location.lastIndexOf('/') + 1);
      return Files.size(root.resolve("uploads").resolve(id).resolve("data"));
    }
    return Long.parseLong(range.substring(range.indexOf('-') + 1)) + 1;
  }

  @Test
  void chunkInterruptedMidwayIsResumedFromTheOffsetTheServerReports() throws Exception {
    byte[] content = RegistryProtocolTest.randomBytes(600_000, 11);
    String location = header(client.send("POST", "/v2/acme/resumed/blobs/uploads/"), "Location");

    sendAndDisconnect("PATCH", location, content.length, Arrays.copyOfRange(content, 0, 250_000));

    long offset = -1;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      long now = offsetOf(location);
      if (now == offset) {
        break;
      }
      offset = now;
      Thread.sleep(200);
    }
    assertTrue(offset >= 0 && offset <= 250_000, "kept " + offset + " bytes");

    HttpResponse<byte[]> rest =
        client.send(
            "PATCH",
            location,
            Arrays.copyOfRange(content, (int) offset, content.length),
            Map.of("Content-Range", offset + "-" + (content.length - 1)));
    assertEquals(202, rest.statusCode(), new String(rest.body()));
    String digest = Digest.of(content).toString();
    HttpResponse<byte[]> done = client.send("PUT", location + "?digest=" + digest);
    assertEquals(201, done.statusCode(), new String(done.body()));
    assertArrayEquals(content, client.send("GET", "/v2/acme/resumed/blobs/" + digest).body());
  }

  @Test
  void monolithicPushInterruptedMidwayLeavesNoBlob() throws Exception {
    byte[] content = RegistryProtocolTest.randomBytes(400_000, 12);
    String digest = Digest.of(content).toString();
    sendAndDisconnect(
        "POST",
        "/v2/acme/cut/blobs/uploads/?digest=" + digest,
        content.length,
        Arrays.copyOfRange(content, 0, 100_000));
    Thread.sleep(500);
    assertEquals(404, client.send("HEAD", "/v2/acme/cut/blobs/" + digest).statusCode());
    assertFalse(
        Files.exists(
            root.resolve("blobs/sha256")
                .resolve(digest.substring(7, 9))
                .resolve(digest.substring(7))));
    client.pushBlob("acme/cut", content);
    assertArrayEquals(content, client.send("GET", "/v2/acme/cut/blobs/" + digest).body());
  }

  /**
   * Guards against a server setting (or a future pekko-http) that would cut off a layer on a slow
   * link.
   */
  @Test
  void slowUploadOutlastsTheServersRequestTimeout() throws Exception {
    byte[] content = RegistryProtocolTest.randomBytes(300_000, 14);
    String digest = Digest.of(content).toString();
    try (Socket socket = new Socket("127.0.0.1", server.port)) {
      OutputStream out = socket.getOutputStream();
      String credentials =
          Base64.getEncoder()
              .encodeToString(
                  (RegistryServer.PUSHER.user() + ":" + RegistryServer.PUSHER.password())
                      .getBytes(StandardCharsets.UTF_8));
      out.write(
          ("POST /v2/acme/slow/blobs/uploads/?digest="
                  + digest
                  + " HTTP/1.1\r\n"
                  + "Host: "
                  + server.hostPort()
                  + "\r\n"
                  + "Authorization: Basic "
                  + credentials
                  + "\r\n"
                  + "Content-Length: "
                  + content.length
                  + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      for (int part = 0; part < 3; part++) {
        out.write(content, part * 100_000, 100_000);
        out.flush();
        Thread.sleep(1_000);
      }
      socket.setSoTimeout(10_000);
      String statusLine =
          new String(socket.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
      assertEquals("HTTP/1.1 201", statusLine);
    }
    assertArrayEquals(content, client.send("GET", "/v2/acme/slow/blobs/" + digest).body());
  }

  @Test
  void concurrentPushesOfTheSameBlobAllSucceedWithOneCopy() throws Exception {
    byte[] content = RegistryProtocolTest.randomBytes(3_000_000, 13);
    String digest = Digest.of(content).toString();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<HttpResponse<byte[]>>> pushes = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        String repository = "acme/concurrent-" + (i % 2);
        pushes.add(
            pool.submit(
                () ->
                    client.send(
                        "POST",
                        "/v2/" + repository + "/blobs/uploads/?digest=" + digest,
                        content,
                        Map.of())));
      }
      for (Future<HttpResponse<byte[]>> push : pushes) {
        assertEquals(201, push.get(60, TimeUnit.SECONDS).statusCode());
      }
    } finally {
      pool.shutdownNow();
    }
    for (String repository : List.of("acme/concurrent-0", "acme/concurrent-1")) {
      assertArrayEquals(
          content, client.send("GET", "/v2/" + repository + "/blobs/" + digest).body());
    }
    try (Stream<Path> sessions = Files.list(root.resolve("uploads"))) {
      assertTrue(
          sessions.noneMatch(dir -> sizeOf(dir.resolve("data")) == content.length),
          "completed sessions are removed");
    }
  }

  private static long sizeOf(Path file) {
    try {
      return Files.size(file);
    } catch (Exception e) {
      return -1;
    }
  }
}
