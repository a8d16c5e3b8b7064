package io.flotilla.gateway.rollout;

import static org.apache.pekko.http.javadsl.server.Directives.*;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.core.FlotillaCore;
import io.flotilla.core.Limits;
import io.flotilla.core.ReadYourWrites.Projected;
import io.flotilla.core.Rejection;
import io.flotilla.core.auth.Principal;
import io.flotilla.core.auth.Scope;
import io.flotilla.core.journal.JournalReader;
import io.flotilla.core.rollout.Rollout;
import io.flotilla.core.rollout.RolloutPlan;
import io.flotilla.core.rollout.RolloutProgress;
import io.flotilla.gateway.http.Authentication;
import io.flotilla.gateway.http.Errors;
import io.flotilla.gateway.http.JsonSupport;
import io.flotilla.gateway.http.Replies;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * Staged rollouts under {@code /api/v1/factories/{f}/rollouts} (docs/rollouts.md): created, paused,
 * resumed and canceled through the Rollout entity, listed from the read side, shown with per-phase
 * counts computed from the read side, and audited from the entity's journal.
 */
public final class RolloutRoutes {

  /** The most events the audit trail answers; a rollout writes a handful. */
  static final int MAX_AUDIT_EVENTS = 1000;

  static final int DEFAULT_LIMIT = 100;
  static final int MAX_LIMIT = 1000;

  /**
   * A phase as the API takes it: one selector, and the success condition (defaults from the
   * request).
   */
  record PhaseRequest(
      String name,
      String group,
      Map<String, String> labels,
      List<String> uuids,
      Integer count,
      Double percent,
      Double successShare,
      Long successWithinSeconds) {}

  /**
   * {@code phases}, or {@code growth}: percentages such as [1, 10, 50, 100], one phase each. {@code
   * successShare} and {@code successWithinSeconds} are the phases' defaults.
   */
  record CreateRequest(
      String id,
      String tag,
      Long version,
      List<PhaseRequest> phases,
      List<Double> growth,
      Double successShare,
      Long successWithinSeconds,
      Integer errorCount,
      Double errorShare,
      Boolean rollback) {}

  record RolloutView(
      String id,
      String tag,
      long version,
      String status,
      int startedPhases,
      String haltReason,
      boolean rolledBack,
      Instant thresholdCrossedAt,
      Instant haltedAt,
      String createdBy,
      Instant createdAt,
      Instant updatedAt,
      RolloutPlan plan,
      RolloutProgress progress) {}

  record RolloutListItem(
      String id,
      String tag,
      long version,
      String status,
      int startedPhases,
      String createdBy,
      Instant createdAt,
      Instant updatedAt) {}

  /** {@code nextCursor}: pass it as {@code cursor} for the next page; absent on the last. */
  record RolloutList(List<RolloutListItem> rollouts, String nextCursor) {}

  record AuditEntry(long sequenceNr, Instant at, String type, String by, JsonNode event) {}

  record Audit(List<AuditEntry> events) {}

  private final FlotillaCore core;
  private final Authentication auth;

  /**
   * This node's creations per factory and tag, each one until the read side has it: the next one
   * checks for an unfinished rollout of the tag only after the one before is there to be found.
   */
  private final ConcurrentHashMap<String, CompletableFuture<Void>> creating =
      new ConcurrentHashMap<>();

  public RolloutRoutes(FlotillaCore core, Authentication auth) {
    this.core = core;
    this.auth = auth;
  }

  /** The principal as the journal names it on each event. */
  public static String by(Principal principal) {
    return switch (principal.kind()) {
      case SERVER_ADMIN -> "admin";
      case FACTORY_TOKEN -> "token:" + principal.id();
      case DEVICE -> "device:" + principal.id();
    };
  }

  public Route route(String factory) {
    return pathPrefix(
        "rollouts",
        () ->
            concat(
                pathEndOrSingleSlash(
                    () ->
                        concat(
                            get(
                                () ->
                                    auth.authorized(
                                        factory, Scope.TARGETS_READ, () -> list(factory))),
                            post(
                                () ->
                                    auth.authorizedAs(
                                        factory,
                                        Scope.TARGETS_WRITE,
                                        principal -> create(factory, principal))))),
                pathPrefix(
                    segment(Limits.ROLLOUT_ID),
                    id ->
                        concat(
                            pathEndOrSingleSlash(
                                () ->
                                    get(
                                        () ->
                                            auth.authorized(
                                                factory,
                                                Scope.TARGETS_READ,
                                                () -> show(factory, id)))),
                            path(
                                "events",
                                () ->
                                    get(
                                        () ->
                                            auth.authorized(
                                                factory,
                                                Scope.TARGETS_READ,
                                                () -> audit(factory, id)))),
                            change(factory, id, "pause", Rollout.Pause::new),
                            change(factory, id, "resume", Rollout.Resume::new),
                            change(factory, id, "cancel", Rollout.Cancel::new)))));
  }

