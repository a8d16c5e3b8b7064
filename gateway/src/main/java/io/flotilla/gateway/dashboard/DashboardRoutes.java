package io.flotilla.gateway.dashboard;

import static org.apache.pekko.http.javadsl.server.Directives.*;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.core.FlotillaCore;
import io.flotilla.core.auth.Access;
import io.flotilla.core.auth.Credentials;
import io.flotilla.core.auth.Decision;
import io.flotilla.core.auth.Principal;
import io.flotilla.core.auth.Scope;
import io.flotilla.core.factory.Factory;
import io.flotilla.gateway.http.Errors;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.marshalling.sse.EventStreamMarshalling;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.HttpCookie;
import org.apache.pekko.http.javadsl.model.headers.Location;
import org.apache.pekko.http.javadsl.model.headers.SameSite;
import org.apache.pekko.http.javadsl.model.headers.SetCookie;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The operator's web console on the API port: server-rendered pages under {@code /}, a session
 * cookie opened with an API token, and live updates by Server-Sent Events. It decides nothing on
 * its own: each request checks the session's token with {@link Access} (the scopes of the API), and
 * every action is the management API's own route, called in-process ({@link ApiClient}). See
 * docs/dashboard.md.
 */
public final class DashboardRoutes {

  static final String SESSION_COOKIE = "flotilla_session";
  static final String SIGN_IN_COOKIE = "flotilla_sign_in";

  private static final String SIGN_IN = "Sign in to continue.";
  private static final String ENDED =
      "Your session ended: its API token is no longer valid, or it expired. Sign in again.";

  /** Far above any form of the dashboard (a bulk action names at most a page of uuids). */
  private static final long MAX_FORM = 64 * 1024;

  private final FlotillaCore core;
  private final Access access;
  final ApiClient api;
  final DashboardSessions sessions;
  final FleetActivity activity;
  private final FleetPages fleet;
  private final DevicePages devices;
  private final FactoryPages factories;
  private final RolloutPages rollouts;
  private final Assets assets = new Assets();

  public DashboardRoutes(
      FlotillaCore core,
      org.apache.pekko.japi.function.Function<HttpRequest, CompletionStage<HttpResponse>>
          apiRoute) {
    var config = core.system().settings().config();
    this.core = core;
    this.access = core.access();
    this.api = new ApiClient(apiRoute, core.system());
    this.sessions =
        new DashboardSessions(
            config.getDuration("flotilla.dashboard.session-idle-timeout"),
            config.getDuration("flotilla.dashboard.session-lifetime"),
            config.getInt("flotilla.dashboard.max-sessions"),
            Clock.systemUTC());
    this.activity = FleetActivity.start(core, Clock.systemUTC());
    this.fleet = new FleetPages(this, core);
    this.devices = new DevicePages(this, core);
    this.factories = new FactoryPages(this);
    this.rollouts = new RolloutPages(this, core);
  }

  /**
   * Matches only the dashboard's own paths, so every other path keeps the API's JSON answers; on
   * them, rejections are answered as pages.
   */
  public Route route() {
    return concat(
        pathPrefix("assets", () -> get(() -> path(segment(), assets::serve))),
        pathEndOrSingleSlash(() -> htmlErrors(get(this::home))),
        path("sign-in", () -> htmlErrors(concat(get(this::signInPage), post(this::signIn)))),
        path("sign-out", () -> htmlErrors(post(this::signOut))),
        pathPrefix(
            "factories",
            () ->
                htmlErrors(
                    pathPrefix(
                        segment(),
                        factory ->
                            Factory.NAME.matcher(factory).matches()
                                ? concat(
                                    fleet.route(factory),
                                    devices.route(factory),
                                    factories.route(factory),
                                    rollouts.route(factory))
                                : error(
                                    StatusCodes.NOT_FOUND,
                                    null,
                                    "There is no factory of that name.")))));
  }

  private static final RejectionHandler HTML_REJECTIONS =
      RejectionHandler.defaultHandler().mapRejectionResponse(DashboardRoutes::asPage);

  private static Route htmlErrors(Route inner) {
    return handleRejections(HTML_REJECTIONS, () -> inner);
  }

