package io.flotilla.gateway;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import io.flotilla.core.Limits;
import io.flotilla.core.pki.Pem;
import io.flotilla.core.pki.PkiTestSupport;
import io.flotilla.gateway.testing.TestServers;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input on every endpoint of both ports, as a hostile client sends it: each request of an
 * endpoint table × mutation list must get a JSON 4xx (the registry's in its OCI error format)
 * within a bounded time, and none may change anything: the journal holds the same rows afterwards
 * and the lists read the same.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadInputTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration TIMEOUT = Duration.ofSeconds(15);
  private static final String FACTORY = "acme";
  private static final String DIGEST = "sha256:" + "ab".repeat(32);
  private static final String APP_URI = "hub.local/acme/shellhttpd@" + DIGEST;
  private static final Duration HEADER_TIMEOUT = Duration.ofSeconds(2);

  @TempDir static Path dataDir;

  private FlotillaServer server;
  private String admin;
  private String token;
  private String deviceUuid;
  private HttpClient api;
  private HttpClient deviceHttp;
  private SSLContext deviceTls;
  private String uploadPath;

  /**
   * One bad request: which port, what is sent, and why it is bad (printed when it is not answered
   * as it should).
   */
  record Case(
      boolean devicePort,
      String method,
      String path,
      Map<String, String> headers,
      byte[] body,
      String why) {}

  @BeforeAll
  void start() throws Exception {
    server =
        FlotillaServer.start(
            TestServers.config(
                dataDir,
                ConfigFactory.parseMap(
                    Map.of(
                        "flotilla.pki.server-sans", List.of("localhost", "127.0.0.1"),
                        "flotilla.http.header-timeout", HEADER_TIMEOUT.toMillis() + "ms",
                        "flotilla.device.header-timeout", HEADER_TIMEOUT.toMillis() + "ms"))));
    admin = server.adminToken().value();
    api =
        HttpClient.newBuilder()
            .connectTimeout(TIMEOUT)
            .version(HttpClient.Version.HTTP_1_1)
            .build();
    assertStatus(
        201,
        apiCall(
            "POST",
            "/api/v1/factories",
            admin,
            "{\"name\":\"acme\",\"platforms\":[\"amd64-linux\"]}"));
    HttpResponse<String> created =
        apiCall(
            "POST",
            "/api/v1/factories/acme/tokens",
            admin,
            "{\"description\":\"all\",\"scopes\":[\"admin\"]}");
    assertStatus(201, created);
    token = JSON.readTree(created.body()).get("token").asText();
    assertStatus(
        201,
        apiCall(
            "POST",
            "/api/v1/factories/acme/targets",
            token,
            "{\"tags\":[\"main\"],\"containersSha\":\"0123abcd\",\"apps\":{\"shellhttpd\":\""
                + APP_URI
                + "\"}}"));
    registerDevice();
    HttpResponse<String> upload =
        api.send(
            HttpRequest.newBuilder(URI.create(apiBase() + "/v2/acme/app/blobs/uploads/"))
                .timeout(TIMEOUT)
                .header(
                    "Authorization", "Bearer " + registryBearer("repository:acme/app:push,pull"))
                .POST(HttpRequest.BodyPublishers.noBody())
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertStatus(202, upload);
    uploadPath = upload.headers().firstValue("Location").orElseThrow();
  }

  @AfterAll
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  private void registerDevice() throws Exception {
    KeyPair key = PkiTestSupport.deviceKey();
    deviceUuid = UUID.randomUUID().toString();
    ObjectNode body = JSON.createObjectNode();
    body.put("name", "dev-1");
    body.put("uuid", deviceUuid);
    body.put("hardware-id", "amd64-linux");
    body.put("csr", PkiTestSupport.csr(key, "CN=" + deviceUuid + ",OU=" + FACTORY));
    body.put("group", "lab");
    HttpResponse<String> answer = apiCall("POST", "/ota/devices/", token, body.toString());
    assertStatus(201, answer);
    JsonNode files = JSON.readTree(answer.body());
    deviceTls = tls(key, files.get("root.crt").asText(), files.get("client.pem").asText());
    deviceHttp =
        HttpClient.newBuilder()
            .sslContext(deviceTls)
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(TIMEOUT)
            .build();
    HttpResponse<String> first =
        deviceHttp.send(
            HttpRequest.newBuilder(URI.create(deviceBase() + "/device"))
                .timeout(TIMEOUT)
                .header("x-ats-tags", "main")
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertStatus(200, first);
  }

  private static SSLContext tls(KeyPair key, String rootPem, String clientPem) throws Exception {
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

  private String apiBase() {
    return "http://127.0.0.1:" + server.httpPort();
  }

  private String deviceBase() {
    return "https://127.0.0.1:" + server.devicePort();
  }

  private HttpResponse<String> apiCall(String method, String path, String bearer, String body)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(apiBase() + path))
            .timeout(TIMEOUT)
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (bearer != null) {
      request.header("Authorization", "Bearer " + bearer);
    }
    if (body != null) {
      request.header("Content-Type", "application/json");
    }
    return api.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private String registryBearer(String scope) throws Exception {
    String basic =
        Base64.getEncoder().encodeToString(("ci:" + token).getBytes(StandardCharsets.UTF_8));
    HttpResponse<String> answer =
        api.send(
            HttpRequest.newBuilder(
                    URI.create(
                        apiBase()
                            + "/v2/token?service=flotilla&scope="
                            + java.net.URLEncoder.encode(scope, StandardCharsets.UTF_8)))
                .timeout(TIMEOUT)
                .header("Authorization", "Basic " + basic)
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertStatus(200, answer);
    return JSON.readTree(answer.body()).get("token").asText();
  }

  private static void assertStatus(int expected, HttpResponse<String> answer) {
    assertEquals(
        expected,
        answer.statusCode(),
        answer.request().method() + " " + answer.request().uri() + ": " + answer.body());
  }

  // ---------------------------------------------------------------------------------------------------------------
  // The case table

  /** A JSON endpoint: a valid body, and for each field the values that make it invalid. */
  private record JsonEndpoint(
      boolean devicePort,
      String method,
      String path,
      boolean admin,
      String template,
      Map<String, List<String>> badFields) {}

  private static String q(String s) {
    try {
      return JSON.writeValueAsString(s);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String list(List<String> items) {
    return items.stream().map(BadInputTest::q).collect(Collectors.joining(",", "[", "]"));
  }

  /** Wrong types and shapes that no field takes. */
  private static final List<String> NOT_A_STRING = List.of("[]", "{}", "[null]", "{\"a\":1}");

  private static final List<String> NOT_A_LIST =
      List.of("\"x\"", "42", "{}", "[null]", "[[]]", "[{}]", "[\"ok\",null]", "true");
  private static final List<String> NOT_A_MAP =
      List.of("\"x\"", "42", "[]", "[null]", "{\"a\":null}", "{\"a\":[]}", "{\"a\":{}}");

  /** Strings that no name, tag, platform, group or hardware id may be. */
  private static List<String> badNames(boolean emptyAllowed) {
    List<String> values = new ArrayList<>(NOT_A_STRING);
    values.addAll(
        List.of(
            q(" "),
            q("x y"),
            q("a\u0000b"),
            q("tab\there"),
            q("\u00e4"),
            q("../etc"),
            q("-lead"),
            q("x".repeat(300)),
            q("x".repeat(100_000)),
            q("\u202e"),
            q("a\nb")));
    if (!emptyAllowed) {
      values.add(q(""));
    }
    return values;
  }

  private static List<String> badNameLists(int max) {
    List<String> values = new ArrayList<>(NOT_A_LIST);
    values.addAll(
        List.of(
            list(List.of("x y")),
            list(List.of("x".repeat(300))),
            list(List.of("a\u0000")),
            list(List.of("")),
            list(IntStream.rangeClosed(0, max).mapToObj(i -> "p" + i).toList()),
            list(IntStream.range(0, 10_000).mapToObj(i -> "p" + i).toList())));
    return values;
  }

  private static List<String> badText() {
    List<String> values = new ArrayList<>(NOT_A_STRING);
    values.addAll(
        List.of(
            q("x".repeat(Limits.TEXT + 1)),
            q("nul\u0000"),
            q("\u001b[31mred"),
            q("bell\u0007"),
            q("x".repeat(200_000))));
    return values;
  }

  private static List<String> badFiles() {
    List<String> values = new ArrayList<>(NOT_A_LIST);
    values.addAll(
        List.of(
            "[{}]",
            "[{\"name\":\"bad name\",\"value\":\"v\"}]",
            "[{\"name\":\"f\"}]",
            "[{\"name\":\"f\",\"value\":{}}]",
            "[{\"name\":\"f\",\"value\":[]}]",
            "[{\"name\":\"f\",\"value\":\"v\",\"on-changed\":\"x\"}]",
            "[{\"name\":\"f\",\"value\":\"v\",\"on-changed\":[null]}]",
            "[{\"name\":\"f\",\"value\":\"v\",\"on-changed\":"
                + list(Collections.nCopies(Limits.ON_CHANGED_ARGS + 1, "a"))
                + "}]",
            "[{\"name\":\"f\",\"value\":\"v\",\"on-changed\":["
                + q("x".repeat(Limits.ON_CHANGED_ARG + 1))
                + "]}]",
            "[{\"name\":\"f\",\"value\":\"v\",\"on-changed\":[\"a\\u0000\"]}]",
            "[{\"name\":\"f\",\"value\":\"v\"},{\"name\":\"f\",\"value\":\"w\"}]",
            "[{\"name\":" + q("x".repeat(300)) + ",\"value\":\"v\"}]",
            "[{\"name\":\"f\",\"value\":\"v\",\"unencrypted\":{}}]",
            IntStream.rangeClosed(0, Limits.CONFIG_FILES)
                .mapToObj(i -> "{\"name\":\"f" + i + "\",\"value\":\"v\"}")
                .collect(Collectors.joining(",", "[", "]"))));
    return values;
  }

  private List<JsonEndpoint> jsonEndpoints() {
    String files =
        "[{\"name\":\"f\",\"value\":\"v\",\"unencrypted\":true,\"on-changed\":[\"/bin/true\"]}]";
    String config = "{\"reason\":\"r\",\"files\":" + files + "}";
    Map<String, List<String>> configFields = new LinkedHashMap<>();
    configFields.put("reason", badText());
    configFields.put("files", badFiles());
    List<JsonEndpoint> endpoints = new ArrayList<>();

    Map<String, List<String>> factoryFields = new LinkedHashMap<>();
    factoryFields.put("name", badNames(false));
    factoryFields.put("platforms", badNameLists(Limits.PLATFORMS));
    endpoints.add(
        new JsonEndpoint(
            false,
            "POST",
            "/api/v1/factories",
            true,
            "{\"name\":\"globex\",\"platforms\":[\"amd64-linux\"]}",
            factoryFields));

    Map<String, List<String>> tokenFields = new LinkedHashMap<>();
    tokenFields.put("description", badText());
    List<String> badScopes = new ArrayList<>(NOT_A_LIST);
    badScopes.addAll(
        List.of(
            "[]",
            list(List.of("admin", "admin")),
            list(List.of("root")),
            list(List.of("ADMIN")),
            list(Collections.nCopies(10_000, "admin")),
            list(List.of("targets:read", "admin\u0000"))));
    tokenFields.put("scopes", badScopes);
    endpoints.add(
        new JsonEndpoint(
            false,
            "POST",
            "/api/v1/factories/acme/tokens",
            false,
            "{\"description\":\"d\",\"scopes\":[\"targets:read\"]}",
            tokenFields));

    endpoints.add(
        new JsonEndpoint(
            false,
            "PUT",
            "/api/v1/factories/acme/branches/feature",
            false,
            "{\"tag\":\"feature\"}",
            Map.of("tag", badNames(false))));

    Map<String, List<String>> targetFields = new LinkedHashMap<>();
    targetFields.put("hardwareIds", badNameLists(Limits.PLATFORMS));
    targetFields.put(
        "version",
        List.of(
            "\"x\"",
            "0",
            "-1",
            "9223372036854775807",
            "2147483648",
            "99999999999999999999",
            "1e400",
            "[]",
            "{}",
            "-9223372036854775808"));
    List<String> badTags = badNameLists(Limits.TARGET_TAGS);
    badTags.add("[]");
    targetFields.put("tags", badTags);
    List<String> badApps = new ArrayList<>(NOT_A_MAP);
    badApps.addAll(
        List.of(
            "{\"shellhttpd\":\"not a uri\"}",
            "{\"Bad Name\":\"" + APP_URI + "\"}",
            "{" + q("x".repeat(300)) + ":\"" + APP_URI + "\"}",
            "{\"shellhttpd\":" + q("h".repeat(300) + "/acme/shellhttpd@" + DIGEST) + "}",
            "{\"shellhttpd\":\"hub.local/globex/shellhttpd@" + DIGEST + "\"}",
            "{\"other\":\"" + APP_URI + "\"}",
            "{\"shellhttpd\":\"hub.local/acme/shellhttpd@sha256:zz\"}",
            IntStream.rangeClosed(0, Limits.TARGET_APPS)
                .mapToObj(i -> "\"a" + i + "\":\"hub.local/acme/a" + i + "@" + DIGEST + "\"")
                .collect(Collectors.joining(",", "{", "}"))));
    targetFields.put("apps", badApps);
    targetFields.put(
        "containersSha",
        List.of("[]", "{}", "\"xyz\"", q("a".repeat(65)), "\"\"", q("0123abc\u0000")));
    endpoints.add(
        new JsonEndpoint(
            false,
            "POST",
            "/api/v1/factories/acme/targets",
            false,
            "{\"hardwareIds\":[\"amd64-linux\"],\"version\":500,\"tags\":[\"main\"],\"apps\":{\"shellhttpd\":\""
                + APP_URI
                + "\"},\"containersSha\":\"0123abcd\"}",
            targetFields));
    endpoints.add(
        new JsonEndpoint(
            false,
            "PATCH",
            "/api/v1/factories/acme/targets/amd64-linux-1",
            false,
            "{\"tags\":[\"main\",\"qa\"]}",
            Map.of("tags", badTags)));

    Map<String, List<String>> deviceFields = new LinkedHashMap<>();
    List<String> badDeviceNames = new ArrayList<>(NOT_A_STRING);
    badDeviceNames.addAll(
        List.of(
            q(""),
            q("a\u0000"),
            q("x".repeat(256)),
            q("\ud83d\ude00".repeat(200)),
            q("bell\u0007")));
    deviceFields.put("name", badDeviceNames);
    deviceFields.put("group", badNames(true));
    deviceFields.put("tag", badNames(false));
    List<String> badLabels = new ArrayList<>(NOT_A_MAP);
    badLabels.addAll(
        List.of(
            "{\"a b\":\"v\"}",
            "{\"k\":\"v v\"}",
            "{\"\":\"v\"}",
            "{\"k\":" + q("x".repeat(200)) + "}",
            "{" + q("k".repeat(100)) + ":\"v\"}",
            "{\"k\":\"a\\u0000\"}",
            "{\"k\\u001b\":\"v\"}",
            IntStream.rangeClosed(0, Limits.DEVICE_LABELS)
                .mapToObj(i -> "\"k" + i + "\":\"v\"")
                .collect(Collectors.joining(",", "{", "}"))));
    deviceFields.put("labels", badLabels);
    endpoints.add(
        new JsonEndpoint(
            false,
            "PATCH",
            "/api/v1/factories/acme/devices/" + deviceUuid,
            false,
            "{\"name\":\"renamed\",\"group\":\"lab2\",\"tag\":\"qa\"}",
            deviceFields));
    endpoints.add(
        new JsonEndpoint(
            false,
            "PUT",
            "/api/v1/factories/acme/devices/" + deviceUuid + "/config",
            false,
            config,
            configFields));
    endpoints.add(
        new JsonEndpoint(
            false,
            "PUT",
            "/api/v1/factories/acme/device-groups/lab/config",
            false,
            config,
            configFields));
    endpoints.add(
        new JsonEndpoint(
            false, "PUT", "/api/v1/factories/acme/config", false, config, configFields));

    Map<String, List<String>> registrationFields = new LinkedHashMap<>();
    registrationFields.put("uuid", badNames(false));
    registrationFields.put(
        "name",
        badDeviceNames.subList(0, badDeviceNames.size() - 1).stream()
            .filter(v -> !v.equals(q("")))
            .toList());
    registrationFields.put("hardware-id", badNames(false));
    registrationFields.put(
        "csr",
        List.of(
            "[]",
            "{}",
            "\"\"",
            "\"garbage\"",
            q("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"),
            q("x".repeat(300_000))));
    registrationFields.put("group", badNames(false));
    registrationFields.put(
        "overrides",
        List.of(
            "[]",
            "\"x\"",
            "{\"pacman\":null}",
            "{\"pacman\":[]}",
            "{\"pacman\":{\"tags\":null}}",
            "{\"pacman\":{\"tags\":\"\\\"bad tag\\\"\"}}",
            "{\"pacman\":{\"tags\":{}}}"));
    String registrationUuid = UUID.randomUUID().toString();
    ObjectNode registration = JSON.createObjectNode();
    registration.put("name", "dev-2");
    registration.put("uuid", registrationUuid);
    registration.put("hardware-id", "amd64-linux");
    registration.put(
        "csr",
        PkiTestSupport.csr(
            PkiTestSupport.deviceKey(), "CN=" + registrationUuid + ",OU=" + FACTORY));
    registration.put("group", "lab");
    registration.putObject("overrides").putObject("pacman").put("tags", "\"main\"");
    endpoints.add(
        new JsonEndpoint(
            false, "POST", "/ota/devices/", false, registration.toString(), registrationFields));
    endpoints.add(
        new JsonEndpoint(
            false,
            "POST",
            "/api/v1/factories/acme/device-authorizations/BBBB-BBBB",
            false,
            "{\"approved\":true}",
            Map.of("approved", List.of("\"yes\"", "[]", "{}", "\"\""))));

    Map<String, List<String>> rebuildFields = new LinkedHashMap<>();
    rebuildFields.put(
        "commit",
        List.of(
            "[]",
            "{}",
            "\"\"",
            "\"xyz\"",
            q("a".repeat(39)),
            q("A".repeat(40)),
            q("a".repeat(100_000))));
    rebuildFields.put("branch", badNames(false));
    endpoints.add(
        new JsonEndpoint(
            false,
            "POST",
            "/api/v1/factories/acme/builds",
            false,
            "{\"commit\":\"" + "a".repeat(40) + "\",\"branch\":\"main\",\"tag\":\"main\"}",
            rebuildFields));

    endpoints.add(rolloutEndpoint());

    endpoints.add(new JsonEndpoint(true, "PATCH", "/config", false, config, configFields));
    Map<String, List<String>> appsStatesFields = new LinkedHashMap<>();
    appsStatesFields.put(
        "deviceTime",
        List.of(
            "[]",
            "{}",
            "\"\"",
            "\"yesterday\"",
            "42",
            q("x".repeat(100_000)),
            "\"2026-13-45T99:99:99Z\"",
            "null"));
    appsStatesFields.put("apps", List.of("[]", "\"x\"", "42", "true"));
    endpoints.add(
        new JsonEndpoint(
            true,
            "POST",
            "/apps-states",
            false,
            "{\"deviceTime\":\"2026-12-06T01:00:00Z\",\"apps\":{}}",
            appsStatesFields));
    endpoints.add(
        new JsonEndpoint(
            true, "PUT", "/system_info/network", false, "{\"local_ipv4\":\"10.0.0.2\"}", Map.of()));
    endpoints.add(
        new JsonEndpoint(true, "PUT", "/system_info", false, "{\"id\":\"lshw\"}", Map.of()));
    endpoints.add(new JsonEndpoint(true, "POST", "/events", false, "[]", Map.of()));
    return endpoints;
  }

  /** A rollout's create body: each field wrong, and a misspelt field (a default taken silently). */
  private static JsonEndpoint rolloutEndpoint() {
    List<String> badNumbers =
        List.of(
            "\"1\"",
            "\"\"",
            "[]",
            "{}",
            "true",
            "-1",
            "0",
            "1e999",
            "99999999999999999999",
            "[0.5]");
    Map<String, List<String>> fields = new LinkedHashMap<>();
    List<String> badIds = new ArrayList<>(badNames(false));
    badIds.addAll(List.of("42", "true", q("UPPER"), q("x".repeat(64))));
    fields.put("id", badIds);
    fields.put("tag", badNames(false));
    fields.put(
        "version",
        List.of(
            "\"2\"",
            "2.5",
            "0",
            "-2",
            "99999999999",
            "99999999999999999999",
            "1e999",
            "[]",
            "{}",
            "true",
            "\"\""));
    List<String> badGrowth = new ArrayList<>(NOT_A_LIST);
    badGrowth.addAll(
        List.of(
            "[]",
            "[-5]",
            "[0]",
            "[101]",
            "[50,10]",
            "[10,10]",
            "[\"50\"]",
            "[1e999]",
            IntStream.rangeClosed(0, Limits.ROLLOUT_PHASES)
                .mapToObj(i -> String.valueOf(i + 1))
                .collect(Collectors.joining(",", "[", "]")),
            IntStream.range(0, 10_000)
                .mapToObj(i -> "1")
                .collect(Collectors.joining(",", "[", "]"))));
    fields.put("growth", badGrowth);
    fields.put(
        "phases",
        List.of(
            "[{}]",
            "[{\"percent\":5,\"group\":\"lab\"}]",
            "[{\"name\":\"a\\u0000\",\"percent\":5}]",
            "[{\"name\":" + q("x".repeat(300)) + ",\"percent\":5}]",
            "[{\"name\":\"a\",\"percent\":5},{\"name\":\"a\",\"percent\":10}]",
            "[{\"group\":\"bad group\"}]",
            "[{\"labels\":{}}]",
            "[{\"labels\":{\"k\":\"v v\"}}]",
            "[{\"labels\":[]}]",
            "[{\"uuids\":[]}]",
            "[{\"uuids\":[\"\\u0000\"]}]",
            "[{\"uuids\":" + list(Collections.nCopies(Limits.ROLLOUT_PHASE_UUIDS + 1, "u")) + "}]",
            "[{\"count\":0}]",
            "[{\"count\":-1}]",
            "[{\"count\":\"5\"}]",
            "[{\"count\":1.5}]",
            "[{\"percent\":5,\"successShare\":1.5}]",
            "[{\"percent\":5,\"successWithinSeconds\":-1}]",
            "[{\"percent\":5,\"successWithinSeconds\":99999999999}]",
            "[{\"percent\":5,\"colour\":\"blue\"}]"));
    fields.put("successShare", List.of("0", "-0.5", "1.01", "\"0.9\"", "[]", "1e999"));
    fields.put("successWithinSeconds", badNumbers);
    fields.put("errorCount", badNumbers);
    fields.put("errorShare", List.of("0", "-0.1", "2", "\"0.1\"", "{}", "1e999"));
    fields.put("rollback", List.of("\"true\"", "1", "0", "\"\"", "[]", "{}"));
    fields.put("errorshare", List.of("0.5", "\"x\"", "null"));
    return new JsonEndpoint(
        false,
        "POST",
        "/api/v1/factories/acme/rollouts",
        false,
        "{\"id\":\"r1\",\"tag\":\"rollout-tag\",\"version\":2,\"growth\":[1,10,100],"
            + "\"successShare\":0.9,\"successWithinSeconds\":600,\"errorCount\":5,"
            + "\"errorShare\":0.2,\"rollback\":true}",
        fields);
  }

  /**
   * Bodies that are not a request of any endpoint: not JSON, the wrong shape, nested too deep, not
   * UTF-8.
   */
  private static List<byte[]> badBodies(JsonEndpoint endpoint) {
    List<String> texts =
        new ArrayList<>(
            List.of(
                "null",
                "",
                " ",
                "{",
                "}",
                "{\"a\":",
                "{'a':1}",
                "{a:1}",
                "NaN",
                "42",
                "-0",
                "1e999999",
                "99999999999999999999999999999",
                "\"s\"",
                "true",
                "\u0000",
                "{\"a\":1,}",
                "[".repeat(10_000) + "]".repeat(10_000),
                "{\"a\":".repeat(5_000) + "1" + "}".repeat(5_000),
                "[".repeat(150) + "]".repeat(150),
                "/* comment */ {}",
                "\"" + "x".repeat(500_000) + "\""));
    boolean arrayEndpoint = endpoint.path().equals("/events");
    boolean anyJson = endpoint.path().equals("/system_info");
    if (arrayEndpoint) {
      texts.addAll(List.of("{}", "{\"id\":\"e\"}"));
    } else if (!anyJson) {
      texts.addAll(List.of("[]", "[null]", "[{}]", "[" + endpoint.template() + "]"));
    }
    if (anyJson) {
      texts.removeAll(
          List.of(
              "null",
              "42",
              "-0",
              "\"s\"",
              "true",
              "99999999999999999999999999999",
              "1e999999",
              "\"" + "x".repeat(500_000) + "\"",
              "[".repeat(150) + "]".repeat(150)));
    }
    List<byte[]> bodies = new ArrayList<>();
    texts.forEach(t -> bodies.add(t.getBytes(StandardCharsets.UTF_8)));
    bodies.add(new byte[] {(byte) 0xff, (byte) 0xfe, '{', '}'});
    bodies.add(("{\"name\":\"" + "\u00e4").getBytes(StandardCharsets.ISO_8859_1));
    bodies.add(new byte[] {'{', '"', 'a', '"', ':', '"', (byte) 0xc3, (byte) 0x28, '"', '}'});
    byte[] tooLarge = new byte[2 * 1024 * 1024 + 10];
    java.util.Arrays.fill(tooLarge, (byte) ' ');
    tooLarge[0] = '[';
    tooLarge[tooLarge.length - 1] = ']';
    bodies.add(tooLarge);
    return bodies;
  }

  private Map<String, String> auth(boolean devicePort, boolean admin) {
    Map<String, String> headers = new LinkedHashMap<>();
    if (!devicePort) {
      headers.put("Authorization", "Bearer " + (admin ? this.admin : token));
    }
    return headers;
  }

  private Map<String, String> json(Map<String, String> headers) {
    Map<String, String> with = new LinkedHashMap<>(headers);
    with.put("Content-Type", "application/json");
    return with;
  }

  private List<Case> cases() throws Exception {
    List<Case> cases = new ArrayList<>();
    for (JsonEndpoint endpoint : jsonEndpoints()) {
      Map<String, String> headers = json(auth(endpoint.devicePort(), endpoint.admin()));
      String name = endpoint.method() + " " + endpoint.path();
      for (byte[] body : badBodies(endpoint)) {
        cases.add(
            new Case(
                endpoint.devicePort(),
                endpoint.method(),
                endpoint.path(),
                headers,
                body,
                name + " body " + preview(body)));
      }
      ObjectNode template =
          endpoint.template().startsWith("{")
              ? (ObjectNode) JSON.readTree(endpoint.template())
              : null;
      for (Map.Entry<String, List<String>> field : endpoint.badFields().entrySet()) {
        for (String value : field.getValue()) {
          ObjectNode mutated = template.deepCopy();
          mutated.set(field.getKey(), JSON.readTree(value));
          cases.add(
              new Case(
                  endpoint.devicePort(),
                  endpoint.method(),
                  endpoint.path(),
                  headers,
                  bytes(mutated.toString()),
                  name + " " + field.getKey() + "=" + preview(bytes(value))));
        }
        if (!List.of(
                    "group",
                    "name",
                    "description",
                    "reason",
                    "containersSha",
                    "version",
                    "platforms",
                    "hardwareIds",
                    "apps",
                    "overrides",
                    "tag",
                    "hardware-id",
                    "labels",
                    "phases",
                    "successShare",
                    "successWithinSeconds",
                    "errorCount",
                    "errorShare",
                    "rollback",
                    "errorshare")
                .contains(field.getKey())
            || endpoint.path().equals("/api/v1/factories") && field.getKey().equals("name")) {
          ObjectNode missing = template.deepCopy();
          missing.remove(field.getKey());
          cases.add(
              new Case(
                  endpoint.devicePort(),
                  endpoint.method(),
                  endpoint.path(),
                  headers,
                  bytes(missing.toString()),
                  name + " without " + field.getKey()));
          ObjectNode nulled = template.deepCopy();
          nulled.putNull(field.getKey());
          cases.add(
              new Case(
                  endpoint.devicePort(),
                  endpoint.method(),
                  endpoint.path(),
                  headers,
                  bytes(nulled.toString()),
                  name + " " + field.getKey() + "=null"));
        }
      }
      if (!endpoint.devicePort() || endpoint.path().equals("/config")) {
        for (String type :
            List.of(
                "text/plain",
                "application/xml",
                "multipart/form-data; boundary=x",
                "application/x-www-form-urlencoded")) {
          Map<String, String> wrongType =
              new LinkedHashMap<>(auth(endpoint.devicePort(), endpoint.admin()));
          wrongType.put("Content-Type", type);
          cases.add(
              new Case(
                  endpoint.devicePort(),
                  endpoint.method(),
                  endpoint.path(),
                  wrongType,
                  bytes(endpoint.template()),
                  name + " as " + type));
        }
      }
    }
    cases.addAll(systemInfoConfigCases());
    cases.addAll(deviceAuthorizationCases());
    cases.addAll(headerCases());
    cases.addAll(pathAndQueryCases());
    cases.addAll(registryCases());
    cases.addAll(gitCases());
    return cases;
  }

  /** The device authorization grant's form endpoints: every refusal a 400 with an RFC error. */
  private List<Case> deviceAuthorizationCases() {
    String uuid = UUID.randomUUID().toString();
    String grant = "grant_type=urn:ietf:params:oauth:grant-type:device_code";
    String code = "&device_code=acme." + "0".repeat(64);
    List<String> authorizations =
        List.of(
            "",
            "client_id=" + uuid,
            "scope=acme:devices:create",
            "client_id=" + "x".repeat(100_000) + "&scope=acme:devices:create",
            "client_id=%00&scope=acme:devices:create",
            "client_id=%zz&scope=acme:devices:create",
            "client_id=" + uuid + "&scope=" + "x".repeat(100_000),
            "client_id=" + uuid + "&scope=no-such-factory:devices:create",
            "client_id=" + uuid + "&scope=acme:admin",
            "client_id=" + uuid + "&scope=ACME:devices:create",
            "client_id=" + uuid + "&client_id=" + uuid + "&scope=acme:devices:create",
            "\u0000\u00ff",
            "{\"client_id\":\"" + uuid + "\",\"scope\":\"acme:devices:create\"}");
    List<String> tokens =
        List.of(
            "",
            code + "&client_id=" + uuid,
            grant + "&client_id=" + uuid,
            grant + code,
            "grant_type=password" + code + "&client_id=" + uuid,
            grant + code + "&client_id=" + uuid,
            grant + "&device_code=" + "x".repeat(100_000) + "&client_id=" + uuid,
            grant + "&device_code=acme.%00&client_id=" + uuid,
            grant + code + "&client_id=" + "x".repeat(100_000),
            grant + code + "&client_id=" + uuid + "&scope=globex:devices:create",
            grant + code + code + "&client_id=" + uuid,
            grant + "&device_code=no-such-factory." + "0".repeat(64) + "&client_id=" + uuid);
    Map<String, String> form = Map.of("Content-Type", "application/x-www-form-urlencoded");
    List<Case> cases = new ArrayList<>();
    for (String body : authorizations) {
      cases.add(
          new Case(
              false,
              "POST",
              "/oauth/authorization/device/",
              form,
              bytes(body),
              "POST /oauth/authorization/device/ " + preview(bytes(body))));
    }
    for (String body : tokens) {
      cases.add(
          new Case(
              false,
              "POST",
              "/oauth/token/",
              form,
              bytes(body),
              "POST /oauth/token/ " + preview(bytes(body))));
    }
    return cases;
  }

  private List<Case> systemInfoConfigCases() {
    List<Case> cases = new ArrayList<>();
    for (String text : List.of("a\u0000b", "\u0000", "[sota]\n\u0000")) {
      cases.add(
          new Case(
              true,
              "PUT",
              "/system_info/config",
              Map.of("Content-Type", "text/plain"),
              bytes(text),
              "config report with NUL"));
    }
    return cases;
  }

  /**
   * Device headers, and credentials that are not credentials, on every device-port and API route.
   */
  private List<Case> headerCases() {
    List<Case> cases = new ArrayList<>();
    List<String[]> deviceGets =
        List.of(
            new String[] {"GET", "/device"},
            new String[] {"GET", "/repo/targets.json"},
            new String[] {"GET", "/repo/timestamp.json"},
            new String[] {"GET", "/repo/snapshot.json"},
            new String[] {"GET", "/repo/root.json"},
            new String[] {"GET", "/repo/1.root.json"},
            new String[] {"GET", "/config"},
            new String[] {"GET", "/hub-creds/"},
            new String[] {"POST", "/events"},
            new String[] {"POST", "/apps-states"},
            new String[] {"PUT", "/system_info"},
            new String[] {"PATCH", "/config"});
    List<String[]> badDeviceHeaders = new ArrayList<>();
    for (String tags :
        List.of(
            ",,,",
            "bad tag",
            "x".repeat(300),
            ",bad tag",
            "\u00e4",
            "../..",
            "-lead",
            ", ,\t,x y")) {
      badDeviceHeaders.add(new String[] {"x-ats-tags", tags});
    }
    badDeviceHeaders.add(new String[] {"x-ats-target", "t".repeat(Limits.TARGET_NAME + 1)});
    badDeviceHeaders.add(new String[] {"x-ats-dockerapps", "bad app"});
    badDeviceHeaders.add(new String[] {"x-ats-dockerapps", "a," + "x".repeat(65)});
    badDeviceHeaders.add(
        new String[] {
          "x-ats-dockerapps", String.join(",", Collections.nCopies(Limits.DEVICE_APPS + 1, "app"))
        });
    badDeviceHeaders.add(new String[] {"x-ats-dockerapps", "ok,\u00e4"});
    for (String[] route : deviceGets) {
      for (String[] header : badDeviceHeaders) {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put(header[0], header[1]);
        byte[] body =
            route[0].equals("GET") ? null : bytes(route[1].equals("/events") ? "[]" : "{}");
        if (body != null) {
          headers.put("Content-Type", "application/json");
        }
        cases.add(
            new Case(
                true,
                route[0],
                route[1],
                headers,
                body,
                route[0]
                    + " "
                    + route[1]
                    + " with "
                    + header[0]
                    + ": "
                    + Limits.shortened(header[1])));
      }
    }
    List<String> badCredentials =
        List.of(
            "",
            "Bearer",
            "Bearer ",
            "Bearer x",
            "Bearer " + "x".repeat(6000),
            "Basic !!!",
            "Basic " + base64("no-colon"),
            "Bearer a.b.c",
            "Token abc",
            "Bearer " + token + "x");
    List<String[]> apiRoutes =
        List.of(
            new String[] {"GET", "/api/v1/factories"},
            new String[] {"POST", "/api/v1/factories"},
            new String[] {"GET", "/api/v1/factories/acme"},
            new String[] {"GET", "/api/v1/factories/acme/tokens"},
            new String[] {"POST", "/api/v1/factories/acme/tokens"},
            new String[] {"GET", "/api/v1/factories/acme/targets"},
            new String[] {"POST", "/api/v1/factories/acme/targets"},
            new String[] {"GET", "/api/v1/factories/acme/devices"},
            new String[] {"PUT", "/api/v1/factories/acme/config"},
            new String[] {"POST", "/ota/devices/"},
            new String[] {"GET", "/api/v1/factories/acme/device-authorizations"},
            new String[] {"POST", "/api/v1/factories/acme/device-authorizations/BBBB-BBBB"},
            new String[] {"GET", "/api/v1/journal/Factory/acme"},
            new String[] {"GET", "/api/v1/factories/acme/apps"},
            new String[] {"GET", "/api/v1/factories/acme/builds"},
            new String[] {"GET", "/api/v1/factories/acme/rollouts"},
            new String[] {"POST", "/api/v1/factories/acme/rollouts"},
            new String[] {"POST", "/api/v1/factories/acme/rollouts/no-such/cancel"});
    for (String[] route : apiRoutes) {
      for (String credentials : badCredentials) {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Authorization", credentials);
        byte[] body = route[0].equals("GET") ? null : bytes("{}");
        if (body != null) {
          headers.put("Content-Type", "application/json");
        }
        cases.add(
            new Case(
                false,
                route[0],
                route[1],
                headers,
                body,
                route[0]
                    + " "
                    + route[1]
                    + " with Authorization "
                    + Limits.shortened(credentials)));
      }
    }
    return cases;
  }

  private List<Case> pathAndQueryCases() {
    List<Case> cases = new ArrayList<>();
    Map<String, String> auth = auth(false, false);
    Map<String, String> adminAuth = auth(false, true);
    List<String> apiGets =
        List.of(
            "/api/v1/factories/ACME",
            "/api/v1/factories/a",
            "/api/v1/factories/" + "x".repeat(1500),
            "/api/v1/factories/acme%00",
            "/api/v1/factories/acme%ff",
            "/api/v1/factories/..%2f..%2fetc",
            "/api/v1/factories/acme/targets/" + "x".repeat(1500),
            "/api/v1/factories/acme/targets?tag=" + "x".repeat(1500),
            "/api/v1/factories/acme/targets?tag=%00",
            "/api/v1/factories/acme/devices?limit=abc",
            "/api/v1/factories/acme/devices?limit=-1",
            "/api/v1/factories/acme/devices?limit=0",
            "/api/v1/factories/acme/devices?limit=99999999999999999999",
            "/api/v1/factories/acme/devices?online=maybe",
            "/api/v1/factories/acme/devices?updating=1",
            "/api/v1/factories/acme/devices?cursor=%00%ff",
            "/api/v1/factories/acme/devices?cursor=" + "x".repeat(1500),
            "/api/v1/factories/acme/devices/" + "x".repeat(1500),
            "/api/v1/factories/acme/devices/%00",
            "/api/v1/factories/acme/devices/no-such-device",
            "/api/v1/factories/acme/devices/no-such-device/updates/" + "c".repeat(200),
            "/api/v1/factories/acme/devices/" + deviceUuid + "/updates/%00",
            "/api/v1/factories/acme/devices/" + deviceUuid + "/updates/" + "c".repeat(1500),
            "/api/v1/factories/acme/devices/no-such-device/system-info",
            "/api/v1/factories/acme/devices/no-such-device/config",
            "/api/v1/factories/acme/apps/" + "x".repeat(1500),
            "/api/v1/factories/acme/apps/%00",
            "/api/v1/factories/acme/apps/no-such-app",
            "/api/v1/factories/acme/builds?limit=abc",
            "/api/v1/factories/acme/builds?limit=0",
            "/api/v1/factories/acme/builds?limit=99999999999999999999",
            "/api/v1/factories/acme/builds/abc",
            "/api/v1/factories/acme/builds/0",
            "/api/v1/factories/acme/builds/-1",
            "/api/v1/factories/acme/builds/99999999999999999999",
            "/api/v1/factories/acme/builds/999999",
            "/api/v1/factories/acme/builds/999999/log",
            "/api/v1/factories/acme/device-authorizations/" + "x".repeat(1500),
            "/api/v1/factories/acme/device-authorizations/%00",
            "/api/v1/factories/ACME/device-authorizations",
            "/api/v1/factories/acme/rollouts?limit=abc",
            "/api/v1/factories/acme/rollouts?limit=0",
            "/api/v1/factories/acme/rollouts?limit=-1",
            "/api/v1/factories/acme/rollouts?limit=1001",
            "/api/v1/factories/acme/rollouts?limit=99999999999999999999",
            "/api/v1/factories/acme/rollouts?cursor=%00",
            "/api/v1/factories/acme/rollouts?cursor=Bad%20Id",
            "/api/v1/factories/acme/rollouts?cursor=" + "x".repeat(1500),
            "/api/v1/factories/acme/rollouts/" + "x".repeat(1500),
            "/api/v1/factories/acme/rollouts/%00",
            "/api/v1/factories/acme/rollouts/UPPER",
            "/api/v1/factories/acme/rollouts/no-such",
            "/api/v1/factories/acme/rollouts/no-such/events",
            "/api/v1/factories/acme/rollouts/%00/events",
            "/api/v1/journal/Rollout/acme/no-such",
            "/api/v1/nothing-here",
            "/api/v2/factories",
            "/api//v1//factories",
            "/api/v1/factories/acme/nothing",
            "/health/nothing");
    for (String path : apiGets) {
      cases.add(new Case(false, "GET", path, auth, null, "GET " + Limits.shortened(path)));
      cases.add(
          new Case(false, "GET", path, adminAuth, null, "GET as admin " + Limits.shortened(path)));
    }
    List<String> journal =
        List.of(
            "/api/v1/journal/Nothing/acme",
            "/api/v1/journal/Factory/acme?from=abc",
            "/api/v1/journal/Factory/acme?from=-1",
            "/api/v1/journal/Factory/acme?from=99999999999999999999",
            "/api/v1/journal/Factory/" + "x".repeat(1500),
            "/api/v1/journal/Device/%00",
            "/api/v1/journal/Factory/");
    for (String path : journal) {
      cases.add(new Case(false, "GET", path, adminAuth, null, "GET " + Limits.shortened(path)));
    }
    for (String method : List.of("DELETE", "PUT", "PATCH", "OPTIONS", "TRACE", "FOO")) {
      for (String path :
          List.of(
              "/api/v1/factories",
              "/api/v1/factories/acme",
              "/api/v1/factories/acme/targets",
              "/api/v1/factories/acme/rollouts",
              "/ota/devices/",
              "/oauth/token/",
              "/oauth/authorization/device/",
              "/health/ready")) {
        cases.add(new Case(false, method, path, adminAuth, null, method + " " + path));
      }
    }
    for (String action : List.of("pause", "resume", "cancel")) {
      for (String id : List.of("no-such", "x".repeat(1500), "%00", "UPPER", "a%2fb")) {
        cases.add(
            new Case(
                false,
                "POST",
                "/api/v1/factories/acme/rollouts/" + id + "/" + action,
                auth,
                null,
                action + " rollout " + Limits.shortened(id)));
      }
    }
    cases.add(
        new Case(
            false,
            "DELETE",
            "/api/v1/factories/acme/tokens/" + "x".repeat(1500),
            auth,
            null,
            "DELETE a huge token id"));
    cases.add(
        new Case(
            false,
            "DELETE",
            "/api/v1/factories/acme/tokens/no-such-token",
            auth,
            null,
            "DELETE an unknown token id"));
    cases.add(
        new Case(
            false,
            "POST",
            "/api/v1/factories/acme/builds/abc/cancel",
            auth,
            null,
            "cancel a build that is no number"));
    cases.add(
        new Case(
            false,
            "POST",
            "/api/v1/factories/acme/builds/999999/cancel",
            auth,
            null,
            "cancel a build that does not exist"));
    cases.add(
        new Case(
            false,
            "PATCH",
            "/api/v1/factories/acme/targets/no-such-target",
            json(auth),
            bytes("{\"tags\":[\"main\"]}"),
            "re-tag an unknown target"));
    cases.add(
        new Case(
            false,
            "PUT",
            "/api/v1/factories/acme/branches/" + "x".repeat(300),
            json(auth),
            bytes("{\"tag\":\"t\"}"),
            "a branch name over the bound"));
    cases.add(
        new Case(
            false,
            "PUT",
            "/api/v1/factories/acme/branches/bad%20branch",
            json(auth),
            bytes("{\"tag\":\"t\"}"),
            "a branch name with a space"));
    cases.add(
        new Case(
            false,
            "PUT",
            "/api/v1/factories/acme/device-groups/bad%20group/config",
            json(auth),
            bytes("{\"files\":[]}"),
            "a group name with a space"));
    cases.add(
        new Case(
            false,
            "PUT",
            "/api/v1/factories/acme/device-groups/" + "g".repeat(300) + "/config",
            json(auth),
            bytes("{\"files\":[]}"),
            "a group name over the bound"));
    cases.add(
        new Case(
            false,
            "PATCH",
            "/api/v1/factories/acme/devices/no-such-device",
            json(auth),
            bytes("{\"name\":\"n\"}"),
            "rename an unknown device"));
    cases.add(
        new Case(
            false,
            "PUT",
            "/api/v1/factories/acme/devices/no-such-device/config",
            json(auth),
            bytes("{\"files\":[]}"),
            "configure an unknown device"));
    cases.add(
        new Case(
            false,
            "DELETE",
            "/api/v1/factories/acme/devices/no-such-device",
            auth,
            null,
            "decommission an unknown device"));
    for (String path :
        List.of(
            "/nothing",
            "/repo/",
            "/repo/nothing.json",
            "/repo/0.root.json",
            "/repo/99.root.json",
            "/repo/1234567890.root.json",
            "/repo/-1.root.json",
            "/repo/targets.json/x",
            "/events/x",
            "/system_info/nothing",
            "/device/%00",
            "/" + "x".repeat(1500),
            "/config/x",
            "/hub-creds/x",
            "/ws/x")) {
      cases.add(
          new Case(
              true,
              "GET",
              path,
              Map.of("x-ats-tags", "main"),
              null,
              "device GET " + Limits.shortened(path)));
    }
    for (String method : List.of("DELETE", "PUT", "POST", "OPTIONS", "FOO")) {
      for (String path : List.of("/device", "/repo/targets.json", "/hub-creds/")) {
        cases.add(new Case(true, method, path, Map.of(), null, "device " + method + " " + path));
      }
    }
    return cases;
  }

  private List<Case> registryCases() throws Exception {
    List<Case> cases = new ArrayList<>();
    Map<String, String> push = new LinkedHashMap<>();
    push.put("Authorization", "Bearer " + registryBearer("repository:acme/app:push,pull"));
    List<String> badDigests =
        List.of(
            "sha256:xyz",
            "sha256:" + "a".repeat(63),
            "sha256:" + "a".repeat(65),
            "sha256:" + "A".repeat(64),
            "md5:" + "a".repeat(32),
            "sha256",
            "sha256:",
            ":" + "a".repeat(64),
            "sha512:" + "a".repeat(10),
            "sha256:" + "a".repeat(1500),
            "%00",
            "sha256:%00" + "a".repeat(62));
    for (String digest : badDigests) {
      cases.add(
          new Case(
              false,
              "GET",
              "/v2/acme/app/blobs/" + digest,
              push,
              null,
              "blob GET " + Limits.shortened(digest)));
      cases.add(
          new Case(
              false,
              "DELETE",
              "/v2/acme/app/blobs/" + digest,
              push,
              null,
              "blob DELETE " + Limits.shortened(digest)));
      cases.add(
          new Case(
              false,
              "GET",
              "/v2/acme/app/manifests/" + digest,
              push,
              null,
              "manifest GET " + Limits.shortened(digest)));
      cases.add(
          new Case(
              false,
              "POST",
              "/v2/acme/app/blobs/uploads/?digest=" + digest,
              withType(push, "application/octet-stream"),
              bytes("bytes"),
              "monolithic upload to " + Limits.shortened(digest)));
      cases.add(
          new Case(
              false,
              "POST",
              "/v2/acme/app/blobs/uploads/?mount=" + digest + "&from=acme/other",
              push,
              null,
              "mount of " + Limits.shortened(digest)));
    }
    for (String reference :
        List.of("bad%20ref", "-lead", "x".repeat(200), "%00", ".", "a:b", "latest/../x")) {
      cases.add(
          new Case(
              false,
              "GET",
              "/v2/acme/app/manifests/" + reference,
              push,
              null,
              "manifest GET of " + Limits.shortened(reference)));
      cases.add(
          new Case(
              false,
              "PUT",
              "/v2/acme/app/manifests/" + reference,
              withType(push, "application/vnd.oci.image.manifest.v1+json"),
              bytes("{}"),
              "manifest PUT to " + Limits.shortened(reference)));
    }
    for (String repository :
        List.of(
            "ACME/app",
            "acme/App",
            "acme/a..b",
            "acme/" + "x".repeat(300),
            "acme/-x",
            "%00/app",
            "acme/app/" + "x".repeat(10) + "%00")) {
      cases.add(
          new Case(
              false,
              "GET",
              "/v2/" + repository + "/tags/list",
              push,
              null,
              "tags of " + Limits.shortened(repository)));
    }
    List<String> badManifests =
        new ArrayList<>(
            List.of(
                "null",
                "",
                "[]",
                "{}",
                "42",
                "{",
                "{\"schemaVersion\":2}",
                "{\"schemaVersion\":\"2\",\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"}",
                "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":null,\"layers\":[]}",
                "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"x\",\"digest\":\"sha256:xyz\",\"size\":1},\"layers\":[]}",
                "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"x\",\"digest\":\""
                    + DIGEST
                    + "\",\"size\":-1},\"layers\":[null]}",
                "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"x\",\"digest\":\""
                    + DIGEST
                    + "\",\"size\":99999999999999999999},\"layers\":[]}",
                "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"x\",\"digest\":\""
                    + DIGEST
                    + "\",\"size\":1},\"layers\":[{}]}",
                "[".repeat(10_000) + "]".repeat(10_000),
                "{\"a\":".repeat(5_000) + "1" + "}".repeat(5_000)));
    for (String manifest : badManifests) {
      for (String type :
          List.of(
              "application/vnd.oci.image.manifest.v1+json",
              "application/vnd.oci.image.index.v1+json",
              "application/vnd.docker.distribution.manifest.v2+json")) {
        cases.add(
            new Case(
                false,
                "PUT",
                "/v2/acme/app/manifests/latest",
                withType(push, type),
                bytes(manifest),
                "manifest PUT (" + type + ") " + preview(bytes(manifest))));
      }
    }
    cases.add(
        new Case(
            false,
            "PUT",
            "/v2/acme/app/manifests/latest",
            withType(push, "text/plain"),
            bytes("{}"),
            "manifest PUT as text/plain"));
    for (String range :
        List.of(
            "0-99999999999999999999",
            "x",
            "5-3",
            "bytes=0-1",
            "1-2",
            "-1-2",
            "0-",
            "99999999999999999999-1",
            "0-0/abc")) {
      Map<String, String> headers = withType(push, "application/octet-stream");
      headers.put("Content-Range", range);
      cases.add(
          new Case(
              false,
              "PATCH",
              uploadPath,
              headers,
              bytes("x"),
              "chunk with Content-Range " + range));
    }
    for (String session : List.of("no-such-session", "x".repeat(300), "%00", "../../etc")) {
      cases.add(
          new Case(
              false,
              "PATCH",
              "/v2/acme/app/blobs/uploads/" + session,
              withType(push, "application/octet-stream"),
              bytes("x"),
              "chunk to session " + Limits.shortened(session)));
      cases.add(
          new Case(
              false,
              "GET",
              "/v2/acme/app/blobs/uploads/" + session,
              push,
              null,
              "status of session " + Limits.shortened(session)));
      cases.add(
          new Case(
              false,
              "PUT",
              "/v2/acme/app/blobs/uploads/" + session + "?digest=" + DIGEST,
              withType(push, "application/octet-stream"),
              bytes(""),
              "close session " + Limits.shortened(session)));
    }
    for (String digest : badDigests) {
      cases.add(
          new Case(
              false,
              "PUT",
              uploadPath + (uploadPath.contains("?") ? "&" : "?") + "digest=" + digest,
              withType(push, "application/octet-stream"),
              bytes(""),
              "close with digest " + Limits.shortened(digest)));
    }
    cases.add(
        new Case(
            false,
            "PUT",
            uploadPath,
            withType(push, "application/octet-stream"),
            bytes(""),
            "close without a digest"));
    for (String query :
        List.of("n=-1", "n=abc", "n=99999999999999999999", "n=-99999999999999999999", "n=1.5")) {
      cases.add(
          new Case(
              false,
              "GET",
              "/v2/_catalog?" + query,
              push,
              null,
              "catalog ?" + Limits.shortened(query)));
      cases.add(
          new Case(
              false,
              "GET",
              "/v2/acme/app/tags/list?" + query,
              push,
              null,
              "tags ?" + Limits.shortened(query)));
    }
    for (String credentials :
        List.of(
            "Basic " + base64("ci:wrong"),
            "Basic " + base64("nocolon"),
            "Basic !!!",
            "Bearer garbage",
            "Basic " + base64("ci:" + "x".repeat(5000)))) {
      cases.add(
          new Case(
              false,
              "GET",
              "/v2/token?service=flotilla&scope=repository:acme/app:pull",
              Map.of("Authorization", credentials),
              null,
              "token with " + Limits.shortened(credentials)));
      cases.add(
          new Case(
              false,
              "GET",
              "/v2/acme/app/tags/list",
              Map.of("Authorization", credentials),
              null,
              "tags with " + Limits.shortened(credentials)));
    }
    return cases;
  }

  private List<Case> gitCases() {
    List<Case> cases = new ArrayList<>();
    Map<String, String> basic = Map.of("Authorization", "Basic " + base64("git:" + token));
    for (String service : List.of("", "git-nothing", "git-upload-pack%00", "x".repeat(1500))) {
      cases.add(
          new Case(
              false,
              "GET",
              "/git/acme/containers.git/info/refs?service=" + service,
              basic,
              null,
              "git refs for service " + Limits.shortened(service)));
    }
    cases.add(
        new Case(
            false,
            "GET",
            "/git/acme/containers.git/info/refs",
            basic,
            null,
            "git refs without a service"));
    for (String path :
        List.of(
            "/git/ACME/containers.git/info/refs?service=git-upload-pack",
            "/git/acme/other.git/info/refs?service=git-upload-pack",
            "/git/" + "x".repeat(300) + "/containers.git/info/refs?service=git-upload-pack",
            "/git/acme/containers.git/HEAD",
            "/git/acme/containers.git/objects/info/packs",
            "/git/%00/containers.git/info/refs?service=git-upload-pack",
            "/git/acme/containers.git/../../etc")) {
      cases.add(new Case(false, "GET", path, basic, null, "git GET " + Limits.shortened(path)));
    }
    for (String service : List.of("git-upload-pack", "git-receive-pack")) {
      cases.add(
          new Case(
              false,
              "POST",
              "/git/acme/containers.git/" + service,
              withType(basic, "text/plain"),
              bytes("0000"),
              "git " + service + " as text/plain"));
      cases.add(
          new Case(
              false,
              "POST",
              "/git/acme/containers.git/" + service,
              Map.of(),
              bytes("0000"),
              "git " + service + " without credentials"));
      cases.add(
          new Case(
              false,
              "GET",
              "/git/acme/containers.git/info/refs?service=" + service,
              Map.of("Authorization", "Basic " + base64("git:wrong")),
              null,
              "git refs with a wrong token"));
    }
    return cases;
  }

  private static Map<String, String> withType(Map<String, String> headers, String type) {
    Map<String, String> with = new LinkedHashMap<>(headers);
    with.put("Content-Type", type);
    return with;
  }

  private static String base64(String text) {
    return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static String preview(byte[] body) {
    String text =
        new String(body, 0, Math.min(body.length, 48), StandardCharsets.UTF_8)
            .replaceAll("\\p{Cntrl}", "?");
    return body.length > 48 ? text + "... (" + body.length + " bytes)" : text;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Running them

  /** Null when the answer is a JSON 4xx of the right form, else what is wrong with it. */
  private static String problem(Case c, HttpResponse<String> answer) {
    int status = answer.statusCode();
    if (status < 400 || status > 499) {
      return "status " + status + ": " + Limits.shortened(answer.body());
    }
    if (c.method().equals("HEAD")) {
      return null;
    }
    JsonNode body;
    try {
      body = JSON.readTree(answer.body());
    } catch (IOException e) {
      return "status "
          + status
          + " with a body that is not JSON: "
          + Limits.shortened(answer.body());
    }
    boolean apiError = body != null && body.path("error").isTextual();
    boolean ociError =
        body != null
            && body.path("errors").isArray()
            && body.path("errors").path(0).path("code").isTextual();
    if (!apiError && !ociError) {
      return "status " + status + " with JSON that is no error: " + Limits.shortened(answer.body());
    }
    return null;
  }

  private static final java.util.Set<String> RESTRICTED =
      java.util.Set.of("content-length", "host", "connection", "expect", "upgrade");

  private HttpResponse<String> send(Case c) throws Exception {
    String base = c.devicePort() ? deviceBase() : apiBase();
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(base + c.path()))
            .timeout(TIMEOUT)
            .method(
                c.method(),
                c.body() == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(c.body()));
    c.headers()
        .forEach(
            (name, value) -> {
              if (!RESTRICTED.contains(name.toLowerCase())) {
                request.header(name, value);
              }
            });
    return (c.devicePort() ? deviceHttp : api)
        .send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void everyBadRequestOnEveryEndpointIsAJson4xxAndChangesNothing() throws Exception {
    List<Case> cases = cases();
    String before = state();
    long started = System.nanoTime();
    ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    ExecutorService pool = Executors.newFixedThreadPool(6);
    try {
      List<Future<?>> running = new ArrayList<>();
      for (Case c : cases) {
        running.add(
            pool.submit(
                () -> {
                  try {
                    String problem = problem(c, send(c));
                    if (problem != null) {
                      failures.add(c.why() + " -> " + problem);
                    }
                  } catch (java.net.http.HttpTimeoutException e) {
                    failures.add(c.why() + " -> no answer within " + TIMEOUT.toSeconds() + " s");
                  } catch (Exception e) {
                    failures.add(c.why() + " -> " + e);
                  }
                }));
      }
      for (Future<?> f : running) {
        f.get(2, TimeUnit.MINUTES);
      }
    } finally {
      pool.shutdownNow();
    }
    System.out.printf(
        "bad-input cases: %d, %d answered wrong, in %d ms%n",
        cases.size(), failures.size(), (System.nanoTime() - started) / 1_000_000);
    assertTrue(cases.size() >= 1000, "at least 1,000 cases, had " + cases.size());
    assertTrue(
        failures.isEmpty(),
        failures.size()
            + " of "
            + cases.size()
            + " answered wrong:\n"
            + failures.stream().sorted().collect(Collectors.joining("\n")));
    assertEquals(
        before, state(), "the bad requests changed what the API lists or what the journal holds");
  }

  /**
   * What the bad requests must not change: the journal's row count and every list the API shows.
   */
  private String state() throws Exception {
    StringBuilder state = new StringBuilder();
    try (Connection c = server.core().database().dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT COUNT(*) FROM \"event_journal\"")) {
      r.next();
      state.append("journal rows ").append(r.getLong(1)).append('\n');
    }
    for (String path :
        List.of(
            "/api/v1/factories",
            "/api/v1/factories/acme",
            "/api/v1/factories/acme/tokens",
            "/api/v1/factories/acme/targets",
            "/api/v1/factories/acme/apps",
            "/api/v1/factories/acme/devices/" + deviceUuid + "/config",
            "/api/v1/factories/acme/device-authorizations",
            "/api/v1/factories/acme/rollouts",
            "/v2/_catalog")) {
      HttpResponse<String> answer =
          apiCall(
              "GET",
              path,
              path.startsWith("/v2") ? registryBearer("registry:catalog:*") : admin,
              null);
      state
          .append(path)
          .append(' ')
          .append(answer.statusCode())
          .append(' ')
          .append(answer.body())
          .append('\n');
    }
    return state.toString();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // What only a raw socket can send

  private Socket apiSocket() throws IOException {
    Socket socket = new Socket("127.0.0.1", server.httpPort());
    socket.setSoTimeout((int) TIMEOUT.toMillis());
    return socket;
  }

  private Socket deviceSocket() throws IOException {
    SSLSocket socket =
        (SSLSocket) deviceTls.getSocketFactory().createSocket("127.0.0.1", server.devicePort());
    socket.setSoTimeout((int) TIMEOUT.toMillis());
    socket.startHandshake();
    return socket;
  }

  /** The status line of the first answer, or null when the server closed without one. */
  private static String statusLine(Socket socket, byte[] request) throws IOException {
    OutputStream out = socket.getOutputStream();
    out.write(request);
    out.flush();
    InputStream in = socket.getInputStream();
    StringBuilder line = new StringBuilder();
    int b;
    while ((b = in.read()) != -1 && b != '\n') {
      line.append((char) b);
    }
    return line.isEmpty() ? null : line.toString().strip();
  }

  private static byte[] request(String path, byte[]... headerLines) {
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    bytes.writeBytes(
        ("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n").getBytes(StandardCharsets.ISO_8859_1));
    for (byte[] line : headerLines) {
      bytes.writeBytes(line);
      bytes.writeBytes(new byte[] {'\r', '\n'});
    }
    bytes.writeBytes(new byte[] {'\r', '\n'});
    return bytes.toByteArray();
  }

  private static byte[] header(String name, byte... value) {
    byte[] prefix = (name + ": ").getBytes(StandardCharsets.ISO_8859_1);
    byte[] line = java.util.Arrays.copyOf(prefix, prefix.length + value.length);
    System.arraycopy(value, 0, line, prefix.length, value.length);
    return line;
  }

  @Test
  void rawBadHeadersAreAnswered400OnBothPorts() throws Exception {
    List<byte[][]> bad =
        List.of(
            new byte[][] {header("X-Test", (byte) 'a', (byte) 0xff, (byte) 'b')},
            new byte[][] {header("x-ats-tags", (byte) 0xc3, (byte) 0x28)},
            new byte[][] {header("Authorization", (byte) 'B', (byte) 0x80)},
            new byte[][] {header("X-Test", (byte) 0x00)},
            new byte[][] {header("X-Test", (byte) 0x01, (byte) 0x7f)},
            new byte[][] {header("Bad Name", (byte) 'x')},
            new byte[][] {
              header("X-Huge", "x".repeat(20_000).getBytes(StandardCharsets.ISO_8859_1))
            },
            IntStream.range(0, 200)
                .mapToObj(i -> header("X-Many-" + i, (byte) 'x'))
                .toArray(byte[][]::new),
            new byte[][] {"no colon here".getBytes(StandardCharsets.ISO_8859_1)});
    List<String> failures = new ArrayList<>();
    int count = 0;
    for (boolean devicePort : List.of(false, true)) {
      for (byte[][] headers : bad) {
        count++;
        try (Socket socket = devicePort ? deviceSocket() : apiSocket()) {
          String status =
              statusLine(socket, request(devicePort ? "/device" : "/api/v1/factories", headers));
          if (status == null || !status.matches("HTTP/1\\.1 4\\d\\d .*")) {
            failures.add(
                (devicePort ? "device" : "api")
                    + " port, "
                    + preview(headers[0])
                    + " -> "
                    + status);
          }
        } catch (SocketTimeoutException e) {
          failures.add(
              (devicePort ? "device" : "api") + " port, " + preview(headers[0]) + " -> no answer");
        }
      }
      count++;
      try (Socket socket = devicePort ? deviceSocket() : apiSocket()) {
        byte[] longUri =
            ("GET /" + "x".repeat(20_000) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1);
        String status = statusLine(socket, longUri);
        if (status == null || !status.matches("HTTP/1\\.1 4\\d\\d .*")) {
          failures.add((devicePort ? "device" : "api") + " port, a 20,000-byte URI -> " + status);
        }
      }
    }
    System.out.printf("raw header cases: %d%n", count);
    assertTrue(failures.isEmpty(), String.join("\n", failures));
  }

  @Test
  void anOversizedManifestIsAnswered413AfterItsBody() throws Exception {
    byte[] manifest = new byte[20 * 1024 * 1024];
    java.util.Arrays.fill(manifest, (byte) ' ');
    manifest[0] = '{';
    manifest[manifest.length - 1] = '}';
    String bearer = registryBearer("repository:acme/app:push,pull");
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> answer =
          api.send(
              HttpRequest.newBuilder(URI.create(apiBase() + "/v2/acme/app/manifests/big"))
                  .timeout(Duration.ofSeconds(60))
                  .header("Authorization", "Bearer " + bearer)
                  .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
                  .PUT(HttpRequest.BodyPublishers.ofByteArray(manifest))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(413, answer.statusCode(), answer.body());
      assertEquals(
          "SIZE_INVALID",
          JSON.readTree(answer.body()).path("errors").path(0).path("code").asText(),
          answer.body());
    }
  }

  /**
   * A connection that never finishes a TLS handshake or never sends a byte holds no slot past the
   * header timeout.
   */
  @Test
  void silentConnectionsAreCutOffOnBothPorts() throws Exception {
    for (int port : List.of(server.httpPort(), server.devicePort())) {
      try (Socket socket = new Socket("127.0.0.1", port)) {
        socket.setSoTimeout((int) HEADER_TIMEOUT.multipliedBy(4).toMillis());
        long started = System.nanoTime();
        byte[] received;
        try {
          received = socket.getInputStream().readAllBytes();
        } catch (SocketException e) {
          received = new byte[0];
        }
        long tookMs = (System.nanoTime() - started) / 1_000_000;
        // The device port's TLS layer says goodbye with a close_notify alert record (type 21);
        // nothing else may come.
        assertTrue(
            received.length == 0 || received[0] == 21,
            "port " + port + " answered a connection that sent nothing");
        assertTrue(
            tookMs >= HEADER_TIMEOUT.toMillis() - 500,
            "port " + port + " cut off after " + tookMs + " ms, before the header timeout");
      }
    }
  }

  @Test
  void slowHeadersAreCutOffOnBothPorts() throws Exception {
    for (boolean devicePort : List.of(false, true)) {
      try (Socket socket = devicePort ? deviceSocket() : apiSocket()) {
        OutputStream out = socket.getOutputStream();
        out.write(
            "GET /health/alive HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
                .getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        long started = System.nanoTime();
        boolean closed = false;
        InputStream in = socket.getInputStream();
        socket.setSoTimeout(200);
        while (!closed && System.nanoTime() - started < HEADER_TIMEOUT.multipliedBy(4).toNanos()) {
          try {
            out.write('x');
            out.flush();
            in.read();
            closed = true;
          } catch (SocketTimeoutException e) {
            Thread.sleep(300);
          } catch (IOException e) {
            closed = true;
          }
        }
        long tookMs = (System.nanoTime() - started) / 1_000_000;
        assertTrue(
            closed,
            (devicePort ? "device" : "api")
                + " port kept a connection whose headers never ended for "
                + tookMs
                + " ms");
        assertTrue(
            tookMs >= HEADER_TIMEOUT.toMillis() - 500,
            "cut off after " + tookMs + " ms, before the header timeout");
      }
    }
  }
}
