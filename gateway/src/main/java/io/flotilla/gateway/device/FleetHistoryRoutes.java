package io.flotilla.gateway.device;

import static org.apache.pekko.http.javadsl.server.Directives.*;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.Limits;
import io.flotilla.core.auth.Scope;
import io.flotilla.core.device.FleetHistory;
import io.flotilla.gateway.http.Authentication;
import io.flotilla.gateway.http.Errors;
import io.flotilla.gateway.http.Replies;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Map;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code GET /api/v1/factories/{f}/status?at=T}: the fleet as it was at T, per tag which target
 * each device ran, replayed from the journal a page of devices at a time ({@code limit} up to
 * {@link FleetHistory#MAX_PAGE}, {@code cursor} from the previous page). Without {@code at} the
 * request falls through to the read side's current summary.
 */
final class FleetHistoryRoutes {

  static final int DEFAULT_LIMIT = 1000;

  /** Journal timestamps are epoch milliseconds: a moment past this one cannot be compared. */
  static final Instant LATEST = Instant.parse("9999-12-31T23:59:59Z");

  private final FlotillaCore core;
  private final Authentication auth;

  FleetHistoryRoutes(FlotillaCore core, Authentication auth) {
    this.core = core;
    this.auth = auth;
  }

  Route route(String factory) {
    return path(
        "status",
        () ->
            get(
                () ->
                    parameter(
                        "at",
                        at ->
                            auth.authorized(
                                factory,
                                Scope.DEVICES_READ,
                                () -> parameterMap(params -> fleetAt(factory, at, params))))));
  }

  private Route fleetAt(String factory, String at, Map<String, String> params) {
    Instant moment;
    try {
      moment = Instant.parse(at);
    } catch (DateTimeParseException e) {
      return Errors.badRequest("at must be an ISO-8601 instant such as 2026-01-31T12:00:00Z");
    }
    if (moment.isBefore(Instant.EPOCH) || moment.isAfter(LATEST)) {
      return Errors.badRequest("at must be between 1970-01-01T00:00:00Z and " + LATEST);
    }
    int limit;
    try {
      limit = params.containsKey("limit") ? Integer.parseInt(params.get("limit")) : DEFAULT_LIMIT;
    } catch (NumberFormatException e) {
      return Errors.badRequest("limit must be a number");
    }
    if (limit < 1 || limit > FleetHistory.MAX_PAGE) {
      return Errors.badRequest("limit must be between 1 and " + FleetHistory.MAX_PAGE);
    }
    String cursor = params.get("cursor");
    if (cursor != null && !Limits.DEVICE_UUID.matcher(cursor).matches()) {
      return Errors.badRequest(
          "cursor must be a device uuid (" + Limits.DEVICE_UUID.pattern() + ")");
    }
    return Replies.json(core.fleetHistory().at(factory, moment, limit, cursor));
  }
}