  private static HttpResponse asPage(HttpResponse response) {
    String text =
        response.entity() instanceof org.apache.pekko.http.javadsl.model.HttpEntity.Strict strict
            ? strict.getData().utf8String()
            : response.status().reason();
    return Pages.page(
        response.status(),
        response.status().intValue() + " " + response.status().reason(),
        null,
        null,
        Html.of("<p class=\"error\" role=\"alert\">%s</p><p><a href=\"/\">Back</a></p>", text));
  }

  org.apache.pekko.stream.Materializer materializer() {
    return org.apache.pekko.stream.Materializer.matFromSystem(core.system());
  }

  // ---- sessions -----------------------------------------------------------------------------

  /** A signed-in request: the session and who its token is now. */
  record Caller(String sessionId, DashboardSessions.Session session, Principal principal) {
    String token() {
      return session.token();
    }
  }

  /**
   * Requires a live session whose token is still valid; otherwise a GET goes to the sign-in page
   * and anything else gets a 401 page. A token found revoked ends the session.
   */
  Route signedIn(Function<Caller, Route> inner) {
    return extractRequest(
        request -> {
          String id = cookie(request, SESSION_COOKIE).orElse(null);
          Optional<DashboardSessions.Session> session = sessions.find(id);
          if (session.isEmpty()) {
            // A cookie of no live session: it expired, its token was found revoked (by this
            // request's check or another's), or the node restarted.
            return toSignIn(request, id == null ? SIGN_IN : ENDED);
          }
          return onComplete(
              access.authenticate(new Credentials.Token(session.get().token()), Access.TOKENS),
              result -> {
                if (result.isFailure()) {
                  return error(StatusCodes.SERVICE_UNAVAILABLE, null, "Try again in a moment.");
                }
                if (result.get() instanceof Decision.Allowed allowed) {
                  return inner.apply(new Caller(id, session.get(), allowed.principal()));
                }
                Decision.Denied denied = (Decision.Denied) result.get();
                if (denied.denial() == Decision.Denial.UNAUTHENTICATED) {
                  sessions.close(id);
                  return toSignIn(request, ENDED);
                }
                return error(StatusCodes.SERVICE_UNAVAILABLE, null, denied.detail());
              });
        });
  }

  /** As {@link #signedIn}, then requires {@code scope} (null: membership) on {@code factory}. */
  Route allowed(String factory, Scope scope, Function<Caller, Route> inner) {
    return signedIn(
        caller -> {
          Decision decision = Access.decide(caller.principal(), factory, scope);
          if (decision instanceof Decision.Denied denied) {
            return denied.denial() == Decision.Denial.NOT_VISIBLE
                ? error(StatusCodes.NOT_FOUND, viewer(caller, null), denied.detail())
                : error(StatusCodes.FORBIDDEN, viewer(caller, factory), denied.detail());
          }
          return inner.apply(caller);
        });
  }

  /** A page GET by a caller with {@code scope} in {@code factory}. */
  Route viewed(String factory, Scope scope, Function<Caller, Route> inner) {
    return get(() -> allowed(factory, scope, inner));
  }

  /**
   * A form POSTed to this path by a caller with {@code scope} in {@code factory}: see {@link
   * #form}.
   */
  Route posted(
      String factory, Scope scope, BiFunction<Caller, Map<String, List<String>>, Route> inner) {
    return post(
        () ->
            allowed(factory, scope, caller -> form(caller, fields -> inner.apply(caller, fields))));
  }

  /**
   * A POSTed form of a signed-in caller whose {@code csrf} field matches the session's: anything
   * else is refused with 403 before the form is looked at.
   */
  Route form(Caller caller, Function<Map<String, List<String>>, Route> inner) {
    return withSizeLimit(
        MAX_FORM,
        () ->
            entity(
                Unmarshaller.entityToString(),
                body -> {
                  Optional<Map<String, List<String>>> fields = parseForm(body);
                  if (fields.isEmpty()) {
                    return error(
                        StatusCodes.BAD_REQUEST,
                        viewer(caller, null),
                        "The form could not be read.");
                  }
                  if (!DashboardSessions.same(
                      first(fields.get(), "csrf"), caller.session().csrf())) {
                    return error(
                        StatusCodes.FORBIDDEN,
                        viewer(caller, null),
                        "The form's CSRF token is missing or wrong. Reload the page and try again.");
                  }
                  return inner.apply(fields.get());
                }));
  }

