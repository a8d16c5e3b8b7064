package io.flotilla.gateway.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.flotilla.core.pki.Pem;
import io.flotilla.gateway.FlotillaServer;
import io.flotilla.gateway.testing.TestServers;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The API port's TLS: plain HTTP on loopback, HTTPS with a certificate of the served server CA when it listens
 * beyond loopback (bound to the wildcard address, reached through 127.0.0.1), plain again only when switched off.
 */
class ApiTlsTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(20);

  @TempDir Path loopbackDir;
  @TempDir Path wildcardDir;
  @TempDir Path offDir;

  private static FlotillaServer start(Path dataDir, Map<String, Object> settings) throws Exception {
    Config config = ConfigFactory.parseMap(settings).withFallback(TestServers.config(dataDir, null));
    return FlotillaServer.start(config);
  }

  @Test
  void loopbackServesPlainHttpAndTheCaFile() throws Exception {
    try (FlotillaServer server = start(loopbackDir, Map.of())) {
      HttpClient plain = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
      HttpResponse<String> alive = plain.send(get("http", server, "/health/alive"), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, alive.statusCode());
      HttpResponse<String> ca = plain.send(get("http", server, "/ca.crt"), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, ca.statusCode());
      assertEquals(Files.readString(loopbackDir.resolve("pki/root.crt")), ca.body());
      assertTrue(ca.headers().firstValue("Content-Type").orElse("").startsWith("application/x-pem-file"), ca.headers().toString());
    }
  }

  @Test
  void beyondLoopbackOnlyHttpsIsServedWithACertificateOfTheServedCa() throws Exception {
    try (FlotillaServer server = start(wildcardDir, Map.of("flotilla.http.interface", "0.0.0.0"))) {
      String caFile = Files.readString(wildcardDir.resolve("pki/root.crt"));
      HttpClient verifying = HttpClient.newBuilder().sslContext(trusting(caFile)).connectTimeout(TIMEOUT).build();

      HttpResponse<String> ca = verifying.send(get("https", server, "/ca.crt"), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, ca.statusCode());
      assertEquals(caFile, ca.body(), "the served CA is the data dir's root.crt");
      SSLSession session = ca.sslSession().orElseThrow();
      X509Certificate leaf = (X509Certificate) session.getPeerCertificates()[0];
      X509Certificate root = Pem.certificate(ca.body());
      leaf.verify(root.getPublicKey());
      assertFalse(leaf.getSubjectX500Principal().equals(root.getSubjectX500Principal()), "a leaf, not the CA itself");

      HttpResponse<String> challenge = verifying.send(get("https", server, "/v2/"), HttpResponse.BodyHandlers.ofString());
      assertEquals(401, challenge.statusCode());
      assertTrue(
          challenge.headers().firstValue("WWW-Authenticate").orElse("").contains("realm=\"https://127.0.0.1:" + server.httpPort() + "/v2/token\""),
          "tokens are fetched over HTTPS too: " + challenge.headers().firstValue("WWW-Authenticate"));

      HttpClient trustingNothing = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
      assertThrows(IOException.class, () -> trustingNothing.send(get("https", server, "/ca.crt"), HttpResponse.BodyHandlers.ofString()),
          "the JDK's roots do not vouch for the node's certificate");

      assertFalse(answersPlainHttp(server.httpPort()), "no plain HTTP beyond loopback");
    }
  }

  @Test
  void tlsOffKeepsPlainHttpWhereverTheNodeListens() throws Exception {
    try (FlotillaServer server = start(offDir, Map.of("flotilla.http.interface", "0.0.0.0", "flotilla.http.tls", "off"))) {
      assertTrue(answersPlainHttp(server.httpPort()));
    }
  }

  @Test
  void aModeOtherThanAutoOnOrOffStopsTheNode() {
    Config config = ConfigFactory.parseMap(Map.of("flotilla.http.tls", "maybe")).withFallback(TestServers.config(offDir, null));
    IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> ApiTls.enabled(config));
    assertTrue(refused.getMessage().contains("auto, on or off"), refused.getMessage());
  }

  /** A raw HTTP/1.1 request: a TLS port answers it with an alert or a close, never with an HTTP status line. */
  private static boolean answersPlainHttp(int port) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), (int) TIMEOUT.toMillis());
      socket.setSoTimeout((int) TIMEOUT.toMillis());
      OutputStream out = socket.getOutputStream();
      out.write("GET /health/alive HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      byte[] start = in.readNBytes(8);
      return new String(start, StandardCharsets.US_ASCII).equals("HTTP/1.1");
    } catch (java.net.SocketException reset) {
      return false;
    }
  }

  private static HttpRequest get(String scheme, FlotillaServer server, String path) {
    return HttpRequest.newBuilder(URI.create(scheme + "://127.0.0.1:" + server.httpPort() + path)).timeout(TIMEOUT).build();
  }

  private static SSLContext trusting(String caPem) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("flotilla", Pem.certificate(caPem));
    TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, factory.getTrustManagers(), null);
    return context;
  }
}
