package io.flotilla.agent;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class FailuresTest {

  @Test
  void aRefusedConnectionOfTheHttpClientIsNamedNotNull() throws Exception {
    int closed;
    try (ServerSocket socket = new ServerSocket(0)) {
      closed = socket.getLocalPort();
    }
    HttpRequest request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + closed + "/v2/"))
            .timeout(Duration.ofSeconds(10))
            .build();
    IOException failure =
        assertThrows(
            IOException.class,
            () ->
                HttpClient.newBuilder()
                    .connectTimeout(Duration.ofSeconds(10))
                    .build()
                    .send(request, HttpResponse.BodyHandlers.discarding()));
    assertNull(failure.getMessage(), "the JDK's own message says nothing");
    assertEquals(
        "cannot connect: the connection was refused or closed", Failures.describe(failure));
  }

  @Test
  void eachMessageOfTheChainIsSaidOnce() {
    IOException inner = new IOException("GET http://reg/v2/x answered 404");
    RuntimeException wrapped = new RuntimeException(inner);
    assertEquals("GET http://reg/v2/x answered 404", Failures.describe(wrapped));
    assertEquals(
        "image web: GET http://reg/v2/x answered 404",
        Failures.describe(new IOException("image web: " + inner.getMessage(), inner)));
    assertEquals(
        "fetching: cannot connect: IllegalStateException",
        Failures.describe(
            new IOException(
                "fetching",
                new ConnectException(null) {
                  {
                    initCause(new IllegalStateException());
                  }
                })));
    assertEquals(
        "unknown host hub.example.com",
        Failures.describe(new java.net.UnknownHostException("hub.example.com")));
  }
}
