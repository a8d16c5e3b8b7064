package io.flotilla.gateway.device;

import static org.apache.pekko.http.javadsl.server.Directives.*;

import io.flotilla.gateway.http.Errors;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The apps proxy, as fioup and composeapp use Foundries' ({@code pacman.compose_apps_proxy} in
 * sota.toml). composeapp reaches registries only over HTTPS and trusts only the system roots, while
 * Flotilla's registry is plain HTTP on the API port. So fioup {@code POST}s to {@code
 * /app-proxy-url} over mutual TLS (fioup {@code pkg/config/config.go}, {@code getComposeAppProxy})
 * and gets {@code 201} with a URL as the body; composeapp then sends every registry request to that
 * URL, the request's path joined after the URL's ({@code pkg/compose/provider.go}, {@code
 * tokenProxyTripper}), trusting {@code import.tls_cacert_path}, but without a client certificate.
 *
 * <p>The URL is {@code <gateway>/apps-proxy/<capability>} on the device port: the capability,
 * short-lived and stateless ({@link DeviceHubCredentials#proxyCapability}), is what authorizes, so
 * no docker credentials are involved and the device port asks no certificate of these requests.
 * Behind it only the registry's read side of the device's own factory is served (manifests and
 * blobs by digest, GET and HEAD).
 */
final class AppsProxy {

  static final String URL_PATH = "app-proxy-url";
  static final String PREFIX = "apps-proxy";

  /**
   * The registry's read side for one factory; {@code path} is the registry path, {@code /v2/...}.
   */
  @FunctionalInterface
  public interface RegistryReads {
    CompletionStage<HttpResponse> read(HttpRequest request, String path, String factory);
  }

  private final DeviceHubCredentials credentials;
  private final Duration ttl;

  AppsProxy(DeviceHubCredentials credentials, Duration ttl) {
    this.credentials = credentials;
    this.ttl = ttl;
  }

  /**
   * The proxy URL for a device; {@code gatewayUrl} is the device port's public URL, without a
   * trailing slash.
   */
  String url(String gatewayUrl, String factory, String uuid, Instant now) {
    return gatewayUrl
        + "/"
        + PREFIX
        + "/"
        + credentials.proxyCapability(factory, uuid, now.plus(ttl));
  }

  /**
   * Everything under {@code /apps-proxy/}: it never rejects, so these requests never reach the
   * device routes, which want a client certificate.
   */
  Route route(RegistryReads registry) {
    return pathPrefix(
        PREFIX,
        () ->
            concat(
                pathPrefix(
                    PathMatchers.segment(),
                    capability ->
                        credentials
                            .verifyProxyCapability(capability, Instant.now())
                            .<Route>map(
                                factory ->
                                    extractRequest(
                                        request ->
                                            extractUnmatchedPath(
                                                path ->
                                                    completeWithFuture(
                                                        registry.read(request, path, factory)))))
                            .orElseGet(
                                () ->
                                    Errors.forbidden(
                                        "the apps proxy URL is not valid, or has expired: POST /"
                                            + URL_PATH
                                            + " for a new one"))),
                Errors.notFound("the apps proxy serves /" + PREFIX + "/<capability>/v2/...")));
  }
}
