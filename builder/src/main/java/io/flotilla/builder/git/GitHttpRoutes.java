package io.flotilla.builder.git;

import static org.apache.pekko.http.javadsl.server.Directives.*;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.auth.Access;
import io.flotilla.core.auth.Credentials;
import io.flotilla.core.auth.Decision;
import io.flotilla.core.auth.Scope;
import io.flotilla.protocol.ApiError;
import io.flotilla.protocol.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.CacheControl;
import org.apache.pekko.http.javadsl.model.headers.CacheDirectives;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.StreamConverters;
import org.apache.pekko.util.ByteString;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.transport.PacketLineOut;
import org.eclipse.jgit.transport.ReceiveCommand;
import org.eclipse.jgit.transport.ReceivePack;
import org.eclipse.jgit.transport.RefAdvertiser;
import org.eclipse.jgit.transport.UploadPack;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * git's smart HTTP protocol for {@code /git/<factory>/containers.git}, served by driving JGit's
 * UploadPack and ReceivePack in stateless-RPC mode (there is no servlet container): {@code GET
 * info/refs?service=...} answers the ref advertisement, {@code POST git-upload-pack} and {@code
 * POST git-receive-pack} stream the request body into JGit and its answer back, on the blocking
 * dispatcher. HTTP basic auth with a factory token as the password: {@code containers:read} to
 * fetch, {@code containers:push} to push.
 */
public final class GitHttpRoutes {

  private static final Logger log = LoggerFactory.getLogger(GitHttpRoutes.class);
  private static final String UPLOAD = "git-upload-pack";
  private static final String RECEIVE = "git-receive-pack";
  private static final Duration BODY_TIMEOUT = Duration.ofMinutes(5);

  private final FlotillaCore core;
  private final ContainerRepos repos;
  private final BuildTrigger trigger;
  private final Executor blocking;
  private final Materializer materializer;

  public GitHttpRoutes(
      FlotillaCore core, ContainerRepos repos, BuildTrigger trigger, Executor blocking) {
    this.core = core;
    this.repos = repos;
    this.trigger = trigger;
    this.blocking = blocking;
    this.materializer = Materializer.matFromSystem(core.system());
  }

  public Route route() {
    return pathPrefix(
        "git",
        () ->
            pathPrefix(
                factory ->
                    pathPrefix(
                        "containers.git",
                        () ->
                            concat(
                                pathPrefix(
                                    "info",
                                    () ->
                                        path(
                                            "refs",
                                            () ->
                                                get(
                                                    () ->
                                                        parameterOptional(
                                                            "service",
                                                            service ->
                                                                optionalHeaderValueByName(
                                                                    "Git-Protocol",
                                                                    protocol ->
                                                                        advertise(
                                                                            factory,
                                                                            service,
                                                                            isV2(protocol))))))),
                                path(
                                    UPLOAD,
                                    () ->
                                        post(
                                            () ->
                                                optionalHeaderValueByName(
                                                    "Git-Protocol",
                                                    protocol ->
                                                        serve(factory, UPLOAD, isV2(protocol))))),
                                path(RECEIVE, () -> post(() -> serve(factory, RECEIVE, false))),
                                complete(
                                    error(
                                        StatusCodes.NOT_FOUND,
                                        "not found",
                                        "containers.git serves only git's smart HTTP protocol"))))));
  }

  private record Caller(String subject) {}

  /** git asks for protocol v2 with this header; fetches then speak it (pushes have no v2). */
  private static boolean isV2(Optional<String> protocol) {
    return protocol.map(p -> List.of(p.split(":")).contains("version=2")).orElse(false);
  }

