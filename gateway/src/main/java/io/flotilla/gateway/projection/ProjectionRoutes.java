package io.flotilla.gateway.projection;

import static org.apache.pekko.http.javadsl.server.Directives.*;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.projection.ProjectionAdmin;
import io.flotilla.gateway.http.Authentication;
import io.flotilla.gateway.http.Errors;
import io.flotilla.gateway.http.JsonSupport;
import io.flotilla.gateway.http.Replies;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.projection.javadsl.ProjectionManagement;

/**
 * {@code GET /api/v1/projections}: every read-side projection, its stored offset, whether it is
 * stuck on an event and the events skipped so far. {@code POST
 * /api/v1/projections/{name}/{key}/skip} with {@code {"persistenceId": "...", "sequenceNr": N}}:
 * the projection passes over that event at its next retry. {@code POST
 * /api/v1/projections/{name}/rebuild}: its tables emptied and its events replayed from the first
 * ({@link ProjectionAdmin#rebuild}), answered once the replay has started; {@code GET
 * /api/v1/projections/{name}/progress}: events stored of those written, per key. Admin token only.
 */
public final class ProjectionRoutes {

  public record SkipRequest(String persistenceId, Long sequenceNr) {}

  private final FlotillaCore core;
  private final Authentication auth;

  public ProjectionRoutes(FlotillaCore core, Authentication auth) {
    this.core = core;
    this.auth = auth;
  }

  public Route route() {
    ProjectionAdmin admin = core.projectionAdmin();
    return pathPrefix(
        "projections",
        () ->
            concat(
                pathEndOrSingleSlash(
                    () -> get(() -> auth.adminOnly(() -> Replies.json(admin.list())))),
                path(
                    segment().slash("rebuild"),
                    name ->
                        post(
                            () ->
                                auth.adminOnly(
                                    () ->
                                        rebuildable(
                                            admin,
                                            name,
                                            () ->
                                                Replies.json(
                                                    StatusCodes.ACCEPTED,
                                                    admin.rebuild(
                                                        name,
                                                        ProjectionManagement.get(
                                                            core.system()))))))),
                path(
                    segment().slash("progress"),
                    name ->
                        get(
                            () ->
                                auth.adminOnly(
                                    () ->
                                        rebuildable(
                                            admin,
                                            name,
                                            () -> Replies.json(admin.progress(name)))))),
                path(
                    segment().slash(segment()).slash("skip"),
                    (name, key) ->
                        post(
                            () ->
                                auth.adminOnly(
                                    () ->
                                        entity(
                                            JsonSupport.unmarshaller(SkipRequest.class),
                                            request -> skip(admin, name, key, request)))))));
  }

  private static Route rebuildable(
      ProjectionAdmin admin, String name, java.util.function.Supplier<Route> inner) {
    if (!admin.rebuildable(name)) {
      return Errors.notFound(
          "no projection "
              + name
              + " to rebuild; known: "
              + String.join(", ", new java.util.TreeSet<>(ProjectionAdmin.TABLES.keySet())));
    }
    return inner.get();
  }

  private Route skip(ProjectionAdmin admin, String name, String key, SkipRequest request) {
    if (!admin.knows(name, key)) {
      return Errors.notFound("no projection " + name + "/" + key);
    }
    if (request == null
        || request.persistenceId() == null
        || request.persistenceId().isEmpty()
        || request.persistenceId().length() > ProjectionAdmin.MAX_PERSISTENCE_ID) {
      return Errors.badRequest(
          "persistenceId is required, at most "
              + ProjectionAdmin.MAX_PERSISTENCE_ID
              + " characters");
    }
    if (request.sequenceNr() == null || request.sequenceNr() < 1) {
      return Errors.badRequest("sequenceNr must be 1 or more");
    }
    return Replies.json(admin.skip(name, key, request.persistenceId(), request.sequenceNr()));
  }
}