  /** How often a live page's event stream re-checks its caller and sends what it shows. */
  static final Duration TICK = Duration.ofSeconds(2);

  /** One tick of a live page: its events, and whether the stream goes on after them. */
  record Tick(boolean live, List<ServerSentEvent> events) {}

  /**
   * A live page's event stream: every {@link #TICK} it re-checks the session and that the token
   * still has {@code scope} in {@code factory} (ending with a {@code signed-out} event when either
   * is gone), then sends what {@code next} makes. A tick that finds the client still busy is
   * dropped, never queued.
   */
  Route liveEvents(
      String factory, Scope scope, Caller caller, Supplier<CompletionStage<Tick>> next) {
    Source<ServerSentEvent, NotUsed> stream =
        Source.tick(Duration.ZERO, TICK, NotUsed.getInstance())
            .mapMaterializedValue(cancellable -> NotUsed.getInstance())
            .mapAsync(1, tick -> stillAllowed(factory, scope, caller, next))
            .takeWhile(Tick::live, true)
            .mapConcat(Tick::events);
    return completeOK(
        stream.keepAlive(Duration.ofSeconds(15), ServerSentEvent::heartbeat),
        EventStreamMarshalling.toEventStream());
  }

  private CompletionStage<Tick> stillAllowed(
      String factory, Scope scope, Caller caller, Supplier<CompletionStage<Tick>> next) {
    if (sessions.find(caller.sessionId()).isEmpty()) {
      return CompletableFuture.completedFuture(signedOut());
    }
    return access
        .authorize(new Credentials.Token(caller.token()), Access.TOKENS, factory, scope)
        .thenCompose(
            decision -> {
              if (decision instanceof Decision.Allowed) {
                return next.get();
              }
              if (decision instanceof Decision.Denied denied
                  && denied.denial() == Decision.Denial.UNAUTHENTICATED) {
                sessions.close(caller.sessionId());
              }
              return CompletableFuture.completedFuture(signedOut());
            });
  }

  private static Tick signedOut() {
    return new Tick(false, List.of(ServerSentEvent.create("signed out", "signed-out")));
  }

  Pages.Viewer viewer(Caller caller, String factory) {
    String f = factory != null ? factory : caller.principal().factory();
    return new Pages.Viewer(caller.principal(), f, caller.session().csrf());
  }

  private Route toSignIn(HttpRequest request, String message) {
    if (request.method().name().equals("GET") && !isEventStream(request)) {
      return redirect("/sign-in?m=" + (message.equals(ENDED) ? "ended" : "in"));
    }
    return complete(
        Pages.page(
            StatusCodes.UNAUTHORIZED,
            "Signed out",
            null,
            null,
            Html.of("<p role=\"alert\">%s</p><p><a href=\"/sign-in\">Sign in</a></p>", message)));
  }

  private static boolean isEventStream(HttpRequest request) {
    return request
        .getHeader("Accept")
        .map(h -> h.value().contains("text/event-stream"))
        .orElse(false);
  }

  private Route home() {
    return signedIn(
        caller -> {
          if (!caller.principal().admin()) {
            return redirect("/factories/" + caller.principal().factory() + "/fleet");
          }
          return answered(
              api.get(caller.token(), "/api/v1/factories"),
              viewer(caller, null),
              body -> {
                List<Html> rows = new ArrayList<>();
                for (JsonNode f : body.path("factories")) {
                  String name = f.path("name").asText();
                  rows.add(
                      Html.of(
                          "<li><a href=\"/factories/%s/fleet\">%s</a></li>",
                          new Html(Html.query(name)), name));
                }
                return page(
                    "Factories",
                    viewer(caller, null),
                    "Factories",
                    rows.isEmpty()
                        ? Html.of("<p>No factory yet: create one with the API.</p>")
                        : Html.of("<ul class=\"factories\">%s</ul>", Html.join(rows)));
              });
        });
  }

