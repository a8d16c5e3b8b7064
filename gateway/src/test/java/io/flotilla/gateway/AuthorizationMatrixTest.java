package io.flotilla.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.core.auth.Scope;
import io.flotilla.core.pki.Pem;
import io.flotilla.core.pki.PkiTestSupport;
import io.flotilla.gateway.testing.TestServers;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every route of the API port (management API, registrations, registry with basic and bearer, git)
 * against every kind of caller, generated from the route table below: each answer is either allowed
 * or the denial the rule in docs/architecture.md ("Authorization answers") names — 401 for no,
 * malformed or revoked credentials, 404 for anything outside the caller's factory, 403 for a
 * missing scope in one's own factory or a server-admin route.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AuthorizationMatrixTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration TIMEOUT = Duration.ofSeconds(20);
  private static final String ACME = "acme";
  private static final String EVIL = "evil";

  @TempDir static Path dataDir;
  FlotillaServer server;
  final HttpClient http =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(TIMEOUT).build();
  String serverAdmin;
  String revoked;
  String evilAdmin;
  final Map<Scope, String> acmeTokens = new LinkedHashMap<>();
  String acmeDevice;
  String missingDevice = UUID.randomUUID().toString();
  String manifestDigest;
  String configDigest;
  HubCreds acmeHub;
  HubCreds evilHub;
  Registered evilDevice;

  record HubCreds(String username, String secret) {}

  record Registered(String uuid, SSLContext tls) {}

  /** What a route needs: a server-admin token, membership of the factory, or a scope in it. */
  record Need(boolean serverAdmin, Scope scope) {
    static Need admin() {
      return new Need(true, null);
    }

    static Need member() {
      return new Need(false, null);
    }

    static Need scope(Scope scope) {
      return new Need(false, scope);
    }
  }

  /**
   * One row of the route table; {@code body} gets the caller's factory (registration names it in
   * the CSR).
   */
  record ApiRoute(String method, String path, Need need, Function<String, String> body) {}

  enum Registry {
    PULL,
    PUSH,
    DELETE
  }

  record RegistryRoute(String method, String path, Registry action) {}

  record GitRoute(String method, String path, Scope scope, String contentType) {}

  /**
   * A caller: how it authenticates on the API, on the registry (basic user:password) and on git.
   */
  record Caller(
      String name, Optional<String> bearer, Optional<String> basic, Kind kind, Scope scope) {}

  enum Kind {
    NONE,
    MALFORMED,
    REVOKED,
    ACME_TOKEN,
    EVIL_ADMIN,
    SERVER_ADMIN,
    ACME_DEVICE,
    EVIL_DEVICE
  }

  @BeforeAll
  void start() throws Exception {
    server = TestServers.start(dataDir, null);
    serverAdmin = Files.readString(dataDir.resolve("admin-token")).strip();
    for (String factory : List.of(ACME, EVIL)) {
      expect(
          201,
          api(
              "POST",
              "/api/v1/factories",
              serverAdmin,
              "{\"name\":\"" + factory + "\",\"platforms\":[\"amd64-linux\"]}"));
    }
    for (Scope scope : Scope.values()) {
      acmeTokens.put(scope, token(ACME, scope));
    }
    evilAdmin = token(EVIL, Scope.ADMIN);
    revoked = token(ACME, Scope.ADMIN);
    expect(
        204,
        api("DELETE", "/api/v1/factories/acme/tokens/" + revoked.split("_")[2], serverAdmin, null));

    Registered acme = register(acmeTokens.get(Scope.DEVICES_CREATE), ACME);
    acmeDevice = acme.uuid();
    evilDevice = register(evilAdmin, EVIL);
    acmeHub = hubCreds(acme);
    evilHub = hubCreds(evilDevice);

    String push = basicOf(acmeTokens.get(Scope.CONTAINERS_PUSH));
    byte[] config = "{}".getBytes(StandardCharsets.UTF_8);
    configDigest = digest(config);
    expect(
        201,
        send(
            request("POST", "/v2/acme/app/blobs/uploads/?digest=" + configDigest, config)
                .header("Authorization", push)));
    byte[] manifest =
        ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":"
                + "\"application/vnd.oci.image.config.v1+json\",\"digest\":\""
                + configDigest
                + "\",\"size\":2},\"layers\":[]}")
            .getBytes(StandardCharsets.UTF_8);
    manifestDigest = digest(manifest);
    expect(
        201,
        send(
            request("PUT", "/v2/acme/app/manifests/v1", manifest)
                .header("Authorization", push)
                .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")));
  }

  @AfterAll
  void stop() {
    server.close();
  }

  List<ApiRoute> apiRoutes() {
    String f = "/api/v1/factories/" + ACME;
    String d = f + "/devices/" + acmeDevice;
    String noBody = null;
    String config = "{\"reason\":\"matrix\",\"files\":[{\"name\":\"m\",\"value\":\"v\"}]}";
    List<ApiRoute> routes = new ArrayList<>();
    routes.add(
        new ApiRoute(
            "POST",
            "/api/v1/factories",
            Need.admin(),
            c -> "{\"name\":\"matrix-" + UUID.randomUUID().toString().substring(0, 8) + "\"}"));
    routes.add(new ApiRoute("GET", "/api/v1/factories", Need.admin(), c -> noBody));
    routes.add(new ApiRoute("GET", "/api/v1/journal/Factory/acme", Need.admin(), c -> noBody));
    routes.add(
        new ApiRoute("GET", "/api/v1/projections/devices/progress", Need.admin(), c -> noBody));
    routes.add(
        new ApiRoute("GET", "/api/v1/journal/Device/" + acmeDevice, Need.admin(), c -> noBody));
    routes.add(new ApiRoute("GET", f, Need.member(), c -> noBody));
    routes.add(
        new ApiRoute(
            "POST",
            f + "/tokens",
            Need.scope(Scope.ADMIN),
            c -> "{\"description\":\"m\",\"scopes\":[\"targets:read\"]}"));
    routes.add(new ApiRoute("GET", f + "/tokens", Need.scope(Scope.ADMIN), c -> noBody));
    routes.add(
        new ApiRoute(
            "DELETE", f + "/tokens/0123456789abcdef", Need.scope(Scope.ADMIN), c -> noBody));
    routes.add(
        new ApiRoute(
            "PUT", f + "/branches/main", Need.scope(Scope.ADMIN), c -> "{\"tag\":\"main\"}"));
    routes.add(new ApiRoute("GET", f + "/tuf/root.json", Need.member(), c -> noBody));
    routes.add(new ApiRoute("GET", f + "/tuf/1.root.json", Need.member(), c -> noBody));
    routes.add(
        new ApiRoute("POST", f + "/tuf/root-rotations", Need.scope(Scope.ADMIN), c -> noBody));
    routes.add(new ApiRoute("GET", f + "/targets", Need.scope(Scope.TARGETS_READ), c -> noBody));
    routes.add(
        new ApiRoute(
            "POST",
            f + "/targets",
            Need.scope(Scope.TARGETS_WRITE),
            c -> "{\"tags\":[\"main\"],\"apps\":{}}"));
    routes.add(
        new ApiRoute(
            "PATCH",
            f + "/targets/amd64-linux-1",
            Need.scope(Scope.TARGETS_WRITE),
            c -> "{\"tags\":[\"main\"]}"));
    routes.add(new ApiRoute("GET", f + "/apps", Need.scope(Scope.TARGETS_READ), c -> noBody));
    routes.add(new ApiRoute("GET", f + "/apps/shell", Need.scope(Scope.TARGETS_READ), c -> noBody));
    routes.add(new ApiRoute("GET", f + "/builds", Need.scope(Scope.CONTAINERS_READ), c -> noBody));
    routes.add(
        new ApiRoute(
            "POST",
            f + "/builds",
            Need.scope(Scope.CONTAINERS_PUSH),
            c -> "{\"commit\":\"" + "0".repeat(40) + "\"}"));
    routes.add(
        new ApiRoute("GET", f + "/builds/1", Need.scope(Scope.CONTAINERS_READ), c -> noBody));
    routes.add(
        new ApiRoute("GET", f + "/builds/1/log", Need.scope(Scope.CONTAINERS_READ), c -> noBody));
    routes.add(
        new ApiRoute(
            "POST", f + "/builds/1/cancel", Need.scope(Scope.CONTAINERS_PUSH), c -> noBody));
    routes.add(new ApiRoute("GET", f + "/devices", Need.scope(Scope.DEVICES_READ), c -> noBody));
    routes.add(new ApiRoute("GET", f + "/status", Need.scope(Scope.DEVICES_READ), c -> noBody));
    routes.add(
        new ApiRoute(
            "GET",
            f + "/status?at=2026-01-01T00:00:00Z",
            Need.scope(Scope.DEVICES_READ),
            c -> noBody));
    routes.add(new ApiRoute("PUT", f + "/config", Need.scope(Scope.DEVICES_WRITE), c -> config));
    routes.add(
        new ApiRoute(
            "PUT", f + "/device-groups/lab/config", Need.scope(Scope.DEVICES_WRITE), c -> config));
    routes.add(new ApiRoute("GET", d, Need.scope(Scope.DEVICES_READ), c -> noBody));
    routes.add(
        new ApiRoute("PATCH", d, Need.scope(Scope.DEVICES_WRITE), c -> "{\"name\":\"matrix\"}"));
    routes.add(
        new ApiRoute(
            "DELETE",
            f + "/devices/" + missingDevice,
            Need.scope(Scope.DEVICES_WRITE),
            c -> noBody));
    routes.add(new ApiRoute("GET", d + "/updates", Need.scope(Scope.DEVICES_READ), c -> noBody));
    routes.add(
        new ApiRoute(
            "GET", d + "/updates/some-correlation", Need.scope(Scope.DEVICES_READ), c -> noBody));
    routes.add(
        new ApiRoute("GET", d + "/system-info", Need.scope(Scope.DEVICES_READ), c -> noBody));
    routes.add(new ApiRoute("GET", d + "/config", Need.scope(Scope.DEVICES_READ), c -> noBody));
    routes.add(new ApiRoute("PUT", d + "/config", Need.scope(Scope.DEVICES_WRITE), c -> config));
    routes.add(
        new ApiRoute(
            "GET", f + "/device-authorizations", Need.scope(Scope.DEVICES_CREATE), c -> noBody));
    routes.add(
        new ApiRoute(
            "POST",
            f + "/device-authorizations/BBBB-BBBB",
            Need.scope(Scope.DEVICES_CREATE),
            c -> "{\"approved\":true}"));
    routes.add(
        new ApiRoute(
            "POST", "/ota/devices/", Need.scope(Scope.DEVICES_CREATE), this::registration));
    return routes;
  }

  /** acme's device seen through evil's factory path: every such route is 404 for every caller. */
  List<ApiRoute> acmeDeviceThroughEvil() {
    String d = "/api/v1/factories/" + EVIL + "/devices/" + acmeDevice;
    String config = "{\"reason\":\"matrix\",\"files\":[]}";
    return List.of(
        new ApiRoute("GET", d, Need.scope(Scope.DEVICES_READ), c -> null),
        new ApiRoute("PATCH", d, Need.scope(Scope.DEVICES_WRITE), c -> "{\"name\":\"stolen\"}"),
        new ApiRoute("DELETE", d, Need.scope(Scope.DEVICES_WRITE), c -> null),
        new ApiRoute("GET", d + "/updates", Need.scope(Scope.DEVICES_READ), c -> null),
        new ApiRoute(
            "GET", d + "/updates/some-correlation", Need.scope(Scope.DEVICES_READ), c -> null),
        new ApiRoute("GET", d + "/system-info", Need.scope(Scope.DEVICES_READ), c -> null),
        new ApiRoute("GET", d + "/config", Need.scope(Scope.DEVICES_READ), c -> null),
        new ApiRoute("PUT", d + "/config", Need.scope(Scope.DEVICES_WRITE), c -> config));
  }

  List<RegistryRoute> registryRoutes() {
    return List.of(
        new RegistryRoute("GET", "/v2/acme/app/manifests/v1", Registry.PULL),
        new RegistryRoute("HEAD", "/v2/acme/app/manifests/" + manifestDigest, Registry.PULL),
        new RegistryRoute("GET", "/v2/acme/app/blobs/" + configDigest, Registry.PULL),
        new RegistryRoute("GET", "/v2/acme/app/tags/list", Registry.PULL),
        new RegistryRoute("GET", "/v2/acme/app/referrers/" + manifestDigest, Registry.PULL),
        new RegistryRoute("GET", "/v2/acme/unknown/manifests/v1", Registry.PULL),
        new RegistryRoute("POST", "/v2/acme/app/blobs/uploads/", Registry.PUSH),
        new RegistryRoute("PUT", "/v2/acme/app/manifests/v2", Registry.PUSH),
        new RegistryRoute(
            "DELETE",
            "/v2/acme/app/manifests/" + digest("never pushed".getBytes(StandardCharsets.UTF_8)),
            Registry.DELETE),
        new RegistryRoute(
            "DELETE",
            "/v2/acme/app/blobs/" + digest("never pushed".getBytes(StandardCharsets.UTF_8)),
            Registry.DELETE));
  }

  List<GitRoute> gitRoutes() {
    String git = "/git/" + ACME + "/containers.git/";
    return List.of(
        new GitRoute("GET", git + "info/refs?service=git-upload-pack", Scope.CONTAINERS_READ, null),
        new GitRoute(
            "GET", git + "info/refs?service=git-receive-pack", Scope.CONTAINERS_PUSH, null),
        new GitRoute(
            "POST",
            git + "git-upload-pack",
            Scope.CONTAINERS_READ,
            "application/x-git-upload-pack-request"),
        new GitRoute(
            "POST",
            git + "git-receive-pack",
            Scope.CONTAINERS_PUSH,
            "application/x-git-receive-pack-request"));
  }

  List<Caller> callers() {
    List<Caller> callers = new ArrayList<>();
    callers.add(new Caller("no credentials", Optional.empty(), Optional.empty(), Kind.NONE, null));
    callers.add(
        new Caller(
            "malformed token",
            Optional.of("flt_not-a-token"),
            Optional.of(basicOf("flt_not-a-token")),
            Kind.MALFORMED,
            null));
    callers.add(
        new Caller(
            "revoked admin token",
            Optional.of(revoked),
            Optional.of(basicOf(revoked)),
            Kind.REVOKED,
            null));
    acmeTokens.forEach(
        (scope, token) ->
            callers.add(
                new Caller(
                    "acme " + scope.wireName(),
                    Optional.of(token),
                    Optional.of(basicOf(token)),
                    Kind.ACME_TOKEN,
                    scope)));
    callers.add(
        new Caller(
            "evil admin token",
            Optional.of(evilAdmin),
            Optional.of(basicOf(evilAdmin)),
            Kind.EVIL_ADMIN,
            null));
    callers.add(
        new Caller(
            "server admin token",
            Optional.of(serverAdmin),
            Optional.of(basicOf(serverAdmin)),
            Kind.SERVER_ADMIN,
            null));
    return callers;
  }

  /**
   * Device hub credentials are registry callers only; the evil one comes from evil's device
   * certificate.
   */
  List<Caller> deviceCallers() {
    return List.of(
        new Caller(
            "acme device",
            Optional.empty(),
            Optional.of(basic(acmeHub.username(), acmeHub.secret())),
            Kind.ACME_DEVICE,
            null),
        new Caller(
            "evil device",
            Optional.empty(),
            Optional.of(basic(evilHub.username(), evilHub.secret())),
            Kind.EVIL_DEVICE,
            null));
  }

  /** The rule, for the management API: empty means allowed. */
  static Optional<Integer> apiDenial(ApiRoute route, Caller caller) {
    switch (caller.kind()) {
      case NONE, MALFORMED, REVOKED:
        return Optional.of(401);
      case SERVER_ADMIN:
        return Optional.empty();
      case EVIL_ADMIN:
        if (route.need().serverAdmin()) {
          return Optional.of(403);
        }
        return route.path().startsWith("/ota/") ? Optional.empty() : Optional.of(404);
      default:
        if (route.need().serverAdmin()) {
          return Optional.of(403);
        }
        Scope needed = route.need().scope();
        return needed == null || caller.scope() == needed || caller.scope() == Scope.ADMIN
            ? Optional.empty()
            : Optional.of(403);
    }
  }

  /**
   * The rule, for the registry. Bearer tokens never carry what was not granted: the protocol's 401
   * asks again.
   */
  static Optional<Integer> registryDenial(RegistryRoute route, Caller caller, boolean bearer) {
    boolean allowed =
        switch (caller.kind()) {
          case NONE, MALFORMED, REVOKED, SERVER_ADMIN -> false;
          case EVIL_ADMIN, EVIL_DEVICE -> false;
          case ACME_DEVICE -> route.action() == Registry.PULL;
          default ->
              caller.scope() == Scope.ADMIN
                  || caller.scope() == Scope.CONTAINERS_PUSH
                  || caller.scope() == Scope.CONTAINERS_READ && route.action() == Registry.PULL;
        };
    if (allowed) {
      return Optional.empty();
    }
    return switch (caller.kind()) {
      case NONE, MALFORMED, REVOKED, SERVER_ADMIN -> Optional.of(401);
      case EVIL_ADMIN, EVIL_DEVICE -> Optional.of(bearer ? 401 : 404);
      default -> Optional.of(bearer ? 401 : 403);
    };
  }

  static Optional<Integer> gitDenial(GitRoute route, Caller caller) {
    return switch (caller.kind()) {
      case NONE, MALFORMED, REVOKED, SERVER_ADMIN -> Optional.of(401);
      case EVIL_ADMIN -> Optional.of(404);
      default ->
          caller.scope() == route.scope() || caller.scope() == Scope.ADMIN
              ? Optional.empty()
              : Optional.of(403);
    };
  }

  @Test
  void everyRouteAgainstEveryCallerDeniesByTheRule() throws Exception {
    List<String> wrong = new ArrayList<>();
    int cases = 0;
    for (ApiRoute route : apiRoutes()) {
      for (Caller caller : callers()) {
        String factory = caller.kind() == Kind.EVIL_ADMIN ? EVIL : ACME;
        HttpRequest.Builder request =
            request(route.method(), route.path(), body(route.body().apply(factory)));
        caller.bearer().ifPresent(token -> request.header("Authorization", "Bearer " + token));
        check(
            wrong,
            "API " + route.method() + " " + route.path() + " as " + caller.name(),
            send(request),
            apiDenial(route, caller),
            false);
        cases++;
      }
    }
    for (ApiRoute route : acmeDeviceThroughEvil()) {
      for (String token : List.of(evilAdmin, serverAdmin)) {
        HttpRequest.Builder request =
            request(route.method(), route.path(), body(route.body().apply(EVIL)))
                .header("Authorization", "Bearer " + token);
        check(
            wrong,
            "API "
                + route.method()
                + " "
                + route.path()
                + (token.equals(evilAdmin) ? " as evil admin" : " as server admin"),
            send(request),
            Optional.of(404),
            false);
        cases++;
      }
    }
    List<Caller> registryCallers = new ArrayList<>(callers());
    registryCallers.addAll(deviceCallers());
    for (RegistryRoute route : registryRoutes()) {
      for (Caller caller : registryCallers) {
        HttpRequest.Builder basic = registryRequest(route);
        caller.basic().ifPresent(value -> basic.header("Authorization", value));
        check(
            wrong,
            "registry basic " + route.method() + " " + route.path() + " as " + caller.name(),
            send(basic),
            registryDenial(route, caller, false),
            true);
        HttpResponse<byte[]> followed = followChallenge(route, caller);
        check(
            wrong,
            "registry bearer " + route.method() + " " + route.path() + " as " + caller.name(),
            followed,
            registryDenial(route, caller, true),
            true);
        cases += 2;
      }
    }
    for (GitRoute route : gitRoutes()) {
      for (Caller caller : callers()) {
        HttpRequest.Builder request =
            request(
                route.method(),
                route.path(),
                route.contentType() == null ? null : "0000".getBytes(StandardCharsets.US_ASCII));
        if (route.contentType() != null) {
          request.header("Content-Type", route.contentType());
        }
        caller.basic().ifPresent(value -> request.header("Authorization", value));
        check(
            wrong,
            "git " + route.method() + " " + route.path() + " as " + caller.name(),
            send(request),
            gitDenial(route, caller),
            false);
        cases++;
      }
    }
    System.out.println("authorization matrix: " + cases + " cases");
    assertTrue(
        wrong.isEmpty(),
        wrong.size() + " of " + cases + " answers break the rule:\n" + String.join("\n", wrong));
  }

  /**
   * evil's device certificate reaches only evil's device on the device port; a uuid of acme's is
   * refused there.
   */
  @Test
  void anotherFactorysDeviceCertificateSeesOnlyItsOwnDevice() throws Exception {
    HttpClient evil =
        HttpClient.newBuilder()
            .sslContext(evilDevice.tls())
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(TIMEOUT)
            .build();
    HttpResponse<String> own =
        evil.send(
            HttpRequest.newBuilder(URI.create(deviceBase() + "/device")).timeout(TIMEOUT).build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, own.statusCode(), own.body());
    assertEquals(evilDevice.uuid(), JSON.readTree(own.body()).path("uuid").asText(), own.body());
    assertFalse(own.body().contains(acmeDevice), own.body());
  }

  private void check(
      List<String> wrong,
      String what,
      HttpResponse<byte[]> answer,
      Optional<Integer> denial,
      boolean registry)
      throws Exception {
    String body = new String(answer.body(), StandardCharsets.UTF_8);
    int status = answer.statusCode();
    if (status >= 500) {
      wrong.add(what + ": " + status + " " + body);
      return;
    }
    if (denial.isEmpty()) {
      boolean notVisible =
          body.contains("is not visible to this token") || body.contains("NAME_UNKNOWN");
      if (status == 401 || status == 403 || notVisible) {
        wrong.add(what + ": expected access, got " + status + " " + body);
      }
      return;
    }
    if (status != denial.get()) {
      wrong.add(what + ": expected " + denial.get() + ", got " + status + " " + body);
      return;
    }
    if (answer.request().method().equals("HEAD")) {
      return;
    }
    JsonNode json = JSON.readTree(body);
    boolean explained =
        registry
            ? json.path("errors").path(0).hasNonNull("code")
            : json.hasNonNull("error") && json.hasNonNull("detail");
    if (!explained) {
      wrong.add(what + ": " + status + " without an error body: " + body);
    }
  }

  private HttpRequest.Builder registryRequest(RegistryRoute route) {
    byte[] body = route.method().equals("PUT") ? "{}".getBytes(StandardCharsets.UTF_8) : null;
    HttpRequest.Builder request = request(route.method(), route.path(), body);
    if (body != null) {
      request.header("Content-Type", "application/vnd.oci.image.manifest.v1+json");
    }
    return request;
  }

  /**
   * As a registry client does it: anonymous first, then a token for the challenge's scopes, then
   * the retry.
   */
  private HttpResponse<byte[]> followChallenge(RegistryRoute route, Caller caller)
      throws Exception {
    HttpResponse<byte[]> first = send(registryRequest(route));
    assertEquals(401, first.statusCode(), route.path());
    if (caller.basic().isEmpty()) {
      return first;
    }
    String challenge = first.headers().firstValue("WWW-Authenticate").orElseThrow();
    String scope = challenge.replaceFirst(".*scope=\"([^\"]*)\".*", "$1");
    StringBuilder token = new StringBuilder("/v2/token?service=flotilla");
    for (String s : scope.split(" ")) {
      token.append("&scope=").append(URLEncoder.encode(s, StandardCharsets.UTF_8));
    }
    HttpResponse<byte[]> issued =
        send(request("GET", token.toString(), null).header("Authorization", caller.basic().get()));
    if (issued.statusCode() != 200) {
      return issued;
    }
    String bearer = JSON.readTree(issued.body()).path("token").asText();
    return send(registryRequest(route).header("Authorization", "Bearer " + bearer));
  }

  private String registration(String factory) {
    KeyPair key = PkiTestSupport.deviceKey();
    String uuid = UUID.randomUUID().toString();
    return "{\"uuid\":\""
        + uuid
        + "\",\"hardware-id\":\"amd64-linux\",\"csr\":"
        + quoted(PkiTestSupport.csr(key, "CN=" + uuid + ",OU=" + factory))
        + "}";
  }

  private Registered register(String token, String factory) throws Exception {
    KeyPair key = PkiTestSupport.deviceKey();
    String uuid = UUID.randomUUID().toString();
    String body =
        "{\"uuid\":\""
            + uuid
            + "\",\"hardware-id\":\"amd64-linux\",\"csr\":"
            + quoted(PkiTestSupport.csr(key, "CN=" + uuid + ",OU=" + factory))
            + "}";
    HttpResponse<byte[]> answer = expect(201, api("POST", "/ota/devices/", token, body));
    JsonNode files = JSON.readTree(answer.body());
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("root", Pem.certificate(files.get("root.crt").asText()));
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    KeyStore identity = KeyStore.getInstance("PKCS12");
    identity.load(null, null);
    char[] password = "test".toCharArray();
    identity.setKeyEntry(
        "device",
        key.getPrivate(),
        password,
        new X509Certificate[] {Pem.certificate(files.get("client.pem").asText())});
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(identity, password);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    return new Registered(uuid, context);
  }

  private HubCreds hubCreds(Registered device) throws Exception {
    HttpClient client =
        HttpClient.newBuilder()
            .sslContext(device.tls())
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(TIMEOUT)
            .build();
    HttpResponse<String> answer =
        client.send(
            HttpRequest.newBuilder(URI.create(deviceBase() + "/hub-creds/"))
                .timeout(TIMEOUT)
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, answer.statusCode(), answer.body());
    JsonNode creds = JSON.readTree(answer.body());
    return new HubCreds(creds.get("Username").asText(), creds.get("Secret").asText());
  }

  private String token(String factory, Scope scope) throws Exception {
    HttpResponse<byte[]> answer =
        expect(
            201,
            api(
                "POST",
                "/api/v1/factories/" + factory + "/tokens",
                serverAdmin,
                "{\"description\":\"matrix\",\"scopes\":[\"" + scope.wireName() + "\"]}"));
    return JSON.readTree(answer.body()).get("token").asText();
  }

  private HttpResponse<byte[]> api(String method, String path, String token, String json)
      throws Exception {
    HttpRequest.Builder request = request(method, path, body(json));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return send(request);
  }

  private static byte[] body(String json) {
    return json == null ? null : json.getBytes(StandardCharsets.UTF_8);
  }

  private HttpRequest.Builder request(String method, String path, byte[] body) {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.httpPort() + path))
            .timeout(TIMEOUT)
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(body));
    if (body != null && !path.startsWith("/v2/") && !path.startsWith("/git/")) {
      request.header("Content-Type", "application/json");
    }
    return request;
  }

  private HttpResponse<byte[]> send(HttpRequest.Builder request) throws Exception {
    return http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  private static HttpResponse<byte[]> expect(int status, HttpResponse<byte[]> answer) {
    assertEquals(
        status, answer.statusCode(), () -> new String(answer.body(), StandardCharsets.UTF_8));
    return answer;
  }

  private String deviceBase() {
    return "https://127.0.0.1:" + server.devicePort();
  }

  private static String basicOf(String token) {
    return basic("matrix", token);
  }

  private static String basic(String user, String password) {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  private static String quoted(String text) {
    try {
      return JSON.writeValueAsString(text);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String digest(byte[] content) {
    try {
      return "sha256:"
          + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
