package io.flotilla.gateway.tls;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.flotilla.core.pki.CertificateAuthority;
import io.flotilla.core.pki.DeviceCertificateVerifier;
import io.flotilla.core.pki.DeviceIdentity;
import io.flotilla.core.pki.DevicePki;
import io.flotilla.core.pki.IssuedDeviceCertificate;
import io.flotilla.core.pki.Pem;
import io.flotilla.core.pki.PkiSettings;
import io.flotilla.core.pki.PkiTestSupport;
import io.flotilla.core.pki.ServerCredentials;
import java.io.IOException;
import java.math.BigInteger;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.HttpsConnectionContext;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.server.Route;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The device port over real TLS: JDK HttpClient and curl as devices, with certificates from real
 * CSRs. This class runs it on the JDK's provider; {@link DeviceTlsOnOpenSslTest} runs the same
 * tests on BoringSSL.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DeviceTlsTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  @TempDir static Path dir;

  private static final Set<BigInteger> revokedSerials = ConcurrentHashMap.newKeySet();
  private static DevicePki pki;
  private static SSLContext serverTls;
  private static ActorSystem system;
  private static ServerBinding httpsBinding;
  private static ServerBinding plainBinding;
  private static String base;

  /** The device port's TLS as the provider under test sets it up. */
  HttpsConnectionContext serverTls(ServerCredentials server, DeviceCertificateVerifier verifier) {
    serverTls = DeviceTls.sslContext(server, verifier);
    return DeviceTls.httpsContext(serverTls);
  }

  /** Whether the server holds any TLS session (it should not: tickets are stateless). */
  boolean serverKeepsSessions() {
    return serverTls.getServerSessionContext().getIds().hasMoreElements();
  }

  @BeforeAll
  void start() throws Exception {
    pki =
        DevicePki.open(
            dir.resolve("pki"),
            PkiSettings.defaults().withServerSans(List.of("localhost", "127.0.0.1")));
    pki.ensureFactory("acme");
    DeviceCertificateVerifier verifier =
        pki.verifier((factory, uuid, serial) -> revokedSerials.contains(serial));
    Route whoami = new DeviceIdentityDirectives(verifier).deviceIdentity(DeviceTlsTest::echo);
    system = ActorSystem.create("device-tls-test");
    httpsBinding =
        Http.get(system)
            .newServerAt("127.0.0.1", 0)
            .enableHttps(serverTls(pki.server().credentials(), verifier))
            .withSettings(DeviceTls.serverSettings(system))
            .bind(whoami)
            .toCompletableFuture()
            .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    plainBinding =
        Http.get(system)
            .newServerAt("127.0.0.1", 0)
            .bind(whoami)
            .toCompletableFuture()
            .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    base = "https://127.0.0.1:" + httpsBinding.localAddress().getPort();
  }

  @AfterAll
  void stop() throws Exception {
    if (httpsBinding != null) {
      httpsBinding.unbind().toCompletableFuture().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }
    if (plainBinding != null) {
      plainBinding.unbind().toCompletableFuture().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }
    if (system != null) {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }
  }

  private static Route echo(DeviceIdentity id) {
    return complete(id.factory() + " " + id.uuid() + " production=" + id.production());
  }

  @Test
  void registeredDeviceIsIdentified() throws Exception {
    Device device = Device.register("acme", false);
    HttpResponse<String> response = get(device.client(), "/whoami");
    assertEquals(200, response.statusCode());
    assertEquals("acme " + device.uuid + " production=false", response.body());
  }

  @Test
  void productionFlagAndFactoriesCreatedAfterStartAreSeen() throws Exception {
    Device device = Device.register("late-" + UUID.randomUUID().toString().substring(0, 8), true);
    HttpResponse<String> response = get(device.client(), "/whoami");
    assertEquals(200, response.statusCode());
    assertEquals(device.factory + " " + device.uuid + " production=true", response.body());
  }

  /**
   * The port only asks for a certificate (the apps proxy's requests come without one); device
   * routes refuse.
   */
  @Test
  void clientWithoutCertificateIsUnauthorized() throws Exception {
    HttpResponse<String> response = get(client(null, null), "/whoami");
    assertEquals(401, response.statusCode());
    assertTrue(response.body().contains("\"error\":\"unauthorized\""), response.body());
  }

  @Test
  void certificateFromUnknownCaFails() {
    DevicePki stranger = DevicePki.open(dir.resolve("stranger"), PkiSettings.defaults());
    KeyPair key = PkiTestSupport.deviceKey();
    String uuid = UUID.randomUUID().toString();
    IssuedDeviceCertificate issued =
        stranger.registerDevice(
            "acme", uuid, PkiTestSupport.csr(key, "CN=" + uuid + ",OU=acme"), false);
    assertThrows(
        IOException.class,
        () -> get(client(key, Pem.certificate(issued.certificatePem())), "/whoami"));
  }

  @Test
  void certificateFromAnotherFactorysCaIsRefused() throws Exception {
    CertificateAuthority acme = pki.ensureFactory("acme");
    pki.ensureFactory("beta");
    KeyPair key = PkiTestSupport.deviceKey();
    X509Certificate claimsBeta =
        PkiTestSupport.forge(acme, "CN=" + UUID.randomUUID() + ",OU=beta", key.getPublic());
    assertThrows(IOException.class, () -> get(client(key, claimsBeta), "/whoami"));
  }

  @Test
  void revokedCertificateIsRefusedAtHandshakeAndOnOpenConnections() throws Exception {
    Device device = Device.register("acme", false);
    HttpClient connected = device.client();
    assertEquals(200, get(connected, "/whoami").statusCode());

    revokedSerials.add(device.issued.identity().serial());
    // The kept-alive connection was verified before the revocation; the per-request check catches
    // it.
    HttpResponse<String> onOpenConnection = get(connected, "/whoami");
    assertEquals(401, onOpenConnection.statusCode());
    assertTrue(
        onOpenConnection.body().contains("\"error\":\"unauthorized\""), onOpenConnection.body());
    assertTrue(onOpenConnection.body().contains("revoked"), onOpenConnection.body());
    assertThrows(IOException.class, () -> get(device.client(), "/whoami"));
  }

  @Test
  void resumedSessionIsStillIdentified() throws Exception {
    Device device = Device.register("acme", false);
    CountingKeyManager keys = device.countingKeyManager();
    SSLContext tls = context(keys);
    assertEquals("acme " + device.uuid + " production=false", get(client(tls), "/whoami").body());
    assertEquals(1, keys.certificatesPresented.get(), "the first connection is a full handshake");

    // A new HttpClient opens a new connection; its SSLEngine comes from the same SSLContext, whose
    // client
    // session cache offers the server's ticket.
    HttpResponse<String> resumed = get(client(tls), "/whoami");
    assertEquals(
        1,
        keys.certificatesPresented.get(),
        "the second connection resumed: no certificate was asked for");
    assertEquals(200, resumed.statusCode());
    assertEquals("acme " + device.uuid + " production=false", resumed.body());
    assertFalse(
        serverKeepsSessions(),
        "stateless tickets: the server keeps no session, so any number of devices can resume");
  }

  @Test
  void revokedDeviceCannotResumeItsWayIn() throws Exception {
    Device device = Device.register("acme", false);
    CountingKeyManager keys = device.countingKeyManager();
    SSLContext tls = context(keys);
    assertEquals(200, get(client(tls), "/whoami").statusCode());

    revokedSerials.add(device.issued.identity().serial());
    // The handshake resumes (the trust manager is not asked again), so the refusal must come from
    // the request.
    HttpResponse<String> resumed = get(client(tls), "/whoami");
    assertEquals(1, keys.certificatesPresented.get(), "the session was resumed");
    assertEquals(401, resumed.statusCode());
    assertTrue(resumed.body().contains("revoked"), resumed.body());
  }

  @Test
  void requestWithoutTlsSessionIsUnauthorized() throws Exception {
    HttpResponse<String> response =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create(
                            "http://127.0.0.1:"
                                + plainBinding.localAddress().getPort()
                                + "/whoami"))
                    .timeout(TIMEOUT)
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertEquals(401, response.statusCode());
    assertEquals("application/json", response.headers().firstValue("Content-Type").orElseThrow());
    assertTrue(
        response.body().startsWith("{\"error\":\"unauthorized\",\"detail\":"), response.body());
  }

  @Test
  void curlWithTheRegistrationFilesWorks() throws Exception {
    assumeTrue(commandExists("curl"), "curl is not installed");
    Device device = Device.register("acme", false);
    Path files = Files.createDirectories(dir.resolve("curl-" + device.uuid));
    Files.writeString(files.resolve("client.pem"), device.issued.certificatePem());
    Files.writeString(files.resolve("pkey.pem"), Pem.encode(device.key.getPrivate()));
    Files.writeString(files.resolve("root.crt"), pki.rootCertificatePem());

    Result ok =
        run(
            files,
            "curl",
            "-sS",
            "--max-time",
            "10",
            "--cert",
            "client.pem",
            "--key",
            "pkey.pem",
            "--cacert",
            "root.crt",
            base + "/repo/targets.json",
            "-H",
            "x-ats-tags: main");
    assertEquals(0, ok.exitCode, ok.output);
    assertEquals("acme " + device.uuid + " production=false", ok.output);

    Result noCert =
        run(
            files,
            "curl",
            "-sS",
            "--max-time",
            "10",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--cacert",
            "root.crt",
            base + "/whoami");
    assertEquals("401", noCert.output.strip(), "the TLS session opens, the route refuses");
  }

  private record Device(String factory, String uuid, KeyPair key, IssuedDeviceCertificate issued) {

    /**
     * As a device registers: its own key, a CSR with CN=uuid and OU=factory, the certificate that
     * comes back.
     */
    static Device register(String factory, boolean production) {
      KeyPair key = PkiTestSupport.deviceKey();
      String uuid = UUID.randomUUID().toString();
      String subject =
          "CN=" + uuid + ",OU=" + factory + (production ? ",businessCategory=production" : "");
      IssuedDeviceCertificate issued =
          pki.registerDevice(factory, uuid, PkiTestSupport.csr(key, subject), production);
      return new Device(factory, uuid, key, issued);
    }

    HttpClient client() throws Exception {
      return DeviceTlsTest.client(key, Pem.certificate(issued.certificatePem()));
    }

    CountingKeyManager countingKeyManager() throws Exception {
      return new CountingKeyManager(
          deviceKeyManager(key, Pem.certificate(issued.certificatePem())));
    }
  }

  /** A fresh client (own SSLContext, so no TLS session is resumed) trusting only root.crt. */
  private static HttpClient client(KeyPair key, X509Certificate certificate) throws Exception {
    return client(context(deviceKeyManager(key, certificate)));
  }

  private static HttpClient client(SSLContext context) {
    return HttpClient.newBuilder()
        .sslContext(context)
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(TIMEOUT)
        .build();
  }

  private static SSLContext context(X509ExtendedKeyManager keys) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("root", Pem.certificate(pki.rootCertificatePem()));
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(new KeyManager[] {keys}, tmf.getTrustManagers(), null);
    return context;
  }

  private static X509ExtendedKeyManager deviceKeyManager(KeyPair key, X509Certificate certificate)
      throws Exception {
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    KeyStore identity = KeyStore.getInstance("PKCS12");
    identity.load(null, null);
    char[] password = "test".toCharArray();
    if (key != null) {
      identity.setKeyEntry(
          "device", key.getPrivate(), password, new X509Certificate[] {certificate});
    }
    kmf.init(identity, password);
    return (X509ExtendedKeyManager) kmf.getKeyManagers()[0];
  }

  /**
   * Counts the full handshakes of a client: the server asks for the client certificate only in
   * those, and a TLS 1.3 handshake that resumes a session never does (RFC 8446 §4.3.2).
   */
  private static final class CountingKeyManager extends X509ExtendedKeyManager {
    final AtomicInteger certificatesPresented = new AtomicInteger();
    private final X509ExtendedKeyManager delegate;

    CountingKeyManager(X509ExtendedKeyManager delegate) {
      this.delegate = delegate;
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
      certificatesPresented.incrementAndGet();
      return delegate.chooseEngineClientAlias(keyType, issuers, engine);
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      certificatesPresented.incrementAndGet();
      return delegate.chooseClientAlias(keyType, issuers, socket);
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return delegate.getClientAliases(keyType, issuers);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return delegate.getServerAliases(keyType, issuers);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return delegate.chooseServerAlias(keyType, issuers, socket);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return delegate.getCertificateChain(alias);
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return delegate.getPrivateKey(alias);
    }
  }

  private static HttpResponse<String> get(HttpClient client, String path) throws Exception {
    return client.send(
        HttpRequest.newBuilder(URI.create(base + path)).timeout(TIMEOUT).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private record Result(int exitCode, String output) {}

  private static Result run(Path workDir, String... command) throws Exception {
    Process process =
        new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true).start();
    if (!process.waitFor(TIMEOUT.toSeconds() + 5, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("timed out: " + String.join(" ", command));
    }
    return new Result(
        process.exitValue(),
        new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
  }

  private static boolean commandExists(String name) {
    for (String entry :
        System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
      if (Files.isExecutable(Path.of(entry, name))) {
        return true;
      }
    }
    return false;
  }
}
