package io.flotilla.gateway.factory;

import static org.apache.pekko.http.javadsl.server.Directives.*;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.Limits;
import io.flotilla.core.ReadYourWrites.Projected;
import io.flotilla.core.auth.ApiToken;
import io.flotilla.core.auth.Scope;
import io.flotilla.core.factory.Factory;
import io.flotilla.gateway.http.Authentication;
import io.flotilla.gateway.http.Errors;
import io.flotilla.gateway.http.JsonSupport;
import io.flotilla.gateway.http.Replies;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

/** Factories, their API tokens and their branch → tag mapping under {@code /api/v1/factories}. */
public final class FactoryRoutes {

  public record CreateFactoryRequest(String name, List<String> platforms) {}

  public record CreateTokenRequest(String description, List<String> scopes) {}

  /** The only answer that ever shows a token's secret. */
  public record CreatedToken(
      String id, String token, String description, List<String> scopes, Instant createdAt) {}

  public record BranchTagRequest(String tag) {}

  public record FactoryList(List<?> factories) {}

  public record TokenList(List<?> tokens) {}

  private final FlotillaCore core;
  private final Authentication auth;

  public FactoryRoutes(FlotillaCore core, Authentication auth) {
    this.core = core;
    this.auth = auth;
  }

  /**
   * Routes below {@code /api/v1/factories}. {@code perFactory} serves everything below {@code
   * /factories/{name}/} that other features add (targets, apps, ...).
   */
  public Route route(Function<String, Route> perFactory) {
    return pathPrefix(
        "factories",
        () ->
            concat(
                pathEndOrSingleSlash(
                    () -> concat(post(this::createFactory), get(this::listFactories))),
                pathPrefix(
                    segment(),
                    factory ->
                        concat(
                            pathEndOrSingleSlash(() -> get(() -> getFactory(factory))),
                            pathPrefix("tokens", () -> tokens(factory)),
                            path(
                                segment("branches").slash(segment()),
                                branch -> put(() -> setBranchTag(factory, branch))),
                            perFactory.apply(factory)))));
  }

  private Route createFactory() {
    return auth.adminOnly(
        () ->
            entity(
                JsonSupport.unmarshaller(CreateFactoryRequest.class),
                request -> {
                  if (request.name() == null || !Factory.NAME.matcher(request.name()).matches()) {
                    return Errors.badRequest("name must match " + Factory.NAME.pattern());
                  }
                  String problem =
                      Limits.listProblem(
                          "platforms", request.platforms(), Limits.PLATFORMS, Limits.PLATFORM);
                  if (problem != null) {
                    return Errors.badRequest(problem);
                  }
                  return Replies.json(
                      StatusCodes.CREATED,
                      core.factory(request.name())
                          .<Factory.Summary>askWithStatus(
                              replyTo -> new Factory.Create(request.platforms(), replyTo),
                              core.askTimeout())
                          .thenCompose(
                              created ->
                                  core.readYourWrites()
                                      .projected(
                                          created, List.of(Projected.factory(request.name())))));
                }));
  }

  private Route listFactories() {
    return auth.adminOnly(
        () -> Replies.json(core.factoryQueries().factories().thenApply(FactoryList::new)));
  }

  private Route getFactory(String factory) {
    return auth.member(
        factory,
        () ->
            Replies.json(core.factory(factory).askWithStatus(Factory.Get::new, core.askTimeout())));
  }

  private Route tokens(String factory) {
    return concat(
        pathEndOrSingleSlash(
            () ->
                concat(
                    post(() -> auth.authorized(factory, Scope.ADMIN, () -> createToken(factory))),
                    get(
                        () ->
                            auth.authorized(
                                factory,
                                Scope.ADMIN,
                                () ->
                                    Replies.json(
                                        core.factoryQueries()
                                            .tokens(factory)
                                            .thenApply(TokenList::new)))))),
        path(
            segment(),
            tokenId ->
                delete(
                    () ->
                        auth.authorized(
                            factory,
                            Scope.ADMIN,
                            () ->
                                Replies.whenDone(
                                    core.factory(factory)
                                        .<org.apache.pekko.Done>askWithStatus(
                                            replyTo -> new Factory.RevokeToken(tokenId, replyTo),
                                            core.askTimeout())
                                        .thenCompose(
                                            done ->
                                                core.readYourWrites()
                                                    .projected(
                                                        done, List.of(Projected.factory(factory)))),
                                    done -> complete(StatusCodes.NO_CONTENT))))));
  }

  private Route createToken(String factory) {
    return entity(
        JsonSupport.unmarshaller(CreateTokenRequest.class),
        request -> {
          String problem = Factory.scopesProblem(request.scopes());
          if (problem == null) {
            problem = Limits.textProblem("description", request.description());
          }
          if (problem != null) {
            return Errors.badRequest(problem);
          }
          ApiToken token = ApiToken.newFactoryToken(factory);
          return Replies.json(
              StatusCodes.CREATED,
              core.factory(factory)
                  .<Factory.TokenInfo>askWithStatus(
                      replyTo ->
                          new Factory.CreateToken(
                              token.id(),
                              request.description(),
                              request.scopes(),
                              token.secretHash(),
                              replyTo),
                      core.askTimeout())
                  .thenApply(
                      info ->
                          new CreatedToken(
                              info.id(),
                              token.value(),
                              info.description(),
                              info.scopes(),
                              info.createdAt()))
                  .thenCompose(
                      created ->
                          core.readYourWrites()
                              .projected(created, List.of(Projected.factory(factory)))));
        });
  }

  private Route setBranchTag(String factory, String branch) {
    return auth.authorized(
        factory,
        Scope.ADMIN,
        () ->
            entity(
                JsonSupport.unmarshaller(BranchTagRequest.class),
                request ->
                    Replies.json(
                        core.factory(factory)
                            .<Factory.Summary>askWithStatus(
                                replyTo -> new Factory.SetBranchTag(branch, request.tag(), replyTo),
                                core.askTimeout())
                            .thenApply(summary -> Map.of("branches", summary.branchTags())))));
  }
}
