package io.flotilla.gateway.device;

import static org.apache.pekko.http.javadsl.server.Directives.*;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.ReadYourWrites.Projected;
import io.flotilla.core.auth.Access;
import io.flotilla.core.auth.Decision;
import io.flotilla.core.auth.Principal;
import io.flotilla.core.auth.Scope;
import io.flotilla.core.device.Device;
import io.flotilla.core.factory.Factory;
import io.flotilla.core.pki.CsrRejectedException;
import io.flotilla.core.pki.DeviceCsr;
import io.flotilla.core.pki.DevicePki;
import io.flotilla.core.pki.IssuedDeviceCertificate;
import io.flotilla.core.tuf.TufRoots;
import io.flotilla.gateway.http.Authentication;
import io.flotilla.gateway.http.Errors;
import io.flotilla.gateway.http.JsonSupport;
import io.flotilla.gateway.http.Replies;
import io.flotilla.protocol.device.RegistrationRequest;
import io.flotilla.protocol.device.RegistrationResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code POST /ota/devices/} (§2) on the API port: signs the device's CSR with its factory's device
 * CA and answers the files the agent writes into its config dir. The device is registered before
 * the answer, so a second registration of the uuid is a 409 and the certificate of a refused one is
 * never handed out.
 */
final class RegistrationRoutes {

  private final FlotillaCore core;
  private final Authentication auth;
  private final DevicePki pki;
  private final TufRoots roots;

  /**
   * The gateway URL for the registration request: the name the device reached the API by, unless
   * configured.
   */
  private final Function<HttpRequest, String> publicUrl;

  RegistrationRoutes(
      FlotillaCore core,
      Authentication auth,
      DevicePki pki,
      TufRoots roots,
      Function<HttpRequest, String> publicUrl) {
    this.core = core;
    this.auth = auth;
    this.pki = pki;
    this.roots = roots;
    this.publicUrl = publicUrl;
  }

  Route route() {
    return pathPrefix(
        "ota",
        () ->
            pathPrefix(
                "devices",
                () ->
                    pathEndOrSingleSlash(
                        () ->
                            post(
                                () ->
                                    auth.authenticated(
                                        principal ->
                                            extractRequest(
                                                http ->
                                                    entity(
                                                        JsonSupport.unmarshaller(
                                                            RegistrationRequest.class),
                                                        request ->
                                                            register(
                                                                principal,
                                                                request,
                                                                publicUrl.apply(http)))))))));
  }

  private Route register(Principal principal, RegistrationRequest request, String gatewayUrl) {
    if (request.uuid() == null || !Device.UUID.matcher(request.uuid()).matches()) {
      return Errors.badRequest("uuid must match " + Device.UUID.pattern());
    }
    if (request.csr() == null || request.csr().isBlank()) {
      return Errors.badRequest("csr is required");
    }
    DeviceCsr csr;
    try {
      csr = DeviceCsr.parse(request.csr());
    } catch (CsrRejectedException e) {
      return csrRejected(e);
    }
    String factory = principal.admin() ? csr.organizationalUnit() : principal.factory();
    if (Access.decide(principal, factory, Scope.DEVICES_CREATE) instanceof Decision.Denied denied) {
      return Authentication.refusal(denied);
    }
    String tag = tomlString(request.overrides(), "tags");
    if (tag != null && !Device.TAG.matcher(tag).matches()) {
      return Errors.badRequest("overrides pacman.tags must match " + Device.TAG.pattern());
    }
    if (request.hardwareId() != null && !Factory.PLATFORM.matcher(request.hardwareId()).matches()) {
      return Errors.badRequest("hardware-id must match " + Factory.PLATFORM.pattern());
    }
    return Replies.whenDone(
        core.factory(factory).askWithStatus(Factory.Get::new, core.askTimeout()),
        summary ->
            onComplete(
                CompletableFuture.supplyAsync(
                    () -> issue(factory, request.uuid(), csr), core.blocking()),
                result -> {
                  if (result.isFailure()) {
                    return csrRejection(result.failed().get())
                        .map(RegistrationRoutes::csrRejected)
                        .orElseGet(() -> Errors.failure(result.failed().get()));
                  }
                  Issued issued = result.get();
                  String hardwareId =
                      request.hardwareId() != null
                          ? request.hardwareId()
                          : summary.platforms().get(0);
                  var registered =
                      core.device(request.uuid())
                          .<Device.Summary>askWithStatus(
                              replyTo ->
                                  new Device.Register(
                                      factory,
                                      request.name(),
                                      hardwareId,
                                      request.group(),
                                      tag,
                                      issued.certificate().identity().production(),
                                      issued.certificate().identity().serial().toString(16),
                                      issued.certificate().identity().publicKeyPem(),
                                      Instant.now(),
                                      replyTo),
                              core.askTimeout());
                  // the README reads the device right after registering it
                  return Replies.whenDone(
                      registered.thenCompose(
                          device ->
                              core.readYourWrites()
                                  .projected(
                                      device,
                                      List.of(
                                          Projected.device(
                                              request.uuid(), core.deviceSettings().slices())))),
                      device ->
                          complete(
                              StatusCodes.CREATED,
                              files(issued, device, request, gatewayUrl),
                              JsonSupport.marshaller()));
                }));
  }

