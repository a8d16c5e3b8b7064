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
 * The API port's TLS: plain HTTP on loopback, HTTPS with a certificate of the served server CA when
 * it listens beyond loopback (bound to the wildcard address, reached through 127.0.0.1), plain
 * again only when switched off.
 */
class ApiTlsTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(20);

  @TempDir Path loopbackDir;
  @TempDir Path wildcardDir;
  @TempDir Path offDir;

  private static FlotillaServer start(Path dataDir, Map<String, Object> settings) throws Exception {
    Config config =
        ConfigFactory.parseMap(settings).withFallback(TestServers.config(dataDir, null));
    return FlotillaServer.start(config);
  }

  @Test
  void loopbackServesPlainHttpAndTheCaFile() throws Exception {
    try (FlotillaServer server = start(loopbackDir, Map.of())) {
      HttpClient plain = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
      HttpResponse<String> alive =
          plain.send(get("http", server, "/health/alive"), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, alive.statusCode());
      HttpResponse<String> ca =
          plain.send(get("http", server, "/ca.crt"), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, ca.statusCode());
      assertEquals(Files.readString(loopbackDir.resolve("pki/root.crt")), ca.body());
      assertTrue(
          ca.headers().firstValue("Content-Type").orElse("").startsWith("application/x-pem-file"),
          ca.headers().toString());
    }
  }

  @Test
  void beyondLoopbackOnlyHttpsIsServedWithACertificateOfTheServedCa() throws Exception {
    try (FlotillaServer server = start(wildcardDir, Map.of("flotilla.http.interface", "0.0.0.0"))) {
      String caFile = Files.readString(wildcardDir.resolve("pki/root.crt"));
      HttpClient verifying =
          HttpClient.newBuilder().sslContext(trusting(caFile)).connectTimeout(TIMEOUT).build();

      HttpResponse<String> ca =
          verifying.send(get("https", server, "/ca.crt"), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, ca.statusCode());
      assertEquals(caFile, ca.body(), "the served CA is the data dir's root.crt");
      SSLSession session = ca.sslSession().orElseThrow();
      X509Certificate leaf = (X509Certificate) session.getPeerCertificates()[0];
      X509Certificate root = Pem.certificate(ca.body());
      leaf.verify(root.getPublicKey());
      assertFalse(
          leaf.getSubjectX500Principal().equals(root.getSubjectX500Principal()),
          "a leaf, not the CA itself");

      HttpResponse<String> challenge =
          verifying.send(get("https", server, "/v2/"), HttpResponse.BodyHandlers.ofString());
      assertEquals(401, challenge.statusCode());
      assertTrue(
          challenge
              .headers()
              .firstValue("WWW-Authenticate")
              .orElse("")
              .contains("realm=\"https://127.0.0.1:" + server.httpPort() + "/v2/token\""),
          "tokens are fetched over HTTPS too: "
              + challenge.headers().firstValue("WWW-Authenticate"));

      HttpClient trustingNothing = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
      assertThrows(
          IOException.class,
          () ->
              trustingNothing.send(
                  get("https", server, "/ca.crt"), HttpResponse.BodyHandlers.ofString()),
          "the JDK's roots do not vouch for the node's certificate");

      assertFalse(answersPlainHttp(server.httpPort()), "no plain HTTP beyond loopback");

      String admin = server.adminToken().value();
      assertEquals(
          201,
          verifying
              .send(
                  post(
                      server,
                      "/api/v1/factories",
                      admin,
                      "{\"name\":\"acme\",\"platforms\":[\"amd64-linux\"]}"),
                  HttpResponse.BodyHandlers.ofString())
              .statusCode());
      HttpResponse<String> created =
          verifying.send(
              post(
                  server,
                  "/api/v1/factories/acme/tokens",
                  admin,
                  "{\"scopes\":[\"containers:read\"]}"),
              HttpResponse.BodyHandlers.ofString());
      String token = created.body().replaceFirst(".*\"token\":\"([^\"]+)\".*", "$1");
      Path caPath = wildcardDir.resolve("pki/root.crt");
      String base = "https://127.0.0.1:" + server.httpPort();
      assertEquals(
          0,
          tool(Map.of(), "curl", "-sf", "--cacert", caPath.toString(), base + "/health/alive"),
          "curl verifies with the CA file");
      assertEquals(
          0,
          tool(
              Map.of("GIT_SSL_CAINFO", caPath.toString()),
              "git",
              "ls-remote",
              "https://ci:"
                  + token
                  + "@127.0.0.1:"
                  + server.httpPort()
                  + "/git/acme/containers.git"),
          "git verifies with the CA file");
      assertTrue(
          tool(Map.of(), "curl", "-sf", base + "/health/alive") != 0,
          "curl without the CA refuses the certificate");
    }
  }

  /** Runs a real client with the given environment; its exit code. */
  private int tool(Map<String, String> env, String... command) throws Exception {
    Path log = Files.createTempFile(wildcardDir, "tool", ".log");
    ProcessBuilder builder =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().putAll(env);
    builder.environment().put("GIT_TERMINAL_PROMPT", "0");
    Process process = builder.start();
    if (!process.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError(
          String.join(" ", command) + " did not finish in 60 s: " + Files.readString(log));
    }
    return process.exitValue();
  }

  private static HttpRequest post(FlotillaServer server, String path, String token, String json) {
    return HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + server.httpPort() + path))
        .timeout(TIMEOUT)
        .header("Authorization", "Bearer " + token)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json))
        .build();
  }

  @Test
  void tlsOffKeepsPlainHttpWhereverTheNodeListens() throws Exception {
    try (FlotillaServer server =
        start(offDir, Map.of("flotilla.http.interface", "0.0.0.0", "flotilla.http.tls", "off"))) {
      assertTrue(answersPlainHttp(server.httpPort()));
    }
  }

  @Test
  void aModeOtherThanAutoOnOrOffStopsTheNode() {
    Config config =
        ConfigFactory.parseMap(Map.of("flotilla.http.tls", "maybe"))
            .withFallback(TestServers.config(offDir, null));
    IllegalArgumentException refused =
        assertThrows(IllegalArgumentException.class, () -> ApiTls.enabled(config));
    assertTrue(refused.getMessage().contains("auto, on or off"), refused.getMessage());
  }

  /**
   * A raw HTTP/1.1 request: a TLS port answers it with an alert or a close, never with an HTTP
   * status line.
   */
  private static boolean answersPlainHttp(int port) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), (int) TIMEOUT.toMillis());
      socket.setSoTimeout((int) TIMEOUT.toMillis());
      OutputStream out = socket.getOutputStream();
      out.write(
          "GET /health/alive HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      byte[] start = in.readNBytes(8);
      return new String(start, StandardCharsets.US_ASCII).equals("HTTP/1.1");
    } catch (java.net.SocketException reset) {
      return false;
    }
  }

  private static HttpRequest get(String scheme, FlotillaServer server, String path) {
    return HttpRequest.newBuilder(URI.create(scheme + "://127.0.0.1:" + server.httpPort() + path))
        .timeout(TIMEOUT)
        .build();
  }

  private static SSLContext trusting(String caPem) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("flotilla", Pem.certificate(caPem));
    TrustManagerFactory factory =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, factory.getTrustManagers(), null);
    return context;
  }
}