  /** An operator's command to a rollout: who and when, then where the answer goes. */
  private interface Change {
    Rollout.Command of(String by, Instant at, ActorRef<StatusReply<Rollout.Summary>> replyTo);
  }

  private Route change(String factory, String id, String action, Change change) {
    return path(
        action,
        () ->
            post(
                () ->
                    auth.authorizedAs(
                        factory,
                        Scope.TARGETS_WRITE,
                        principal -> {
                          String by = by(principal);
                          Instant now = Instant.now();
                          return Replies.json(
                              core.rollout(factory, id)
                                  .<Rollout.Summary>askWithStatus(
                                      replyTo -> change.of(by, now, replyTo), core.askTimeout())
                                  .thenCompose(s -> projected(factory, s)));
                        })));
  }

  private Route list(String factory) {
    return parameterMap(
        params -> {
          int limit;
          try {
            limit =
                params.containsKey("limit") ? Integer.parseInt(params.get("limit")) : DEFAULT_LIMIT;
          } catch (NumberFormatException e) {
            return Errors.badRequest("limit must be an integer from 1 to " + MAX_LIMIT);
          }
          if (limit < 1 || limit > MAX_LIMIT) {
            return Errors.badRequest("limit must be an integer from 1 to " + MAX_LIMIT);
          }
          String cursor = params.get("cursor");
          if (cursor != null && !Limits.ROLLOUT_ID.matcher(cursor).matches()) {
            return Errors.badRequest(
                "cursor must be a rollout id (" + Limits.ROLLOUT_ID.pattern() + ")");
          }
          return Replies.json(
              core.rolloutQueries()
                  .rollouts(factory, limit, cursor)
                  .thenApply(
                      page ->
                          new RolloutList(
                              page.rollouts().stream()
                                  .map(
                                      r ->
                                          new RolloutListItem(
                                              r.id(),
                                              r.tag(),
                                              r.version(),
                                              r.status(),
                                              r.gate().limits().size(),
                                              r.createdBy(),
                                              r.createdAt(),
                                              r.updatedAt()))
                                  .toList(),
                              page.nextCursor())));
        });
  }

  private Route create(String factory, Principal principal) {
    return entity(
        JsonSupport.strictUnmarshaller(CreateRequest.class),
        request -> {
          String problem = requestProblem(request);
          RolloutPlan plan = null;
          if (problem == null) {
            try {
              plan = plan(request);
              problem = plan.problem();
            } catch (IllegalArgumentException e) {
              problem = e.getMessage();
            }
          }
          if (problem != null) {
            return Errors.badRequest(problem);
          }
          RolloutPlan checked = plan;
          String by = by(principal);
          return Replies.json(
              StatusCodes.CREATED,
              oneAtATime(
                  factory + "/" + request.tag(),
                  () ->
                      core.rolloutQueries()
                          .unfinished(factory, request.tag())
                          .thenCompose(
                              unfinished ->
                                  unfinished.isEmpty()
                                      ? created(factory, request, checked, by)
                                      : CompletableFuture.failedFuture(
                                          Rejection.<RolloutView>conflict(
                                                  "rollout "
                                                      + unfinished.get(0).id()
                                                      + " of tag "
                                                      + request.tag()
                                                      + " is "
                                                      + unfinished.get(0).status()
                                                      + ": a tag has one running or paused"
                                                      + " rollout at a time (cancel it, or wait"
                                                      + " until it completes or halts)")
                                              .getError()))));
        });
  }

  private CompletionStage<RolloutView> created(
      String factory, CreateRequest request, RolloutPlan plan, String by) {
    return core.rollout(factory, request.id())
        .<Rollout.Summary>askWithStatus(
            replyTo ->
                new Rollout.Create(
                    request.tag(), request.version(), plan, by, Instant.now(), replyTo),
            core.askTimeout())
        .thenCompose(s -> projected(factory, s));
  }

  /**
   * Runs {@code work} after this node's earlier work of the same key has ended, so that two
   * creations for one tag sent at once do not both find the tag free.
   */
  private <T> CompletionStage<T> oneAtATime(String key, Supplier<CompletionStage<T>> work) {
    CompletableFuture<Void> mine = new CompletableFuture<>();
    CompletableFuture<Void> before = creating.put(key, mine);
    CompletionStage<T> run =
        (before == null ? CompletableFuture.<Void>completedFuture(null) : before)
            .thenCompose(ignored -> work.get());
    run.whenComplete(
        (value, failure) -> {
          creating.remove(key, mine);
          mine.complete(null);
        });
    return run;
  }

