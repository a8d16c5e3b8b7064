package io.flotilla.gateway.webhook;

import static org.apache.pekko.http.javadsl.server.Directives.*;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.Limits;
import io.flotilla.core.ReadYourWrites.Projected;
import io.flotilla.core.auth.Principal;
import io.flotilla.core.auth.Scope;
import io.flotilla.core.webhook.WebhookKinds;
import io.flotilla.core.webhook.WebhookQueries;
import io.flotilla.core.webhook.Webhooks;
import io.flotilla.gateway.http.Authentication;
import io.flotilla.gateway.http.Errors;
import io.flotilla.gateway.http.JsonSupport;
import io.flotilla.gateway.http.Replies;
import io.flotilla.gateway.rollout.RolloutRoutes;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import org.apache.pekko.Done;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Webhooks under {@code /api/v1/factories/{f}/webhooks} (docs/webhooks.md). Every route takes the
 * factory's {@code admin} scope: a hook sends what happens to the factory's builds, targets,
 * devices and rollouts to a receiver of the caller's choice, more than any narrower scope may read,
 * and its secret is a credential.
 */
public final class WebhookRoutes {

  /**
   * The most deliveries the log answers: the newest {@code flotilla.webhooks.log-size} finished.
   */
  static final int MAX_DELIVERIES = 1000;

  private static final SecureRandom RANDOM = new SecureRandom();

  record CreateRequest(String url, List<String> events) {}

  /** {@code secret} only in the creation's answer. */
  record HookView(
      String id,
      String url,
      List<String> events,
      String secret,
      String createdBy,
      Instant createdAt) {}

  record HookList(List<HookView> webhooks) {}

  record PingView(String webhook, String delivery) {}

  record DeliveryList(List<WebhookQueries.Delivery> deliveries) {}

  private final FlotillaCore core;
  private final Authentication auth;
  private final int logSize;

  public WebhookRoutes(FlotillaCore core, Authentication auth) {
    this.core = core;
    this.auth = auth;
    this.logSize =
        Math.min(
            MAX_DELIVERIES,
            core.system().settings().config().getInt("flotilla.webhooks.log-size")
                + core.system().settings().config().getInt("flotilla.webhooks.in-flight"));
  }

  public Route route(String factory) {
    return pathPrefix(
        "webhooks",
        () ->
            concat(
                pathEndOrSingleSlash(
                    () ->
                        concat(
                            get(() -> admin(factory, p -> list(factory))),
                            post(() -> admin(factory, p -> create(factory, p))))),
                pathPrefix(
                    segment(Limits.WEBHOOK_ID),
                    id ->
                        concat(
                            pathEndOrSingleSlash(
                                () ->
                                    concat(
                                        get(() -> admin(factory, p -> show(factory, id))),
                                        delete(
                                            () ->
                                                admin(factory, p -> deleteHook(factory, id, p))))),
                            path(
                                "ping",
                                () -> post(() -> admin(factory, p -> ping(factory, id, p)))),
                            path(
                                "deliveries",
                                () -> get(() -> admin(factory, p -> deliveries(factory, id))))))));
  }

  private Route admin(String factory, java.util.function.Function<Principal, Route> inner) {
    return auth.authorizedAs(factory, Scope.ADMIN, inner);
  }

  private static HookView view(Webhooks.Hook hook, boolean withSecret) {
    return new HookView(
        hook.id(),
        hook.url(),
        hook.events(),
        withSecret ? hook.secret() : null,
        hook.createdBy(),
        hook.createdAt());
  }

  private java.util.concurrent.CompletionStage<List<Webhooks.Hook>> hooks(String factory) {
    return core.webhooks(factory)
        .<Webhooks.HookList>askWithStatus(Webhooks.GetHooks::new, core.askTimeout())
        .thenApply(Webhooks.HookList::hooks);
  }

  private Route list(String factory) {
    return Replies.json(
        hooks(factory)
            .thenApply(hooks -> new HookList(hooks.stream().map(h -> view(h, false)).toList())));
  }

  private Route show(String factory, String id) {
    return Replies.whenDone(
        hooks(factory),
        hooks ->
            hooks.stream()
                .filter(h -> h.id().equals(id))
                .findFirst()
                .<Route>map(h -> complete(StatusCodes.OK, view(h, false), JsonSupport.marshaller()))
                .orElseGet(() -> notFound(factory, id)));
  }

  private static Route notFound(String factory, String id) {
    return Errors.notFound("no webhook " + id + " in factory " + factory);
  }

  private Route create(String factory, Principal principal) {
    return entity(
        JsonSupport.unmarshaller(CreateRequest.class),
        request -> {
          String problem = WebhookKinds.hookProblem(request.url(), request.events());
          if (problem != null) {
            return Errors.badRequest(problem);
          }
          byte[] idBytes = new byte[8];
          byte[] secretBytes = new byte[32];
          RANDOM.nextBytes(idBytes);
          RANDOM.nextBytes(secretBytes);
          String id = HexFormat.of().formatHex(idBytes);
          String secret = "whsec_" + HexFormat.of().formatHex(secretBytes);
          String by = RolloutRoutes.by(principal);
          return Replies.json(
              StatusCodes.CREATED,
              core.webhooks(factory)
                  .<Webhooks.Hook>askWithStatus(
                      replyTo ->
                          new Webhooks.Create(
                              id,
                              request.url(),
                              request.events(),
                              secret,
                              by,
                              Instant.now(),
                              replyTo),
                      core.askTimeout())
                  .thenCompose(
                      hook ->
                          core.readYourWrites()
                              .projected(view(hook, true), List.of(Projected.webhooks(factory)))));
        });
  }

  private Route deleteHook(String factory, String id, Principal principal) {
    return Replies.whenDone(
        core.webhooks(factory)
            .<Done>askWithStatus(
                replyTo ->
                    new Webhooks.Delete(id, RolloutRoutes.by(principal), Instant.now(), replyTo),
                core.askTimeout())
            .thenCompose(
                done ->
                    core.readYourWrites().projected(done, List.of(Projected.webhooks(factory)))),
        done -> complete(StatusCodes.NO_CONTENT));
  }

  private Route ping(String factory, String id, Principal principal) {
    String delivery = UUID.randomUUID().toString();
    return Replies.json(
        StatusCodes.ACCEPTED,
        core.webhooks(factory)
            .<Webhooks.Hook>askWithStatus(
                replyTo ->
                    new Webhooks.Ping(
                        id, delivery, RolloutRoutes.by(principal), Instant.now(), replyTo),
                core.askTimeout())
            .thenCompose(
                hook ->
                    core.readYourWrites()
                        .projected(
                            new PingView(id, delivery), List.of(Projected.webhooks(factory)))));
  }

  private Route deliveries(String factory, String id) {
    return Replies.whenDone(
        hooks(factory),
        hooks ->
            hooks.stream().noneMatch(h -> h.id().equals(id))
                ? notFound(factory, id)
                : Replies.json(
                    core.webhookQueries()
                        .deliveries(factory, id, logSize)
                        .thenApply(DeliveryList::new)));
  }
}
