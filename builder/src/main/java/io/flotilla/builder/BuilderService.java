package io.flotilla.builder;

import io.flotilla.builder.build.Build;
import io.flotilla.builder.build.BuildNumbers;
import io.flotilla.builder.build.BuildProjection;
import io.flotilla.builder.build.BuildQueries;
import io.flotilla.builder.build.BuildRunner;
import io.flotilla.builder.build.BuildSlots;
import io.flotilla.builder.build.BuildWebhooks;
import io.flotilla.builder.build.BuildWork;
import io.flotilla.builder.build.ContainersBuildWork;
import io.flotilla.builder.git.BuildTrigger;
import io.flotilla.builder.git.ContainerRepos;
import io.flotilla.builder.git.GitHttpRoutes;
import io.flotilla.builder.image.BuildahImageBuilder;
import io.flotilla.builder.image.ImageBuilders;
import io.flotilla.builder.image.InProcessImageBuilder;
import io.flotilla.builder.registry.RegistryEndpoints;
import io.flotilla.core.FlotillaCore;
import io.flotilla.core.factory.Factory;
import io.flotilla.core.files.SharedDir;
import io.flotilla.core.pki.ServerCertificates;
import io.flotilla.core.target.Targets;
import io.flotilla.registry.LocalRegistry;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.http.javadsl.server.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The builder of one node: containers.git, the Build and BuildNumbers entities, the node's build
 * slots, the builds read side, and the sweeper that wakes unfinished builds so that none stays
 * "running" after its node died. It is given at wiring time the node's registry storage (builds
 * publish into it) and the promise of the HTTP edge's address (host of app URIs, build links),
 * which builds and push answers wait for rather than fail without.
 */
public final class BuilderService implements BuildTrigger {

  private static final Logger log = LoggerFactory.getLogger(BuilderService.class);

  /**
   * The builder's migrations (the {@code builds} table) for {@link
   * io.flotilla.core.persistence.SchemaMigration}.
   */
  public static final String SCHEMA = "builder";

  /** The cluster role ({@code pekko.cluster.roles}) of the nodes that run builds. */
  public static final String ROLE = "builder";

  private final FlotillaCore core;
  private final BuilderSettings settings;
  private final ContainerRepos repos;
  private final ClusterSharding sharding;
  private final BuildQueries queries;
  private final Executor blocking;
  private final GitHttpRoutes git;
  private final CompletionStage<RegistryEndpoints> endpoints;
  private final CompletionStage<String> publicUrl;

  /**
   * Where the node's HTTP edge listens, known once its port is bound. {@code https}: the port
   * serves HTTPS (with the server CA's certificate unless one is configured); {@code
   * registryExternalUrl}: flotilla.registry.external-url.
   */
  public record HttpEdge(int apiPort, boolean https, Optional<String> registryExternalUrl) {}

  private BuilderService(
      FlotillaCore core,
      BuilderSettings settings,
      Path dataDir,
      CompletionStage<HttpEdge> edge,
      Function<BuilderService, BuildWork> work) {
    this.core = core;
    this.settings = settings;
    ActorSystem<?> system = core.system();
    this.repos =
        new ContainerRepos(SharedDir.of(system.settings().config(), dataDir).resolve("git"));
    this.sharding = ClusterSharding.get(system);
    this.blocking =
        system.dispatchers().lookup(DispatcherSelector.fromConfig(BuildRunner.DISPATCHER));
    this.queries = new BuildQueries(core.database(), core.blocking());
    this.git = new GitHttpRoutes(core, repos, this, blocking);
    this.endpoints = edge.thenApply(this::endpointsOf);
    this.publicUrl = edge.thenApply(this::publicUrlOf);
    ActorRef<BuildSlots.Command> slots =
        system.systemActorOf(
            BuildSlots.create(settings.maxConcurrentBuilds()), "build-slots", Props.empty());
    String node = Cluster.get(system).selfMember().address().toString();
    Build.Runtime runtime =
        new Build.Runtime(
            work.apply(this),
            slots,
            settings.buildTimeout(),
            settings.maxAttempts(),
            node,
            settings.imageRetry());
    // A build runs as a child of its entity, so the entity lives on builder nodes only; a node
    // without the role reaches builds through a proxy.
    sharding.init(
        Entity.of(Build.ENTITY_KEY, ctx -> Build.create(ctx.getEntityId(), runtime))
            .withRole(ROLE));
    sharding.init(Entity.of(BuildNumbers.ENTITY_KEY, ctx -> new BuildNumbers(ctx.getEntityId())));
    BuildProjection.start(system, core.database());
    BuildWebhooks.start(system, core.database());
    system
        .scheduler()
        .scheduleWithFixedDelay(
            Duration.ofSeconds(2),
            settings.sweepInterval(),
            this::sweep,
            system.executionContext());
  }

  /**
   * The node's builder with the real build work (git checkout, image builders, registry, targets).
   * {@code registry}: the storage of the registry this node serves, empty on a node that does not
   * serve it.
   */
  public static BuilderService start(
      FlotillaCore core,
      Path dataDir,
      Optional<LocalRegistry> registry,
      CompletionStage<HttpEdge> edge) {
    BuilderSettings settings = BuilderSettings.fromConfig(core.system().settings().config());
    Path serverCa =
        SharedDir.of(core.system().settings().config(), dataDir)
            .resolve("pki")
            .resolve(ServerCertificates.ROOT_CRT);
    Optional<LocalRegistry> storage =
        switch (settings.publish()) {
          case BuilderSettings.PUBLISH_REGISTRY_PROTOCOL -> Optional.empty();
          case BuilderSettings.PUBLISH_IN_PROCESS ->
              Optional.of(
                  registry.orElseThrow(
                      () ->
                          new IllegalStateException(
                              "flotilla.builder.publish = in-process needs a node that serves the registry")));
          default -> registry;
        };
    log.info(
        "builds publish {}",
        storage.isPresent() ? "into this node's registry storage" : "over the registry protocol");
    return start(
        core,
        dataDir,
        settings,
        edge,
        self ->
            new ContainersBuildWork(
                core,
                self.repos,
                self.endpoints,
                storage,
                imageBuilders(settings, dataDir, serverCa),
                settings.platforms(),
                dataDir.resolve("builder").resolve("work"),
                serverCa,
                self.blocking));
  }