  private Route signInPage() {
    return parameterOptional(
        "m",
        m -> {
          String nonce = DashboardSessions.randomId();
          String message = m.filter("ended"::equals).isPresent() ? ENDED : null;
          return respondWithHeader(
              SetCookie.create(
                  HttpCookie.create(SIGN_IN_COOKIE, nonce)
                      .withPath("/sign-in")
                      .withHttpOnly(true)
                      .withSameSite(SameSite.Strict)),
              () -> complete(signInForm(StatusCodes.OK, nonce, message)));
        });
  }

  private static HttpResponse signInForm(StatusCode status, String nonce, String message) {
    return Pages.page(
        status,
        "Sign in",
        null,
        null,
        Html.of(
            """
            %s
            <form method="post" action="/sign-in" class="signin">
            <input type="hidden" name="nonce" value="%s">
            <label for="token">API token (the server admin token or a factory token)</label>
            <input id="token" name="token" type="password" autocomplete="off" required maxlength="512" autofocus>
            <button type="submit">Sign in</button>
            </form>
            <p class="hint">The token stays on the server; your browser keeps only a session cookie.</p>
            """,
            message == null ? Html.EMPTY : Html.of("<p role=\"alert\">%s</p>", message), nonce));
  }

  private Route signIn() {
    return extractRequest(
        request ->
            withSizeLimit(
                MAX_FORM,
                () ->
                    entity(
                        Unmarshaller.entityToString(),
                        body -> {
                          Map<String, List<String>> fields = parseForm(body).orElse(Map.of());
                          String nonce = cookie(request, SIGN_IN_COOKIE).orElse(null);
                          if (!DashboardSessions.same(first(fields, "nonce"), nonce)) {
                            return error(
                                StatusCodes.FORBIDDEN,
                                null,
                                "The sign-in form expired or came from elsewhere. Reload it and try again.");
                          }
                          String token = first(fields, "token");
                          if (token == null || token.isBlank() || token.length() > 512) {
                            return complete(
                                signInForm(
                                    StatusCodes.BAD_REQUEST,
                                    nonce,
                                    "Enter an API token (at most 512 characters)."));
                          }
                          return onComplete(
                              access.authenticate(
                                  new Credentials.Token(token.strip()), Access.TOKENS),
                              result -> {
                                if (result.isFailure()
                                    || !(result.get() instanceof Decision.Allowed)) {
                                  String why =
                                      result.isSuccess()
                                          ? ((Decision.Denied) result.get()).detail()
                                          : "checking the token failed";
                                  return complete(
                                      signInForm(
                                          StatusCodes.UNAUTHORIZED,
                                          nonce,
                                          "Not signed in: " + why + "."));
                                }
                                String id = sessions.open(token.strip());
                                return respondWithHeaders(
                                    List.of(
                                        SetCookie.create(sessionCookie(request, id)),
                                        SetCookie.create(
                                            HttpCookie.create(SIGN_IN_COOKIE, "")
                                                .withPath("/sign-in")
                                                .withMaxAge(0))),
                                    () -> redirect("/"));
                              });
                        })));
  }

  private static HttpCookie sessionCookie(HttpRequest request, String id) {
    return HttpCookie.create(SESSION_COOKIE, id)
        .withPath("/")
        .withHttpOnly(true)
        .withSecure(request.getUri().scheme().equals("https"))
        .withSameSite(SameSite.Strict);
  }

  private Route signOut() {
    return signedIn(
        caller ->
            form(
                caller,
                fields -> {
                  sessions.close(caller.sessionId());
                  return respondWithHeader(
                      SetCookie.create(
                          HttpCookie.create(SESSION_COOKIE, "").withPath("/").withMaxAge(0)),
                      () -> redirect("/sign-in"));
                }));
  }

  // ---- helpers for the pages ------------------------------------------------------------------

  static Route redirect(String to) {
    return complete(
        HttpResponse.create()
            .withStatus(StatusCodes.SEE_OTHER)
            .addHeader(Location.create(to))
            .addHeaders(Pages.SECURITY_HEADERS));
  }

  static Route page(String title, Pages.Viewer viewer, String current, Html main) {
    return complete(Pages.page(StatusCodes.OK, title, viewer, current, main));
  }

