package io.flotilla.gateway.dashboard;

import io.flotilla.core.auth.Principal;
import io.flotilla.core.auth.Scope;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/** The dashboard's page frame, navigation and response headers. */
final class Pages {

  private Pages() {}

  static final ContentType.WithCharset HTML = ContentTypes.TEXT_HTML_UTF8;

  /**
   * No inline script or style, nothing from elsewhere, no framing; pages are never cached (they
   * show what a token may see, and the token-created page shows a secret).
   */
  static final List<HttpHeader> SECURITY_HEADERS =
      List.of(
          RawHeader.create(
              "Content-Security-Policy",
              "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
                  + " connect-src 'self'; object-src 'none'; frame-ancestors 'none';"
                  + " form-action 'self'; base-uri 'none'"),
          RawHeader.create("X-Content-Type-Options", "nosniff"),
          RawHeader.create("Referrer-Policy", "same-origin"),
          RawHeader.create("X-Frame-Options", "DENY"),
          RawHeader.create("Cache-Control", "no-store"));

  /** Who is signed in, for the frame: null on the sign-in and error pages of no session. */
  record Viewer(Principal principal, String factory, String csrf) {}

  static HttpResponse page(
      StatusCode status, String title, Viewer viewer, String current, Html main) {
    Html body =
        Html.of(
            """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false}'>
            <title>%s · Flotilla</title>
            <link rel="stylesheet" href="/assets/dashboard.css">
            <link rel="stylesheet" href="/assets/uPlot.min.css">
            <script src="/assets/htmx.min.js" defer></script>
            <script src="/assets/uPlot.iife.min.js" defer></script>
            <script src="/assets/dashboard.js" defer></script>
            </head>
            <body>
            <a class="skip" href="#main">Skip to content</a>
            <header>
            <span class="brand">Flotilla</span>
            %s
            </header>
            <main id="main" tabindex="-1">
            <h1>%s</h1>
            %s
            </main>
            </body>
            </html>
            """,
            title, nav(viewer, current), title, main);
    return HttpResponse.create()
        .withStatus(status)
        .addHeaders(SECURITY_HEADERS)
        .withEntity(HttpEntities.create(HTML, body.markup()));
  }

  private static Html nav(Viewer viewer, String current) {
    if (viewer == null) {
      return Html.EMPTY;
    }
    List<Html> links = new ArrayList<>();
    Principal p = viewer.principal();
    String f = viewer.factory();
    if (f != null) {
      String base = "/factories/" + Html.query(f);
      if (p.mayAccess(f, Scope.DEVICES_READ)) {
        links.add(link(base + "/fleet", "Fleet", current));
        links.add(link(base + "/devices", "Devices", current));
      }
      if (p.mayAccess(f, Scope.TARGETS_READ)) {
        links.add(link(base + "/targets", "Targets", current));
        links.add(link(base + "/rollouts", "Rollouts", current));
      }
      if (p.mayAccess(f, Scope.CONTAINERS_READ)) {
        links.add(link(base + "/builds", "Builds", current));
      }
      if (p.mayAccess(f, Scope.ADMIN) || p.mayAccess(f, Scope.DEVICES_CREATE)) {
        links.add(link(base + "/registrations", "Registrations", current));
      }
    }
    if (p.admin()) {
      links.add(link("/", "Factories", current));
    }
    String who = p.admin() ? "server admin" : "token " + p.id() + " of " + p.factory();
    return Html.of(
        """
        <nav aria-label="Main"><ul>%s</ul></nav>
        <form class="signout" method="post" action="/sign-out">
        <input type="hidden" name="csrf" value="%s">
        <span class="who">%s%s</span>
        <button type="submit">Sign out</button>
        </form>
        """,
        Html.join(links), viewer.csrf(), who, f == null ? "" : " · factory " + f);
  }

  private static Html link(String href, String label, String current) {
    return label.equals(current)
        ? Html.of("<li><a href=\"%s\" aria-current=\"page\">%s</a></li>", new Html(href), label)
        : Html.of("<li><a href=\"%s\">%s</a></li>", new Html(href), label);
  }

  static Html csrfField(String csrf) {
    return Html.of("<input type=\"hidden\" name=\"csrf\" value=\"%s\">", csrf);
  }
}
