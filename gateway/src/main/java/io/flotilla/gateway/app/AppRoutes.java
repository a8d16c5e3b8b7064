package io.flotilla.gateway.app;

import static org.apache.pekko.http.javadsl.server.Directives.*;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.app.AppQueries;
import io.flotilla.core.auth.Scope;
import io.flotilla.gateway.http.Authentication;
import io.flotilla.gateway.http.Errors;
import io.flotilla.gateway.http.JsonSupport;
import io.flotilla.gateway.http.Replies;
import java.util.List;
import org.apache.pekko.http.javadsl.server.Route;

/** A factory's compose apps and their published versions (read side). */
public final class AppRoutes {

  public record AppSummary(String name, AppQueries.VersionRow latest, int versions) {}

  public record AppList(List<AppSummary> apps) {}

  private final FlotillaCore core;
  private final Authentication auth;

  public AppRoutes(FlotillaCore core, Authentication auth) {
    this.core = core;
    this.auth = auth;
  }

  public Route route(String factory) {
    return pathPrefix(
        "apps",
        () ->
            auth.authorized(
                factory,
                Scope.TARGETS_READ,
                () ->
                    concat(
                        pathEndOrSingleSlash(
                            () ->
                                get(
                                    () ->
                                        Replies.json(
                                            core.appQueries()
                                                .apps(factory)
                                                .thenApply(
                                                    apps ->
                                                        new AppList(
                                                            apps.stream()
                                                                .map(
                                                                    a ->
                                                                        new AppSummary(
                                                                            a.name(),
                                                                            a.versions().get(0),
                                                                            a.versions().size()))
                                                                .toList()))))),
                        path(
                            segment(),
                            app ->
                                get(
                                    () ->
                                        Replies.whenDone(
                                            core.appQueries().app(factory, app),
                                            rows ->
                                                rows.isEmpty()
                                                    ? Errors.notFound(
                                                        "no app " + app + " in factory " + factory)
                                                    : complete(
                                                        org.apache.pekko.http.javadsl.model
                                                            .StatusCodes.OK,
                                                        rows.get(0),
                                                        JsonSupport.marshaller())))))));
  }
}
