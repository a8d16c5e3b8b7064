package io.flotilla.gateway;

import static org.apache.pekko.http.javadsl.server.Directives.*;

import io.flotilla.builder.BuilderService;
import io.flotilla.core.FlotillaCore;
import io.flotilla.gateway.app.AppRoutes;
import io.flotilla.gateway.build.BuildRoutes;
import io.flotilla.gateway.dashboard.DashboardRoutes;
import io.flotilla.gateway.device.DeviceGateway;
import io.flotilla.gateway.factory.FactoryRoutes;
import io.flotilla.gateway.health.HealthRoutes;
import io.flotilla.gateway.http.Authentication;
import io.flotilla.gateway.http.BodyLimit;
import io.flotilla.gateway.http.DatabaseGuard;
import io.flotilla.gateway.http.Errors;
import io.flotilla.gateway.journal.JournalRoutes;
import io.flotilla.gateway.metrics.NodeMetrics;
import io.flotilla.gateway.openapi.OpenApiRoutes;
import io.flotilla.gateway.projection.ProjectionRoutes;
import io.flotilla.gateway.rollout.RolloutRoutes;
import io.flotilla.gateway.target.TargetRoutes;
import io.flotilla.gateway.webhook.WebhookRoutes;
import java.util.function.BooleanSupplier;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Everything the API port serves, with the JSON error handling and body limit wrapped around it.
 * {@code /ca.crt} is the server CA, without authentication: clients fetch it to verify the API
 * port's HTTPS certificate.
 */
public final class ApiRoutes {

  private static final ContentType.NonBinary PEM =
      MediaTypes.applicationWithOpenCharset("x-pem-file").toContentType(HttpCharsets.US_ASCII);

  private final FactoryRoutes factories;
  private final TargetRoutes targets;
  private final RolloutRoutes rollouts;
  private final WebhookRoutes webhooks;
  private final AppRoutes apps;
  private final JournalRoutes journal;
  private final HealthRoutes health;
  private final DeviceGateway devices;
  private final Authentication auth;
  private final long maxBody;
  private final Route registry;
  private final BuildRoutes builds;
  private final Route git;
  private final DatabaseGuard databaseGuard;
  private final NodeMetrics metrics;
  private final ProjectionRoutes projections;
  private final OpenApiRoutes openApi = new OpenApiRoutes();
  private final DashboardRoutes dashboard;

  public ApiRoutes(
      FlotillaCore core,
      BooleanSupplier started,
      Route registry,
      BuilderService builder,
      DeviceGateway devices,
      NodeMetrics metrics) {
    this.registry = registry;
    this.auth = new Authentication(core);
    this.builds = new BuildRoutes(core, builder, auth);
    this.git = builder.gitRoute();
    this.devices = devices;
    this.factories = new FactoryRoutes(core, auth);
    this.targets = new TargetRoutes(core, auth);
    this.rollouts = new RolloutRoutes(core, auth);
    this.webhooks = new WebhookRoutes(core, auth);
    this.apps = new AppRoutes(core, auth);
    this.journal = new JournalRoutes(core, auth);
    this.health = new HealthRoutes(core, started);
    this.maxBody = core.system().settings().config().getBytes("flotilla.http.max-body");
    this.databaseGuard = new DatabaseGuard(core.databaseHealth());
    this.metrics = metrics;
    this.projections = new ProjectionRoutes(core, auth);
    this.dashboard =
        new DashboardRoutes(core, sealed(api()).handler(core.system().classicSystem()));
  }

  public Route route() {
    Route api = api();
    return handleExceptions(
        Errors.exceptionHandler(),
        () ->
            handleRejections(
                Errors.rejectionHandler(),
                () ->
                    concat(
                        health.route(),
                        path(
                            "ca.crt",
                            () ->
                                get(
                                    () ->
                                        complete(
                                            HttpResponse.create()
                                                .withEntity(
                                                    PEM, devices.pki().rootCertificatePem())))),
                        metrics.route(),
                        metrics.registryRequests(() -> registry),
                        git,
                        databaseGuard.route(
                            () -> BodyLimit.of(maxBody, () -> devices.registrationRoute(auth))),
                        api,
                        databaseGuard.route(() -> BodyLimit.of(maxBody, dashboard::route)))));
  }

  /** The dashboard calls the API in-process; it answers as it does on the port. */
  private static Route sealed(Route api) {
    return handleExceptions(
        Errors.exceptionHandler(), () -> handleRejections(Errors.rejectionHandler(), () -> api));
  }

  private Route api() {
    return pathPrefix(
        "api",
        () ->
            pathPrefix(
                "v1",
                () ->
                    concat(
                        openApi.route(),
                        databaseGuard.route(
                            () ->
                                BodyLimit.of(
                                    maxBody,
                                    () ->
                                        concat(
                                            factories.route(
                                                factory ->
                                                    concat(
                                                        targets.route(factory),
                                                        rollouts.route(factory),
                                                        webhooks.route(factory),
                                                        apps.route(factory),
                                                        builds.route(factory),
                                                        devices.operatorRoute(auth, factory))),
                                            journal.route(),
                                            projections.route()))))));
  }
}