  /** What the entity would refuse, refused before a request reaches it. */
  static String requestProblem(CreateRequest request) {
    if (request.id() == null || !Limits.ROLLOUT_ID.matcher(request.id()).matches()) {
      return "id must match " + Limits.ROLLOUT_ID.pattern();
    }
    if (request.tag() == null || !Limits.DEVICE_TAG.matcher(request.tag()).matches()) {
      return "tag must match " + Limits.DEVICE_TAG.pattern();
    }
    if (request.version() == null) {
      return "version (the target version to roll out) is required";
    }
    if (request.version() < 1 || request.version() > Limits.MAX_VERSION) {
      return "version must be an integer from 1 to " + Limits.MAX_VERSION;
    }
    return null;
  }

  private static void atMostPhases(int phases) {
    if (phases > Limits.ROLLOUT_PHASES) {
      throw new IllegalArgumentException(
          "a rollout has at most " + Limits.ROLLOUT_PHASES + " phases");
    }
  }

  /** The request's plan; a growth rule becomes one percent phase per step. */
  static RolloutPlan plan(CreateRequest request) {
    double share =
        request.successShare() == null ? RolloutPlan.DEFAULT_SUCCESS_SHARE : request.successShare();
    long within =
        request.successWithinSeconds() == null
            ? RolloutPlan.DEFAULT_SUCCESS_WITHIN_SECONDS
            : request.successWithinSeconds();
    List<RolloutPlan.Phase> phases = new ArrayList<>();
    if (request.growth() != null && request.phases() != null) {
      throw new IllegalArgumentException("give phases or growth, not both");
    }
    if (request.growth() != null) {
      atMostPhases(request.growth().size());
      for (int i = 0; i < request.growth().size(); i++) {
        Double percent = request.growth().get(i);
        if (percent == null) {
          throw new IllegalArgumentException("growth must be a list of percentages");
        }
        phases.add(
            new RolloutPlan.Phase(
                "step-" + (i + 1), null, null, null, null, percent, share, within));
      }
    } else if (request.phases() != null) {
      atMostPhases(request.phases().size());
      for (int i = 0; i < request.phases().size(); i++) {
        PhaseRequest p = request.phases().get(i);
        if (p == null) {
          throw new IllegalArgumentException("phases must be objects");
        }
        phases.add(
            new RolloutPlan.Phase(
                p.name() == null ? "phase-" + (i + 1) : p.name(),
                p.group(),
                p.labels(),
                p.uuids(),
                p.count(),
                p.percent(),
                p.successShare() == null ? share : p.successShare(),
                p.successWithinSeconds() == null ? within : p.successWithinSeconds()));
      }
    }
    return new RolloutPlan(
        List.copyOf(phases),
        request.errorCount(),
        request.errorShare(),
        request.rollback() != null && request.rollback());
  }

  private Route show(String factory, String id) {
    return Replies.json(
        core.rollout(factory, id)
            .<Rollout.Summary>askWithStatus(Rollout.Get::new, core.askTimeout())
            .thenCompose(this::withProgress));
  }

  private CompletionStage<RolloutView> withProgress(Rollout.Summary s) {
    return core.rolloutQueries()
        .members(s.factory(), s.tag(), s.version(), s.plan().needsLabels())
        .thenApply(members -> view(s, RolloutProgress.of(s.gate(), s.plan(), members)));
  }

  private CompletionStage<RolloutView> projected(String factory, Rollout.Summary s) {
    return core.readYourWrites()
        .projected(s, List.of(Projected.rollout(factory, s.id())))
        .thenCompose(this::withProgress);
  }

  private static RolloutView view(Rollout.Summary s, RolloutProgress progress) {
    return new RolloutView(
        s.id(),
        s.tag(),
        s.version(),
        s.status(),
        s.startedPhases(),
        s.haltReason(),
        s.rolledBack(),
        s.thresholdCrossedAt(),
        s.haltedAt(),
        s.createdBy(),
        s.createdAt(),
        s.updatedAt(),
        s.plan(),
        progress);
  }

  /** Who did what, from the journal: the principal is on every event. */
  private Route audit(String factory, String id) {
    String persistenceId =
        JournalReader.persistenceId(Rollout.ENTITY_KEY.name(), Rollout.entityId(factory, id))
            .orElseThrow();
    return Replies.whenDone(
        core.journalReader()
            .events(persistenceId, 1)
            .take(MAX_AUDIT_EVENTS)
            .map(
                e ->
                    new AuditEntry(
                        e.sequenceNr(),
                        Instant.parse(e.event().at("/at").asText()),
                        e.type(),
                        e.event().at("/by").asText(),
                        e.event()))
            .runWith(Sink.seq(), core.system()),
        events ->
            events.isEmpty()
                ? Errors.notFound("no rollout " + id + " in factory " + factory)
                : complete(
                    StatusCodes.OK, new Audit(List.copyOf(events)), JsonSupport.marshaller()));
  }
}
