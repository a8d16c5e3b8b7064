package io.flotilla.gateway.http;

import static org.apache.pekko.http.javadsl.server.Directives.mapResponse;

import io.flotilla.core.persistence.DatabaseHealth;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Routes that need the database answer 503 "database unavailable" with {@code Retry-After} at once
 * while {@link DatabaseHealth} says it is down, instead of reaching an entity that cannot persist
 * (it stops on the journal failure and never answers, so each request used to wait out the whole
 * ask timeout). A request already under way when the database went away ends in an ask timeout;
 * while the database is still down that answer says so too.
 */
public final class DatabaseGuard {

  private final DatabaseHealth health;

  public DatabaseGuard(DatabaseHealth health) {
    this.health = health;
  }

  public Route route(Supplier<Route> inner) {
    return mapResponse(
        this::explain, () -> health.available() ? inner.get() : Errors.databaseUnavailable());
  }

  private HttpResponse explain(HttpResponse response) {
    return response.status().equals(StatusCodes.SERVICE_UNAVAILABLE) && !health.available()
        ? Errors.databaseUnavailableResponse()
        : response;
  }
}