  private Route advertise(String factory, Optional<String> service, boolean v2) {
    if (service.isEmpty() || !(service.get().equals(UPLOAD) || service.get().equals(RECEIVE))) {
      return complete(
          error(
              StatusCodes.FORBIDDEN,
              "dumb protocol not supported",
              "use a git client that speaks the smart HTTP protocol (git 1.6.6+)"));
    }
    String name = service.get();
    return authorized(
        factory,
        scopeFor(name),
        caller ->
            completeWithFuture(
                CompletableFuture.supplyAsync(
                    () -> {
                      try (Repository repository = repos.open(factory)) {
                        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
                        PacketLineOut packets = new PacketLineOut(bytes);
                        RefAdvertiser.PacketLineOutRefAdvertiser advertiser =
                            new RefAdvertiser.PacketLineOutRefAdvertiser(packets);
                        if (!v2 || !name.equals(UPLOAD)) {
                          // v2 answers with its capabilities only, without the service line (as git
                          // http-backend does)
                          packets.writeString("# service=" + name + "\n");
                          packets.end();
                        }
                        if (name.equals(UPLOAD) && v2) {
                          UploadPack pack = new UploadPack(repository);
                          pack.setBiDirectionalPipe(false);
                          pack.setExtraParameters(List.of("version=2"));
                          java.io.ByteArrayOutputStream capabilities =
                              new java.io.ByteArrayOutputStream();
                          pack.sendAdvertisedRefs(
                              new RefAdvertiser.PacketLineOutRefAdvertiser(
                                  new PacketLineOut(capabilities)));
                          bytes.write(UnbornHead.advertise(capabilities.toByteArray()));
                        } else if (name.equals(UPLOAD)) {
                          UploadPack pack = new UploadPack(repository);
                          pack.setBiDirectionalPipe(false);
                          pack.sendAdvertisedRefs(advertiser);
                        } else {
                          ReceivePack pack = new ReceivePack(repository);
                          pack.setBiDirectionalPipe(false);
                          pack.sendAdvertisedRefs(advertiser);
                        }
                        return HttpResponse.create()
                            .withEntity(
                                HttpEntities.create(
                                    contentType("application/x-" + name + "-advertisement"),
                                    bytes.toByteArray()))
                            .addHeader(CacheControl.create(CacheDirectives.NO_CACHE));
                      } catch (IOException e) {
                        log.warn("advertising refs of {}: {}", factory, e.toString());
                        return error(
                            StatusCodes.INTERNAL_SERVER_ERROR, "git failed", e.getMessage());
                      }
                    },
                    blocking)));
  }

  private Route serve(String factory, String service, boolean v2) {
    return authorized(
        factory,
        scopeFor(service),
        caller ->
            extractRequest(
                request -> {
                  String expected = "application/x-" + service + "-request";
                  if (!request.entity().getContentType().mediaType().toString().equals(expected)) {
                    return complete(
                        error(
                            StatusCodes.UNSUPPORTED_MEDIA_TYPE,
                            "wrong content type",
                            "expected " + expected));
                  }
                  InputStream body =
                      request
                          .entity()
                          .getDataBytes()
                          .runWith(StreamConverters.asInputStream(BODY_TIMEOUT), materializer);
                  boolean gzip =
                      request
                          .getHeader("Content-Encoding")
                          .map(h -> h.value().equalsIgnoreCase("gzip"))
                          .orElse(false);
                  Source<ByteString, NotUsed> answer =
                      StreamConverters.asOutputStream(BODY_TIMEOUT)
                          .mapMaterializedValue(
                              out -> {
                                CompletableFuture.runAsync(
                                    () -> run(factory, service, v2, caller, gzip, body, out),
                                    blocking);
                                return NotUsed.getInstance();
                              });
                  return complete(
                      HttpResponse.create()
                          .withEntity(
                              HttpEntities.create(
                                  contentType("application/x-" + service + "-result"), answer))
                          .addHeader(CacheControl.create(CacheDirectives.NO_CACHE)));
                }));
  }

