package io.flotilla.gateway.dashboard;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.respondWithHeader;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.Properties;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The dashboard's scripts and styles, from the server's own jar: htmx and uPlot from their webjars
 * (the versions pinned in the pom, found through each webjar's {@code pom.properties}), the
 * dashboard's own from {@code /dashboard/}. Read once; only these names are served.
 */
final class Assets {

  private static final ContentType JS =
      MediaTypes.APPLICATION_JAVASCRIPT.toContentType(HttpCharsets.UTF_8);
  private static final ContentType CSS = MediaTypes.TEXT_CSS.toContentType(HttpCharsets.UTF_8);

  private record Asset(ContentType type, byte[] bytes) {}

  private final Map<String, Asset> assets =
      Map.of(
          "htmx.min.js", new Asset(JS, webjar("htmx.org", "dist/htmx.min.js")),
          "uPlot.iife.min.js", new Asset(JS, webjar("uplot", "dist/uPlot.iife.min.js")),
          "uPlot.min.css", new Asset(CSS, webjar("uplot", "dist/uPlot.min.css")),
          "dashboard.js", new Asset(JS, resource("/dashboard/dashboard.js")),
          "dashboard.css", new Asset(CSS, resource("/dashboard/dashboard.css")));

  Route serve(String name) {
    Asset asset = assets.get(name);
    if (asset == null) {
      return complete(
          HttpResponse.create()
              .withStatus(StatusCodes.NOT_FOUND)
              .withEntity(ContentTypes.TEXT_PLAIN_UTF8, "no such asset"));
    }
    return respondWithHeader(
        RawHeader.create("Cache-Control", "public, max-age=3600"),
        () ->
            respondWithHeader(
                RawHeader.create("X-Content-Type-Options", "nosniff"),
                () ->
                    complete(
                        HttpResponse.create()
                            .withEntity(HttpEntities.create(asset.type(), asset.bytes())))));
  }

  private static byte[] webjar(String artifact, String file) {
    Properties pom = new Properties();
    String properties = "/META-INF/maven/org.webjars.npm/" + artifact + "/pom.properties";
    try (InputStream in = Assets.class.getResourceAsStream(properties)) {
      if (in == null) {
        throw new IllegalStateException("the webjar " + artifact + " is not on the class path");
      }
      pom.load(in);
    } catch (IOException e) {
      throw new IllegalStateException("reading " + properties + " failed", e);
    }
    return resource(
        "/META-INF/resources/webjars/" + artifact + "/" + pom.getProperty("version") + "/" + file);
  }

  private static byte[] resource(String path) {
    try (InputStream in = Assets.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException(path + " is not on the class path");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new IllegalStateException("reading " + path + " failed", e);
    }
  }
}
