package io.flotilla.gateway.build;

import static org.apache.pekko.http.javadsl.server.Directives.*;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import io.flotilla.builder.BuilderService;
import io.flotilla.builder.build.Build;
import io.flotilla.builder.build.BuildQueries;
import io.flotilla.core.FlotillaCore;
import io.flotilla.core.auth.Scope;
import io.flotilla.core.factory.Factory;
import io.flotilla.gateway.http.Authentication;
import io.flotilla.gateway.http.Errors;
import io.flotilla.gateway.http.JsonSupport;
import io.flotilla.gateway.http.Replies;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.pattern.Patterns;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Repository;

/**
 * A factory's builds: list, status with steps, the log (streamed while the build runs), cancel, and
 * a rebuild of a commit. Reading needs {@code containers:read}, starting and canceling {@code
 * containers:push}.
 */
public final class BuildRoutes {

  public record BuildList(List<BuildQueries.BuildRow> builds) {}

  /** {@code branch} picks the tag through the factory's mapping unless {@code tag} is given. */
  public record RebuildRequest(String commit, String branch, String tag) {}

  private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");
  private static final Duration LOG_POLL = Duration.ofMillis(500);

  private final FlotillaCore core;
  private final BuilderService builder;
  private final Authentication auth;

  public BuildRoutes(FlotillaCore core, BuilderService builder, Authentication auth) {
    this.core = core;
    this.builder = builder;
    this.auth = auth;
  }

  public Route route(String factory) {
    return pathPrefix(
        "builds",
        () ->
            concat(
                pathEndOrSingleSlash(
                    () ->
                        concat(
                            get(
                                () ->
                                    auth.authorized(
                                        factory,
                                        Scope.CONTAINERS_READ,
                                        () ->
                                            parameterOptional(
                                                "limit", limit -> list(factory, limit)))),
                            post(
                                () ->
                                    auth.authorized(
                                        factory,
                                        Scope.CONTAINERS_PUSH,
                                        () ->
                                            entity(
                                                JsonSupport.unmarshaller(RebuildRequest.class),
                                                body -> rebuild(factory, body)))))),
                pathPrefix(
                    segment(),
                    number -> {
                      Optional<Long> parsed =
                          number.matches("[0-9]{1,18}")
                              ? Optional.of(Long.parseLong(number))
                              : Optional.empty();
                      if (parsed.isEmpty() || parsed.get() < 1) {
                        return Errors.badRequest(
                            "build number must be a positive integer, not '" + number + "'");
                      }
                      long n = parsed.get();
                      return concat(
                          pathEndOrSingleSlash(
                              () ->
                                  get(
                                      () ->
                                          auth.authorized(
                                              factory,
                                              Scope.CONTAINERS_READ,
                                              () ->
                                                  Replies.json(
                                                      builder
                                                          .build(factory, n)
                                                          .<Build.Summary>askWithStatus(
                                                              Build.Get::new,
                                                              core.askTimeout()))))),
                          path(
                              "log",
                              () ->
                                  get(
                                      () ->
                                          auth.authorized(
                                              factory,
                                              Scope.CONTAINERS_READ,
                                              () ->
                                                  parameterOptional(
                                                      "follow",
                                                      follow ->
                                                          log(
                                                              factory,
                                                              n,
                                                              !follow
                                                                  .orElse("true")
                                                                  .equals("false")))))),
                          path(
                              "cancel",
                              () ->
                                  post(
                                      () ->
                                          auth.authorized(
                                              factory,
                                              Scope.CONTAINERS_PUSH,
                                              () ->
                                                  Replies.json(
                                                      builder
                                                          .build(factory, n)
                                                          .<Build.Summary>askWithStatus(
                                                              r -> new Build.Cancel("api", r),
                                                              core.askTimeout()))))));
                    })));
  }