  /** With other build work: tests supervise fakes with it. */
  public static BuilderService start(
      FlotillaCore core,
      Path dataDir,
      BuilderSettings settings,
      CompletionStage<HttpEdge> edge,
      Function<BuilderService, BuildWork> work) {
    return new BuilderService(core, settings, dataDir, edge, work);
  }

  private static ImageBuilders imageBuilders(
      BuilderSettings settings, Path dataDir, Path serverCa) {
    BuildahImageBuilder buildah = null;
    if (!settings.buildah().equals("never")
        && BuildahImageBuilder.installed(settings.buildahExecutable())) {
      buildah =
          new BuildahImageBuilder(
              settings.buildahExecutable(),
              dataDir.resolve("builder").resolve("containers-storage"),
              serverCa);
    }
    log.info(
        "image builders: in-process{}",
        buildah == null
            ? " (buildah not available: Dockerfiles with RUN will fail)"
            : " and buildah");
    return new ImageBuilders(new InProcessImageBuilder(), buildah);
  }

  private RegistryEndpoints endpointsOf(HttpEdge edge) {
    String local = "127.0.0.1:" + edge.apiPort();
    String scheme = edge.https() ? "https://" : "http://";
    URI base =
        URI.create(
            settings.registryUrl().isEmpty()
                ? scheme + local
                : settings.registryUrl().replaceAll("/+$", ""));
    String host =
        !settings.registryHost().isEmpty()
            ? settings.registryHost()
            : edge.registryExternalUrl().map(u -> URI.create(u).getAuthority()).orElse(local);
    return new RegistryEndpoints(
        host, base, "flotilla-builder", null, Set.copyOf(settings.insecureRegistries()));
  }

  private String publicUrlOf(HttpEdge edge) {
    String scheme = edge.https() ? "https://" : "http://";
    return settings.publicUrl().isEmpty()
        ? scheme + "127.0.0.1:" + edge.apiPort()
        : settings.publicUrl().replaceAll("/+$", "");
  }

  public Route gitRoute() {
    return git.route();
  }

  public BuildQueries queries() {
    return queries;
  }

  public ContainerRepos repos() {
    return repos;
  }

  public Executor blocking() {
    return blocking;
  }

  public EntityRef<Build.Command> build(String factory, long number) {
    return sharding.entityRefFor(Build.ENTITY_KEY, Build.entityId(factory, number));
  }

  private static String buildUrl(String publicUrl, String factory, long number) {
    return publicUrl + "/api/v1/factories/" + factory + "/builds/" + number;
  }

  /** Takes the next number (above every target version) and queues the build. */
  public CompletionStage<Build.Summary> start(
      String factory, String commit, String branch, String tag, String requestedBy) {
    return core.targets(factory)
        .<Targets.TargetList>ask(r -> new Targets.ListTargets(null, r), core.askTimeout())
        .thenCompose(
            list ->
                sharding
                    .entityRefFor(BuildNumbers.ENTITY_KEY, factory)
                    .<BuildNumbers.Number>ask(
                        r ->
                            new BuildNumbers.Next(
                                list.targets().stream().mapToLong(t -> t.version()).max().orElse(0),
                                r),
                        core.askTimeout()))
        .thenCompose(
            number ->
                build(factory, number.value())
                    .askWithStatus(
                        r -> new Build.Queue(commit, branch, tag, requestedBy, r),
                        core.askTimeout()));
  }

  @Override
  public CompletionStage<List<String>> pushed(
      String factory, String branch, String commit, String pusher) {
    return core.factory(factory)
        .askWithStatus(Factory.Get::new, core.askTimeout())
        .thenCompose(
            summary -> {
              String tag = summary.branchTags().get(branch);
              if (tag == null) {
                return CompletableFuture.completedFuture(
                    List.of(
                        "flotilla: branch " + branch + " maps to no tag, so no build was started.",
                        "flotilla: branches that build: "
                            + summary.branchTags()
                            + " (map one with PUT /api/v1/factories/"
                            + factory
                            + "/branches/<branch>)"));
              }
              return start(factory, commit, branch, tag, pusher)
                  .thenCombine(
                      publicUrl,
                      (build, url) ->
                          List.of(
                              "flotilla: build #"
                                  + build.number()
                                  + " of "
                                  + commit.substring(0, 12)
                                  + " (branch "
                                  + branch
                                  + " -> tag "
                                  + tag
                                  + ") is queued:",
                              "flotilla:   " + buildUrl(url, factory, build.number()),
                              "flotilla:   log: "
                                  + buildUrl(url, factory, build.number())
                                  + "/log"));
            });
  }

  private void sweep() {
    queries
        .unfinished()
        .whenComplete(
            (rows, failure) -> {
              if (failure != null) {
                log.warn("looking for unfinished builds failed: {}", failure.toString());
                return;
              }
              rows.forEach(
                  row ->
                      build(row.factory(), row.number())
                          .<Done>ask(Build.Wake::new, core.askTimeout()));
            });
  }
}
