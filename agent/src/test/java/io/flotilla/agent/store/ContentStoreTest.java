package io.flotilla.agent.store;

import static org.junit.jupiter.api.Assertions.*;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.flotilla.protocol.oci.Digest;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Downloads from a real HTTP server started here, which honours Range, counts bytes and can cut a
 * transfer short.
 */
class ContentStoreTest {

  private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-");
  private static final byte[] BLOB = new byte[300_000];
  private static final Digest DIGEST;

  static {
    new Random(42).nextBytes(BLOB);
    DIGEST = Digest.of(BLOB);
  }

  private static HttpServer server;
  private static final HttpClient CLIENT = HttpClient.newHttpClient();
  private static final AtomicLong bytesServed = new AtomicLong();
  private static final AtomicInteger requests = new AtomicInteger();
  private static final AtomicLong cutAfter = new AtomicLong(-1);
  private static final AtomicLong stallAfter = new AtomicLong(-1);
  private static final AtomicBoolean honourRange = new AtomicBoolean(true);
  private static final AtomicReference<byte[]> content = new AtomicReference<>(BLOB);
  private static final AtomicReference<String> lastRange = new AtomicReference<>();

  @TempDir Path tmp;

  @BeforeAll
  static void startServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/blob", ContentStoreTest::serve);
    server.start();
  }

  @AfterAll
  static void stopServer() {
    server.stop(0);
  }

  @BeforeEach
  void reset() {
    bytesServed.set(0);
    requests.set(0);
    cutAfter.set(-1);
    stallAfter.set(-1);
    honourRange.set(true);
    content.set(BLOB);
    lastRange.set(null);
  }

  private static void serve(HttpExchange exchange) throws IOException {
    requests.incrementAndGet();
    byte[] body = content.get();
    String range = exchange.getRequestHeaders().getFirst("Range");
    lastRange.set(range);
    long start = 0;
    Matcher m = range == null ? null : RANGE.matcher(range);
    if (m != null && m.matches() && honourRange.get()) {
      start = Long.parseLong(m.group(1));
      if (start >= body.length) {
        exchange.sendResponseHeaders(416, -1);
        exchange.close();
        return;
      }
      exchange
          .getResponseHeaders()
          .set("Content-Range", "bytes " + start + "-" + (body.length - 1) + "/" + body.length);
      exchange.sendResponseHeaders(206, body.length - start);
    } else {
      exchange.sendResponseHeaders(200, body.length);
    }
    long limit = cutAfter.getAndSet(-1);
    long end = limit >= 0 ? Math.min(body.length, start + limit) : body.length;
    OutputStream out = exchange.getResponseBody();
    for (long pos = start; pos < end; pos += 8192) {
      int n = (int) Math.min(8192, end - pos);
      out.write(body, (int) pos, n);
      bytesServed.addAndGet(n);
    }
    out.flush();
    long stall = stallAfter.getAndSet(-1);
    if (stall >= 0) {
      try {
        Thread.sleep(stall); // headers and some bytes sent, then silence
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (end < body.length) {
      // a handler that throws makes the server drop the connection: the client sees a truncated
      // transfer
      throw new IllegalStateException("cut after " + (end - start) + " bytes");
    }
    out.close();
  }

  private BlobSource source() {
    return new HttpBlobSource(
        CLIENT,
        URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/blob"),
        b -> b,
        Duration.ofSeconds(10));
  }

  @Test
  void downloadsVerifiesAndDoesNotDownloadTwice() throws IOException {
    ContentStore store = new ContentStore(tmp);
    AtomicLong progress = new AtomicLong();
    Path blob = store.fetch(DIGEST, BLOB.length, source(), progress::set);
    assertArrayEquals(BLOB, Files.readAllBytes(blob));
    assertEquals(BLOB.length, progress.get());
    assertEquals(BLOB.length, bytesServed.get());
    assertTrue(store.has(DIGEST));
    store.fetch(DIGEST, BLOB.length, source(), p -> {});
    assertEquals(1, requests.get(), "a present blob is not fetched again");
    assertTrue(store.list().contains(DIGEST));
  }

  @Test
  void interruptedDownloadResumesWithRangeAndServesOnlyTheRest() throws Exception {
    ContentStore store = new ContentStore(tmp);
    long cut = 100_000;
    cutAfter.set(cut);
    assertThrows(IOException.class, () -> store.fetch(DIGEST, BLOB.length, source(), p -> {}));
    assertFalse(store.has(DIGEST), "an incomplete blob is not visible");
    long kept = store.partialSize(DIGEST);
    assertTrue(kept > 0 && kept <= cut, "partial bytes kept: " + kept);

    bytesServed.set(0);
    Path blob = store.fetch(DIGEST, BLOB.length, source(), p -> {});
    assertEquals("bytes=" + kept + "-", lastRange.get());
    assertEquals(BLOB.length - kept, bytesServed.get(), "only the remaining bytes were served");
    assertArrayEquals(BLOB, Files.readAllBytes(blob));
    assertEquals(0, store.partialSize(DIGEST));
  }

  @Test
  void aSilentServerIsGivenUpOnAndTheDownloadResumesLater() throws IOException {
    ContentStore store = new ContentStore(tmp);
    cutAfter.set(60_000);
    stallAfter.set(5_000);
    BlobSource impatient =
        new HttpBlobSource(
            CLIENT,
            URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/blob"),
            b -> b,
            Duration.ofSeconds(1));
    long started = System.nanoTime();
    IOException e =
        assertThrows(IOException.class, () -> store.fetch(DIGEST, BLOB.length, impatient, p -> {}));
    assertTrue(
        System.nanoTime() - started < 4_000_000_000L,
        "gave up after about a second, not after the server's 5 s");
    assertTrue(e.getMessage().contains("stalled"), e.getMessage());
    assertTrue(store.partialSize(DIGEST) > 0);
    assertArrayEquals(
        BLOB, Files.readAllBytes(store.fetch(DIGEST, BLOB.length, source(), p -> {})));
  }

  @Test
  void serverIgnoringRangeMeansStartingOver() throws Exception {
    ContentStore store = new ContentStore(tmp);
    cutAfter.set(50_000);
    assertThrows(IOException.class, () -> store.fetch(DIGEST, BLOB.length, source(), p -> {}));
    honourRange.set(false);
    bytesServed.set(0);
    assertArrayEquals(
        BLOB, Files.readAllBytes(store.fetch(DIGEST, BLOB.length, source(), p -> {})));
    assertEquals(BLOB.length, bytesServed.get());
  }

  @Test
  void wrongContentIsDiscardedAndNeverVisible() throws IOException {
    ContentStore store = new ContentStore(tmp);
    byte[] corrupt = BLOB.clone();
    corrupt[1234] ^= 1;
    content.set(corrupt);
    BlobVerificationException e =
        assertThrows(
            BlobVerificationException.class,
            () -> store.fetch(DIGEST, BLOB.length, source(), p -> {}));
    assertTrue(
        e.getMessage().contains("expected " + BLOB.length + " bytes with " + DIGEST),
        e.getMessage());
    assertFalse(store.has(DIGEST));
    assertEquals(0, store.partialSize(DIGEST), "a corrupt partial is not resumed later");

    content.set(BLOB);
    assertThrows(
        BlobVerificationException.class,
        () -> store.fetch(DIGEST, BLOB.length - 10, source(), p -> {}),
        "more bytes than the descriptor's size are refused");
    assertFalse(store.has(DIGEST));
  }

  @Test
  void inMemoryContentIsCheckedAgainstItsDigest() throws IOException {
    ContentStore store = new ContentStore(tmp);
    byte[] manifest = "{}".getBytes();
    store.put(Digest.of(manifest), manifest);
    assertArrayEquals(manifest, store.read(Digest.of(manifest)));
    assertThrows(BlobVerificationException.class, () -> store.put(DIGEST, manifest));
  }
}
