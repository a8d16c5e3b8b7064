package io.flotilla.gateway.device;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.core.pki.Pem;
import io.flotilla.core.pki.PkiTestSupport;
import io.flotilla.gateway.testing.ApiClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.UUID;
import java.util.function.Consumer;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A device as the tests play it: its own key and CSR, then the registration files, then mTLS
 * requests.
 */
public final class DeviceClient {

  public static final Duration TIMEOUT = Duration.ofSeconds(15);

  public final String uuid;
  final KeyPair key;
  String clientPem;
  String rootPem;
  HttpClient http;

  public DeviceClient() {
    this(PkiTestSupport.deviceKey());
  }

  /**
   * A device whose uuid the test chooses: a recorded journal needs the same persistence ids in
   * every recording.
   */
  public DeviceClient(String uuid) {
    this.uuid = uuid;
    this.key = PkiTestSupport.deviceKey();
  }

  DeviceClient(KeyPair key) {
    this.uuid = UUID.randomUUID().toString();
    this.key = key;
  }

  /**
   * A device with this uuid registered through {@code POST /ota/devices/} as lmp-device-register
   * does with {@code token} (hardware amd64-linux, tag main), ready for mTLS requests; {@code
   * fields} adds to or replaces fields of the request.
   */
  public static DeviceClient register(
      ApiClient api, String token, String factory, String uuid, Consumer<ObjectNode> fields)
      throws Exception {
    DeviceClient device = new DeviceClient(uuid);
    ObjectNode body = new ObjectMapper().createObjectNode();
    body.put("uuid", uuid);
    body.put("hardware-id", "amd64-linux");
    body.put("csr", device.csr(factory));
    body.put("sota-config-dir", "/var/sota");
    body.putObject("overrides").putObject("pacman").put("tags", "\"main\"");
    fields.accept(body);
    ApiClient.Answer answer =
        api.send(
            api.request("/ota/devices/", null)
                .header("OSF-TOKEN", token)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())));
    if (answer.status() != 201) {
      throw new AssertionError("registration answered " + answer.status() + ": " + answer.body());
    }
    device.registered(
        answer.json().get("root.crt").asText(), answer.json().get("client.pem").asText());
    return device;
  }

  /** As {@link #register(ApiClient, String, String, String, Consumer)}, with a new uuid. */
  public static DeviceClient register(ApiClient api, String token, String factory)
      throws Exception {
    return register(api, token, factory, UUID.randomUUID().toString(), body -> {});
  }

  public String csr(String factory) {
    return PkiTestSupport.csr(key, "CN=" + uuid + ",OU=" + factory);
  }

  /**
   * Takes the registration answer's files and builds a client that presents client.pem and trusts
   * only root.crt.
   */
  public void registered(String rootPem, String clientPem) throws Exception {
    this.rootPem = rootPem;
    this.clientPem = clientPem;
    this.http =
        HttpClient.newBuilder()
            .sslContext(sslContext())
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(TIMEOUT)
            .build();
  }

  public SSLContext sslContext() throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("root", Pem.certificate(rootPem));
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    KeyStore identity = KeyStore.getInstance("PKCS12");
    identity.load(null, null);
    char[] password = "test".toCharArray();
    identity.setKeyEntry(
        "device", key.getPrivate(), password, new X509Certificate[] {Pem.certificate(clientPem)});
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(identity, password);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    return context;
  }

  public HttpResponse<String> send(
      String base, String method, String path, String body, String... headers) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(base + path))
            .timeout(TIMEOUT)
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      request.header("Content-Type", "application/json");
    }
    for (int i = 0; i < headers.length; i += 2) {
      request.header(headers[i], headers[i + 1]);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
