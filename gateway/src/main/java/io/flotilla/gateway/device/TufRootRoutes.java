package io.flotilla.gateway.device;

import static org.apache.pekko.http.javadsl.server.Directives.*;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.auth.Scope;
import io.flotilla.core.factory.Factory;
import io.flotilla.core.tuf.TufRoots;
import io.flotilla.gateway.http.Authentication;
import io.flotilla.gateway.http.Errors;
import io.flotilla.gateway.http.Replies;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * A factory's TUF roots on the operator API, below {@code /api/v1/factories/{f}/tuf/}: {@code GET
 * root.json} (the newest, to bake into a device image as fiotuf's {@code
 * /usr/lib/sota/tuf/ci/1.root.json}), {@code GET <N>.root.json}, and {@code POST root-rotations},
 * which writes root N+1 under a new root key and answers it (201) once it is on disk. Answers are
 * the exact bytes devices get from {@code /repo/}.
 */
final class TufRootRoutes {

  private static final Pattern VERSIONED = Pattern.compile("([0-9]{1,9})\\.root\\.json");

  private final FlotillaCore core;
  private final Authentication auth;
  private final TufRoots roots;

  TufRootRoutes(FlotillaCore core, Authentication auth, TufRoots roots) {
    this.core = core;
    this.auth = auth;
    this.roots = roots;
  }

  Route route(String factory) {
    return pathPrefix(
        "tuf",
        () ->
            concat(
                path(
                    "root.json",
                    () ->
                        get(
                            () ->
                                auth.member(
                                    factory,
                                    () ->
                                        ofExisting(
                                            factory,
                                            StatusCodes.OK,
                                            () -> roots.latest(factory))))),
                path(
                    PathMatchers.segment(VERSIONED),
                    version ->
                        get(
                            () ->
                                auth.member(
                                    factory, () -> version(factory, Integer.parseInt(version))))),
                path(
                    "root-rotations",
                    () ->
                        post(
                            () ->
                                auth.authorized(
                                    factory,
                                    Scope.ADMIN,
                                    () ->
                                        ofExisting(
                                            factory,
                                            StatusCodes.CREATED,
                                            () -> roots.rotate(factory)))))));
  }

  private Route version(String factory, int version) {
    return whenFactoryExists(
        factory,
        () ->
            onComplete(
                CompletableFuture.supplyAsync(
                    () -> roots.version(factory, version), core.blocking()),
                result ->
                    result.isFailure()
                        ? Errors.failure(result.failed().get())
                        : result
                            .get()
                            .map(root -> document(StatusCodes.OK, root))
                            .orElseGet(
                                () ->
                                    Errors.notFound(
                                        "factory "
                                            + factory
                                            + " has no root version "
                                            + version))));
  }

  /** File work and key generation run on the blocking dispatcher, after the factory is known. */
  private Route ofExisting(String factory, StatusCode status, Supplier<TufRoots.Root> root) {
    return whenFactoryExists(
        factory,
        () ->
            onComplete(
                CompletableFuture.supplyAsync(root, core.blocking()),
                result -> {
                  if (result.isSuccess()) {
                    return document(status, result.get());
                  }
                  Throwable failure = unwrap(result.failed().get());
                  return failure instanceof TufRoots.ConcurrentRotationException conflict
                      ? Errors.error(StatusCodes.CONFLICT, "conflict", conflict.getMessage())
                      : Errors.failure(failure);
                }));
  }

  /** An unknown factory is a 404 before any file is made for it. */
  private Route whenFactoryExists(String factory, Supplier<Route> inner) {
    Function<Factory.Summary, Route> onFound = summary -> inner.get();
    return Replies.whenDone(
        core.factory(factory).askWithStatus(Factory.Get::new, core.askTimeout()), onFound);
  }

  private static Route document(StatusCode status, TufRoots.Root root) {
    return complete(
        HttpResponse.create()
            .withStatus(status)
            .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, root.body())));
  }

  private static Throwable unwrap(Throwable failure) {
    Throwable cause = failure;
    while (cause instanceof CompletionException && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause;
  }
}
