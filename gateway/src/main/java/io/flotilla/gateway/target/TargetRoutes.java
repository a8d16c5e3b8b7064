package io.flotilla.gateway.target;

import static org.apache.pekko.http.javadsl.server.Directives.*;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.Limits;
import io.flotilla.core.ReadYourWrites.Projected;
import io.flotilla.core.app.App;
import io.flotilla.core.auth.Scope;
import io.flotilla.core.factory.Factory;
import io.flotilla.core.target.Target;
import io.flotilla.core.target.Targets;
import io.flotilla.gateway.http.Authentication;
import io.flotilla.gateway.http.Errors;
import io.flotilla.gateway.http.JsonSupport;
import io.flotilla.gateway.http.Replies;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * A factory's targets: list (read side), add (as {@code fioctl targets add}), re-tag, prune (as
 * {@code fioctl targets prune}).
 */
public final class TargetRoutes {

  /**
   * {@code hardwareIds} defaults to all of the factory's platforms; {@code version} to the next
   * one.
   */
  public record AddTargetsRequest(
      List<String> hardwareIds,
      Long version,
      List<String> tags,
      Map<String, String> apps,
      String containersSha) {}

  public record TagsRequest(List<String> tags) {}

  public record TargetListResponse(List<Target> targets) {}

  private final FlotillaCore core;
  private final Authentication auth;

  public TargetRoutes(FlotillaCore core, Authentication auth) {
    this.core = core;
    this.auth = auth;
  }

  public Route route(String factory) {
    return pathPrefix(
        "targets",
        () ->
            concat(
                pathEndOrSingleSlash(
                    () ->
                        concat(
                            get(
                                () ->
                                    auth.authorized(
                                        factory,
                                        Scope.TARGETS_READ,
                                        () ->
                                            parameterOptional(
                                                "tag",
                                                tag ->
                                                    tag.isPresent()
                                                            && !Limits.BRANCH_OR_TAG
                                                                .matcher(tag.get())
                                                                .matches()
                                                        ? Errors.badRequest(
                                                            "tag must match "
                                                                + Limits.BRANCH_OR_TAG.pattern())
                                                        : Replies.json(
                                                            core.targetQueries()
                                                                .targets(factory, tag.orElse(null))
                                                                .thenApply(
                                                                    TargetListResponse::new))))),
                            post(
                                () ->
                                    auth.authorized(
                                        factory, Scope.TARGETS_WRITE, () -> add(factory))))),
                path(
                    segment(),
                    name ->
                        concat(
                            patch(
                                () ->
                                    auth.authorized(
                                        factory,
                                        Scope.TARGETS_WRITE,
                                        () -> setTags(factory, name))),
                            delete(
                                () ->
                                    auth.authorized(
                                        factory,
                                        Scope.TARGETS_WRITE,
                                        () ->
                                            Replies.json(
                                                core.targets(factory)
                                                    .<Target>askWithStatus(
                                                        replyTo -> new Targets.Prune(name, replyTo),
                                                        core.askTimeout())
                                                    .thenCompose(
                                                        target ->
                                                            core.readYourWrites()
                                                                .projected(
                                                                    target,
                                                                    List.of(
                                                                        Projected.targets(
                                                                            factory)))))))))));
  }

  private Route setTags(String factory, String name) {
    return entity(
        JsonSupport.unmarshaller(TagsRequest.class),
        request -> {
          String problem =
              Limits.listProblem("tags", request.tags(), Limits.TARGET_TAGS, Limits.BRANCH_OR_TAG);
          if (problem != null) {
            return Errors.badRequest(problem);
          }
          return Replies.json(
              core.targets(factory)
                  .<Target>askWithStatus(
                      replyTo -> new Targets.SetTags(name, request.tags(), replyTo),
                      core.askTimeout())
                  .thenCompose(
                      target ->
                          core.readYourWrites()
                              .projected(target, List.of(Projected.targets(factory)))));
        });
  }

  private Route add(String factory) {
    return entity(
        JsonSupport.unmarshaller(AddTargetsRequest.class),
        request -> {
          String problem = problem(request);
          if (problem != null) {
            return Errors.badRequest(problem);
          }
          return Replies.whenDone(
              core.factory(factory).askWithStatus(Factory.Get::new, core.askTimeout()),
              summary -> {
                List<String> hardwareIds =
                    request.hardwareIds() == null || request.hardwareIds().isEmpty()
                        ? summary.platforms()
                        : request.hardwareIds();
                for (String hardwareId : hardwareIds) {
                  if (!summary.platforms().contains(hardwareId)) {
                    return Errors.badRequest(
                        "hardware id '"
                            + hardwareId
                            + "' is not a platform of factory "
                            + factory
                            + " "
                            + summary.platforms());
                  }
                }
                CompletionStage<Targets.Added> added =
                    core.targets(factory)
                        .<Targets.Added>askWithStatus(
                            replyTo ->
                                new Targets.Add(
                                    hardwareIds,
                                    request.version(),
                                    request.tags(),
                                    request.apps(),
                                    request.containersSha(),
                                    replyTo),
                            core.askTimeout());
                return Replies.json(
                    StatusCodes.CREATED,
                    added.thenCompose(result -> recordAppVersions(factory, result.targets())));
              });
        });
  }

  /** The bounds the Targets entity checks again, here so that a bad request never costs an ask. */
  private static String problem(AddTargetsRequest request) {
    if (request.version() != null
        && (request.version() < 1 || request.version() > Limits.MAX_VERSION)) {
      return Targets.versionProblem();
    }
    String problem =
        Limits.listProblem(
            "hardware ids", request.hardwareIds(), Limits.PLATFORMS, Limits.PLATFORM);
    if (problem == null) {
      problem =
          Limits.listProblem("tags", request.tags(), Limits.TARGET_TAGS, Limits.BRANCH_OR_TAG);
    }
    if (problem == null && request.apps() != null && request.apps().size() > Limits.TARGET_APPS) {
      problem = "a target holds at most " + Limits.TARGET_APPS + " apps";
    }
    if (problem == null
        && request.containersSha() != null
        && !Limits.COMMIT.matcher(request.containersSha()).matches()) {
      problem = "containers sha must be a git commit id (hex)";
    }
    return problem;
  }

  /**
   * Every app a target names is a published version of that app; publishing is idempotent per
   * digest.
   */
  private CompletionStage<TargetListResponse> recordAppVersions(
      String factory, List<Target> targets) {
    Target first = targets.get(0);
    List<CompletableFuture<App.Version>> publishes = new ArrayList<>();
    first
        .apps()
        .forEach(
            (app, uri) ->
                publishes.add(
                    core.app(factory, app)
                        .<App.Version>askWithStatus(
                            replyTo ->
                                new App.Publish(
                                    uri, first.containersSha(), first.version(), replyTo),
                            core.askTimeout())
                        .toCompletableFuture()));
    List<Projected> written = new ArrayList<>(List.of(Projected.targets(factory)));
    first.apps().keySet().forEach(app -> written.add(Projected.app(factory, app)));
    return CompletableFuture.allOf(publishes.toArray(CompletableFuture[]::new))
        .thenCompose(
            done -> core.readYourWrites().projected(new TargetListResponse(targets), written));
  }
}
