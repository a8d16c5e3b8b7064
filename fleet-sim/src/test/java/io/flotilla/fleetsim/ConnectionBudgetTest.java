package io.flotilla.fleetsim;

import static org.junit.jupiter.api.Assertions.*;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ConnectionBudgetTest {

  private static IoLoop loop;

  @BeforeAll
  static void startLoop() {
    loop = new IoLoop("budget-test-io", 18 * 1024, 17 * 1024);
  }

  @AfterAll
  static void stopLoop() {
    loop.close();
  }

  @Test
  void opensBeyondTheLimitWaitAndStartInOrderAsConnectionsClose() {
    ConnectionBudget budget = new ConnectionBudget(2);
    List<String> started = new ArrayList<>();
    for (String name : List.of("a", "b", "c", "d")) {
      budget.acquire(() -> started.add(name));
    }
    assertEquals(List.of("a", "b"), started);
    assertEquals(2, budget.open());
    assertEquals(2, budget.waited());

    budget.release();
    assertEquals(List.of("a", "b", "c"), started);
    budget.release();
    budget.release();
    assertEquals(List.of("a", "b", "c", "d"), started);
    assertEquals(1, budget.open(), "d still holds its place");
    budget.release();
    assertEquals(0, budget.open());
  }

  @Test
  void aBudgetHasRoomForAtLeastOneConnection() {
    assertThrows(IllegalArgumentException.class, () -> new ConnectionBudget(0));
    assertTrue(ConnectionBudget.forThisProcess().limit() >= 1);
  }

  @Test
  void anExchangeOnARefusedConnectionFailsAsAConnectFailureAndGivesItsPlaceToTheNextOpen()
      throws Exception {
    InetSocketAddress nobodyListening;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      nobodyListening =
          new InetSocketAddress(InetAddress.getLoopbackAddress(), socket.getLocalPort());
    }
    ConnectionBudget budget = new ConnectionBudget(1);
    budget.acquire(() -> {});
    List<CompletableFuture<TlsConnection.Response>> exchanges = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      TlsConnection connection =
          TlsConnection.open(loop, budget, nobodyListening, clientEngine(), () -> {}, () -> {});
      exchanges.add(
          connection.exchange("GET / HTTP/1.1\r\n\r\n".getBytes(), TimeUnit.SECONDS.toNanos(10)));
    }
    assertEquals(3, budget.waited(), "the budget's one place is taken, so every open waits");
    budget.release();
    for (CompletableFuture<TlsConnection.Response> exchange : exchanges) {
      ExecutionException failed =
          assertThrows(ExecutionException.class, () -> exchange.get(10, TimeUnit.SECONDS));
      Failure failure = Failure.from(failed.getCause());
      assertEquals(
          Failure.Kind.CONNECT,
          failure.kind(),
          "refused, not closed by a server: " + failure.getMessage());
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (budget.open() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(
        0,
        budget.open(),
        "each refused connection gave its place to the next and the last freed it");
  }

  private static SSLEngine clientEngine() throws Exception {
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(null, null, null);
    SSLEngine engine = tls.createSSLEngine("localhost", 0);
    engine.setUseClientMode(true);
    return engine;
  }
}