  /** The device's certificate and the factory's newest TUF root, the device's first trusted one. */
  private record Issued(IssuedDeviceCertificate certificate, byte[] tufRoot) {}

  private Issued issue(String factory, String uuid, DeviceCsr csr) {
    pki.ensureFactory(factory);
    IssuedDeviceCertificate certificate =
        pki.registerDevice(factory, uuid, csr, csr.requestsProduction());
    return new Issued(certificate, roots.latest(factory).body());
  }

  /**
   * fioup's {@code populateSotaDir} writes each entry verbatim as {@code <sota dir>/<name>},
   * without creating directories (a name in a missing subdirectory fails the whole registration),
   * so the TUF root lands next to the others as {@code tuf-root.json}; fiotuf reads it from {@code
   * /var/sota/tuf/root.json} (docs/device-gateway.md, "TUF").
   */
  private Map<String, String> files(
      Issued issued, Device.Summary device, RegistrationRequest request, String gatewayUrl) {
    Map<String, String> files = new LinkedHashMap<>();
    files.put("root.crt", pki.rootCertificatePem());
    files.put("client.pem", issued.certificate().certificatePem());
    files.put(
        RegistrationResponse.TUF_ROOT_JSON, new String(issued.tufRoot(), StandardCharsets.UTF_8));
    files.put(
        "sota.toml",
        SotaToml.render(gatewayUrl, device, request.sotaConfigDir(), request.overrides()));
    return files;
  }

  /**
   * The value of {@code overrides.pacman.<key>}, a literal TOML string such as {@code "\"main\""},
   * unquoted.
   */
  private static String tomlString(Map<String, Map<String, String>> overrides, String key) {
    if (overrides == null || overrides.get("pacman") == null) {
      return null;
    }
    String literal = overrides.get("pacman").get(key);
    if (literal == null) {
      return null;
    }
    String value = literal.strip();
    if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
      value = value.substring(1, value.length() - 1);
    }
    return value.isEmpty() ? null : value;
  }

  static Route csrRejected(CsrRejectedException e) {
    return Errors.error(StatusCodes.BAD_REQUEST, e.code(), e.getMessage());
  }

  /** The CSR check runs on the blocking dispatcher; its refusal arrives wrapped. */
  private static Optional<CsrRejectedException> csrRejection(Throwable failure) {
    Throwable cause = failure;
    while (cause instanceof CompletionException && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause instanceof CsrRejectedException rejected
        ? Optional.of(rejected)
        : Optional.empty();
  }
}