  private Route list(String factory, Optional<String> limit) {
    int max = 50;
    if (limit.isPresent()) {
      if (!limit.get().matches("[0-9]{1,4}")
          || Integer.parseInt(limit.get()) < 1
          || Integer.parseInt(limit.get()) > 1000) {
        return Errors.badRequest("limit must be an integer from 1 to 1000");
      }
      max = Integer.parseInt(limit.get());
    }
    return Replies.json(builder.queries().builds(factory, max).thenApply(BuildList::new));
  }

  private Route rebuild(String factory, RebuildRequest body) {
    if (body == null || body.commit() == null || !COMMIT.matcher(body.commit()).matches()) {
      return Errors.badRequest(
          "commit must be a full git commit id (40 lower-case hex characters)");
    }
    String branch = body.branch() == null ? "main" : body.branch();
    if (!Factory.BRANCH_OR_TAG.matcher(branch).matches()
        || (body.tag() != null && !Factory.BRANCH_OR_TAG.matcher(body.tag()).matches())) {
      return Errors.badRequest("branch and tag must match " + Factory.BRANCH_OR_TAG.pattern());
    }
    CompletionStage<Factory.Summary> factorySummary =
        core.factory(factory).askWithStatus(Factory.Get::new, core.askTimeout());
    return Replies.whenDone(
        factorySummary,
        summary -> {
          String tag = body.tag() != null ? body.tag() : summary.branchTags().get(branch);
          if (tag == null) {
            return Errors.badRequest(
                "branch " + branch + " maps to no tag; give a tag or map the branch first");
          }
          return Replies.whenDone(
              commitExists(factory, body.commit()),
              exists ->
                  exists
                      ? Replies.json(
                          StatusCodes.CREATED,
                          builder.start(factory, body.commit(), branch, tag, "api"))
                      : Errors.notFound(
                          "commit "
                              + body.commit()
                              + " is not in "
                              + factory
                              + "'s containers.git"));
        });
  }

  private CompletionStage<Boolean> commitExists(String factory, String commit) {
    return CompletableFuture.supplyAsync(
        () -> {
          try (Repository repository = builder.repos().open(factory)) {
            return repository.getObjectDatabase().has(ObjectId.fromString(commit))
                && repository.parseCommit(ObjectId.fromString(commit)) != null;
          } catch (IOException e) {
            return false;
          }
        },
        builder.blocking());
  }

  private record Cursor(int next, boolean finished, boolean first) {}

  /**
   * Streams the log as plain text: what exists now, then new lines as they come until the build
   * finishes.
   */
  private Route log(String factory, long number, boolean follow) {
    CompletionStage<Build.LogChunk> first =
        builder
            .build(factory, number)
            .askWithStatus(r -> new Build.GetLog(0, r), core.askTimeout());
    return Replies.whenDone(
        first,
        chunk -> {
          Source<ByteString, NotUsed> rest =
              Source.unfoldAsync(
                  new Cursor(chunk.next(), chunk.finished() || !follow, true),
                  cursor -> {
                    if (cursor.finished()) {
                      return CompletableFuture.completedFuture(Optional.empty());
                    }
                    return Patterns.after(
                            LOG_POLL,
                            core.system().classicSystem().scheduler(),
                            core.system().executionContext(),
                            () ->
                                builder
                                    .build(factory, number)
                                    .<Build.LogChunk>askWithStatus(
                                        r -> new Build.GetLog(cursor.next(), r), core.askTimeout()))
                        .thenApply(
                            next ->
                                Optional.of(
                                    Pair.create(
                                        new Cursor(next.next(), next.finished(), false),
                                        lines(next.lines()))));
                  });
          Source<ByteString, NotUsed> body =
              Source.single(lines(chunk.lines())).concat(rest).filter(b -> !b.isEmpty());
          return complete(
              HttpResponse.create()
                  .withEntity(HttpEntities.createChunked(ContentTypes.TEXT_PLAIN_UTF8, body)));
        });
  }

  private static ByteString lines(List<String> lines) {
    StringBuilder text = new StringBuilder();
    lines.forEach(line -> text.append(line).append('\n'));
    return ByteString.fromString(text.toString(), StandardCharsets.UTF_8);
  }
}