  private void run(
      String factory,
      String service,
      boolean v2,
      Caller caller,
      boolean gzip,
      InputStream body,
      OutputStream out) {
    try (Repository repository = repos.open(factory);
        OutputStream output = out;
        InputStream raw = body;
        InputStream input = gzip ? new GZIPInputStream(raw) : raw) {
      if (service.equals(UPLOAD)) {
        UploadPack pack = new UploadPack(repository);
        pack.setBiDirectionalPipe(false);
        if (v2) {
          pack.setExtraParameters(List.of("version=2"));
          pack.upload(
              UnbornHead.request(new java.io.BufferedInputStream(input, 65536), repository, output),
              output,
              null);
        } else {
          pack.upload(input, output, null);
        }
      } else {
        ReceivePack pack = new DurableReceivePack(repository);
        pack.setBiDirectionalPipe(false);
        pack.setAllowNonFastForwards(true);
        pack.setPostReceiveHook((rp, commands) -> onPushed(factory, caller, rp, commands));
        pack.receive(input, output, null);
      }
    } catch (IOException | RuntimeException e) {
      log.warn("{} on {} failed: {}", service, factory, e.toString());
    }
  }

  /**
   * Runs inside ReceivePack while its side band is still open, so what we send shows as {@code
   * remote:} lines.
   */
  private void onPushed(
      String factory,
      Caller caller,
      ReceivePack pack,
      java.util.Collection<ReceiveCommand> commands) {
    for (ReceiveCommand command : commands) {
      if (command.getType() == ReceiveCommand.Type.DELETE
          || !command.getRefName().startsWith("refs/heads/")) {
        continue;
      }
      String branch = command.getRefName().substring("refs/heads/".length());
      List<String> lines;
      try {
        lines =
            trigger
                .pushed(factory, branch, command.getNewId().name(), caller.subject())
                .toCompletableFuture()
                .get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        lines = List.of("flotilla: could not start a build of " + branch + ": " + e.getMessage());
      }
      lines.forEach(pack::sendMessage);
    }
  }

  private static Scope scopeFor(String service) {
    return service.equals(RECEIVE) ? Scope.CONTAINERS_PUSH : Scope.CONTAINERS_READ;
  }

  /**
   * {@link Access} decides; here its denial becomes git's wire form. 401 comes with a Basic
   * challenge, which makes git ask for (or send its stored) credentials, also for the server admin
   * token, which is no factory's token.
   */
  private Route authorized(
      String factory, Scope scope, java.util.function.Function<Caller, Route> inner) {
    return extractRequest(
        request -> {
          Credentials credentials =
              Credentials.basic(
                  request.getHeader("Authorization").map(h -> h.value()),
                  "a factory API token is required as the HTTP basic password");
          return onSuccess(
              core.access().authorize(credentials, Access.FACTORY_TOKENS, factory, scope),
              decision -> {
                if (decision instanceof Decision.Allowed allowed) {
                  return inner.apply(new Caller("token " + allowed.principal().id()));
                }
                Decision.Denied denied = (Decision.Denied) decision;
                return complete(
                    switch (denied.denial()) {
                      case UNAUTHENTICATED -> unauthorized(denied.detail());
                      case NOT_VISIBLE ->
                          error(StatusCodes.NOT_FOUND, "not_found", denied.detail());
                      case FORBIDDEN -> error(StatusCodes.FORBIDDEN, "forbidden", denied.detail());
                      case UNAVAILABLE, DATABASE_UNAVAILABLE ->
                          error(StatusCodes.SERVICE_UNAVAILABLE, "unavailable", denied.detail());
                    });
              });
        });
  }

  private static HttpResponse unauthorized(String detail) {
    return error(StatusCodes.UNAUTHORIZED, "unauthorized", detail)
        .addHeader(
            RawHeader.create("WWW-Authenticate", "Basic realm=\"flotilla\", charset=\"UTF-8\""));
  }

  static HttpResponse error(StatusCode status, String error, String detail) {
    return HttpResponse.create()
        .withStatus(status)
        .withEntity(ContentTypes.APPLICATION_JSON, Json.toBytes(new ApiError(error, detail)));
  }

  private static ContentType contentType(String mediaType) {
    String[] parts = mediaType.split("/", 2);
    return MediaTypes.customBinary(parts[0], parts[1], false).toContentType();
  }
}
