package io.flotilla.gateway.openapi;

import static org.apache.pekko.http.javadsl.server.Directives.*;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code GET /api/v1/openapi.json}: the management API's OpenAPI 3.1 contract, a hand-maintained
 * resource ({@code openapi/openapi.json}) that {@code OpenApiTest} holds to the routes. It needs no
 * token and no database: clients read it before they have either.
 */
public final class OpenApiRoutes {

  public static final String RESOURCE = "/openapi/openapi.json";

  private final byte[] document;

  public OpenApiRoutes() {
    try (InputStream in = OpenApiRoutes.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(RESOURCE + " is missing from the class path");
      }
      this.document = in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Below {@code /api/v1}. */
  public Route route() {
    return path(
        "openapi.json",
        () ->
            get(
                () ->
                    complete(
                        HttpResponse.create()
                            .withEntity(
                                HttpEntities.create(ContentTypes.APPLICATION_JSON, document)))));
  }
}