  static Route error(StatusCode status, Pages.Viewer viewer, String detail) {
    return complete(
        Pages.page(
            status,
            status.intValue() + " " + status.reason(),
            viewer,
            null,
            Html.of("<p class=\"error\" role=\"alert\">%s</p>", detail)));
  }

  /** An API answer rendered by {@code render}, or its error as a page with the API's status. */
  static Route answered(
      CompletionStage<ApiClient.Answer> answer,
      Pages.Viewer viewer,
      Function<JsonNode, Route> render) {
    return onComplete(
        answer,
        result -> {
          if (result.isFailure()) {
            return failed(viewer, result.failed().get());
          }
          ApiClient.Answer a = result.get();
          return a.ok() ? render.apply(a.body()) : error(status(a.status()), viewer, a.detail());
        });
  }

  /** Several API answers at once; the first error wins. */
  static Route answered(
      List<CompletionStage<ApiClient.Answer>> answers,
      Pages.Viewer viewer,
      Function<List<ApiClient.Answer>, Route> render) {
    CompletionStage<List<ApiClient.Answer>> all =
        java.util.concurrent.CompletableFuture.completedFuture(new ArrayList<>());
    for (CompletionStage<ApiClient.Answer> next : answers) {
      all =
          all.thenCombine(
              next,
              (list, a) -> {
                list.add(a);
                return list;
              });
    }
    return onComplete(
        all,
        result -> {
          if (result.isFailure()) {
            return failed(viewer, result.failed().get());
          }
          return render.apply(result.get());
        });
  }

  static <T> Route done(CompletionStage<T> stage, Pages.Viewer viewer, Function<T, Route> inner) {
    return onComplete(
        stage,
        result ->
            result.isFailure() ? failed(viewer, result.failed().get()) : inner.apply(result.get()));
  }

  /** The API's own mapping of a failure (503 for timeouts and the database), as a page. */
  static Route failed(Pages.Viewer viewer, Throwable failure) {
    return mapResponse(
        json -> {
          String detail = "The server could not answer; try again.";
          if (json.entity() instanceof org.apache.pekko.http.javadsl.model.HttpEntity.Strict s) {
            try {
              JsonNode node =
                  io.flotilla.gateway.http.JsonSupport.MAPPER.readTree(s.getData().toArray());
              detail = node.path("detail").asText(detail);
            } catch (java.io.IOException e) {
              detail = "The server could not answer; try again.";
            }
          }
          return Pages.page(
              json.status(),
              json.status().intValue() + " " + json.status().reason(),
              viewer,
              null,
              Html.of("<p class=\"error\" role=\"alert\">%s</p>", detail));
        },
        () -> Errors.failure(failure));
  }

  static StatusCode status(int code) {
    return StatusCodes.get(code);
  }

  static Optional<String> cookie(HttpRequest request, String name) {
    return request
        .getHeader(org.apache.pekko.http.javadsl.model.headers.Cookie.class)
        .flatMap(
            c -> {
              for (var pair : c.getCookies()) {
                if (pair.name().equals(name)) {
                  return Optional.of(pair.value());
                }
              }
              return Optional.empty();
            });
  }

  /** {@code application/x-www-form-urlencoded}; a name may repeat (the uuids of a bulk action). */
  static Optional<Map<String, List<String>>> parseForm(String body) {
    Map<String, List<String>> fields = new HashMap<>();
    if (body.isBlank()) {
      return Optional.of(fields);
    }
    for (String pair : body.strip().split("&", -1)) {
      int equals = pair.indexOf('=');
      String name = equals < 0 ? pair : pair.substring(0, equals);
      String value = equals < 0 ? "" : pair.substring(equals + 1);
      try {
        name = URLDecoder.decode(name, StandardCharsets.UTF_8);
        value = URLDecoder.decode(value, StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        return Optional.empty();
      }
      fields.computeIfAbsent(name, n -> new ArrayList<>()).add(value);
    }
    return Optional.of(fields);
  }

  static String first(Map<String, List<String>> fields, String name) {
    List<String> values = fields.get(name);
    return values == null || values.isEmpty() ? null : values.get(0);
  }

  static Duration onlineWindow(FlotillaCore core) {
    return core.deviceSettings().onlineWindow();
  }
}
