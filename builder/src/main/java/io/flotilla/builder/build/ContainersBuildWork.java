package io.flotilla.builder.build;

import io.flotilla.builder.git.CommitCheckout;
import io.flotilla.builder.git.ContainerRepos;
import io.flotilla.builder.image.BuiltImage;
import io.flotilla.builder.image.Dockerfile;
import io.flotilla.builder.image.DockerfileException;
import io.flotilla.builder.image.ImageBuildRequest;
import io.flotilla.builder.image.ImageBuilder;
import io.flotilla.builder.image.TargetPlatform;
import io.flotilla.builder.pack.AppPackager;
import io.flotilla.builder.pack.RepoLayout;
import io.flotilla.builder.registry.ImagePublisher;
import io.flotilla.builder.registry.OwnRegistryTrust;
import io.flotilla.builder.registry.ProtocolImagePublisher;
import io.flotilla.builder.registry.RegistryClient;
import io.flotilla.builder.registry.RegistryEndpoints;
import io.flotilla.builder.registry.RegistryException;
import io.flotilla.builder.registry.StoreImagePublisher;
import io.flotilla.core.FlotillaCore;
import io.flotilla.core.app.App;
import io.flotilla.core.auth.ApiToken;
import io.flotilla.core.auth.Scope;
import io.flotilla.core.factory.Factory;
import io.flotilla.core.target.Target;
import io.flotilla.core.target.Targets;
import io.flotilla.protocol.composeapp.ComposeAppException;
import io.flotilla.protocol.composeapp.ComposeFile;
import io.flotilla.registry.LocalRegistry;
import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.stream.Stream;
import org.apache.pekko.pattern.StatusReply;

/**
 * The real build: check out the commit from containers.git, build the images, package the apps,
 * publish everything into our registry, then add the targets and publish the app versions. When the
 * node serves the registry, images go straight into its storage ({@link StoreImagePublisher}) and
 * no credential is made, unless a Dockerfile needs buildah, which pulls its bases from our registry
 * over HTTP; otherwise they are pushed over the registry protocol. Either way the credential is a
 * token made for this attempt and revoked when it ends.
 */
public final class ContainersBuildWork implements BuildWork {

  private final FlotillaCore core;
  private final ContainerRepos repos;
  private final CompletionStage<RegistryEndpoints> registry;
  private final Optional<LocalRegistry> storage;
  private final ImageBuilder images;
  private final Map<String, String> platformMapping;
  private final Path workRoot;
  private final Path serverCa;
  private final Executor blocking;

  /**
   * {@code registry}: where our registry is, known once the API port is bound; {@code storage}: the
   * node's registry storage to publish into, empty to push over the registry protocol; {@code
   * serverCa}: the node's server CA, trusted besides the JDK's roots when the API port serves
   * HTTPS; {@code blocking}: the builder's dispatcher.
   */
  public ContainersBuildWork(
      FlotillaCore core,
      ContainerRepos repos,
      CompletionStage<RegistryEndpoints> registry,
      Optional<LocalRegistry> storage,
      ImageBuilder images,
      Map<String, String> platformMapping,
      Path workRoot,
      Path serverCa,
      Executor blocking) {
    this.serverCa = serverCa;
    this.core = core;
    this.repos = repos;
    this.registry = registry;
    this.storage = storage;
    this.images = images;
    this.platformMapping = Map.copyOf(platformMapping);
    this.workRoot = workRoot;
    this.blocking = blocking;
  }

  /**
   * What the attempt holds that {@link #cleanup} must release, whether or not preparing finished.
   */
  private static final class Held {
    volatile Path work;
    volatile ApiToken token;
  }

  private record Checkout(
      RegistryEndpoints registry,
      Factory.Summary factory,
      List<TargetPlatform> platforms,
      Path source,
      RepoLayout layout) {}

  @Override
  public CompletionStage<Job> prepare(BuildSpec spec, BuildLog log, Cancellation cancellation) {
    for (int attempt = 1; attempt < spec.attempt(); attempt++) {
      revoke(spec.factory(), tokenId(spec, attempt));
    }
    Held held = new Held();
    CompletionStage<Factory.Summary> factory =
        entity(
            core.factory(spec.factory()).askWithStatus(Factory.Get::new, core.askTimeout()),
            "reading factory");
    CompletionStage<Job> job =
        registry
            .thenCombine(factory, (endpoints, summary) -> Map.entry(endpoints, summary))
            .thenApplyAsync(
                start ->
                    blockingly(() -> checkout(spec, start.getKey(), start.getValue(), held, log)),
                blocking)
            .thenCompose(
                checkout ->
                    needsToken(checkout.layout())
                        ? buildToken(spec)
                            .thenApply(
                                token -> {
                                  held.token = token;
                                  return checkout;
                                })
                        : CompletableFuture.completedFuture(checkout))
            .thenApplyAsync(
                checkout -> blockingly(() -> job(spec, checkout, held, log, cancellation)),
                blocking);
    return job.whenComplete(
        (done, failure) -> {
          if (failure != null) {
            CompletableFuture.runAsync(() -> cleanup(spec.factory(), held), blocking);
          }
        });
  }

  private Checkout checkout(
      BuildSpec spec, RegistryEndpoints endpoints, Factory.Summary factory, Held held, BuildLog log)
      throws BuildFailure {
    try {
      List<TargetPlatform> platforms = new ArrayList<>();
      for (String hardwareId : factory.platforms()) {
        TargetPlatform platform =
            TargetPlatform.forHardwareId(hardwareId, platformMapping)
                .orElseThrow(
                    () ->
                        BuildFailure.deterministic(
                            "cannot tell the CPU architecture of hardware id "
                                + hardwareId
                                + "; set flotilla.builder.platforms.\""
                                + hardwareId
                                + "\" = \"linux/<arch>\""));
        if (!platforms.contains(platform)) {
          platforms.add(platform);
        }
      }
      Files.createDirectories(workRoot);
      held.work = Files.createTempDirectory(workRoot, spec.factory() + "-" + spec.number() + "-");
      Path source = Files.createDirectories(held.work.resolve("src"));
      try (var repository = repos.open(spec.factory())) {
        List<String> skipped = CommitCheckout.extract(repository, spec.commit(), source);
        if (!skipped.isEmpty()) {
          log.line("-- left out (links or submodules): " + skipped);
        }
      }
      RepoLayout layout = RepoLayout.read(source);
      log.line(
          "-- commit "
              + spec.commit()
              + ": images "
              + layout.images().keySet()
              + ", apps "
              + layout.apps().keySet()
              + (layout.skipped().isEmpty() ? "" : ", disabled " + layout.skipped())
              + "; platforms "
              + platforms);
      return new Checkout(endpoints, factory, platforms, source, layout);
    } catch (DockerfileException | ComposeAppException e) {
      throw BuildFailure.deterministic(e.getMessage(), e);
    } catch (IOException e) {
      throw BuildFailure.deterministic(
          "reading commit " + spec.commit() + ": " + e.getMessage(), e);
    }
  }

  /**
   * Pushing over HTTP needs the credential; so does buildah, which pulls bases from our registry
   * itself.
   */
  private boolean needsToken(RepoLayout layout) {
    return storage.isEmpty()
        || layout.images().values().stream()
            .anyMatch(dockerfile -> !dockerfile.needsBuildah().isEmpty());
  }

  private Job job(
      BuildSpec spec, Checkout checkout, Held held, BuildLog log, Cancellation cancellation)
      throws BuildFailure {
    try {
      RegistryEndpoints endpoints =
          held.token == null
              ? checkout.registry()
              : checkout.registry().withPassword(held.token.value());
      // Built per build: the server CA appears only once the device gateway has created it.
      HttpClient http =
          HttpClient.newBuilder()
              .connectTimeout(Duration.ofSeconds(10))
              .sslContext(OwnRegistryTrust.sslContext(serverCa))
              .build();
      ImagePublisher own =
          storage
              .<ImagePublisher>map(StoreImagePublisher::new)
              .orElseGet(
                  () ->
                      new ProtocolImagePublisher(
                          new RegistryClient(http, endpoints), endpoints.ownHost()));
      RegistryClient client = new RegistryClient(http, endpoints, own);
      log.line(
          "-- publishing "
              + (storage.isPresent()
                  ? "into this node's registry storage"
                  : "to " + endpoints.ownBase() + " over the registry protocol")
              + (held.token == null ? "" : ", with a registry token for this attempt"));
      AppPackager packager = new AppPackager(spec.factory(), client, log);
      Map<String, Map<String, AppPackager.ServiceImage>> services = new TreeMap<>();
      for (Map.Entry<String, ComposeFile> app : checkout.layout().apps().entrySet()) {
        services.put(
            app.getKey(),
            packager.resolve(app.getKey(), app.getValue(), checkout.layout().images().keySet()));
      }
      return new RealJob(spec, checkout, services, held, client, packager, log, cancellation);
    } catch (ComposeAppException e) {
      throw BuildFailure.deterministic(e.getMessage(), e);
    }
  }

  /** The credential this attempt uses: a factory token that only lives as long as the attempt. */
  private CompletionStage<ApiToken> buildToken(BuildSpec spec) {
    ApiToken random = ApiToken.newFactoryToken(spec.factory());
    ApiToken token = new ApiToken(spec.factory(), tokenId(spec, spec.attempt()), random.secret());
    return entity(
            core.factory(spec.factory())
                .<Factory.TokenInfo>askWithStatus(
                    r ->
                        new Factory.CreateToken(
                            token.id(),
                            "build #"
                                + spec.number()
                                + " attempt "
                                + spec.attempt()
                                + " (revoked when it ends)",
                            List.of(
                                Scope.CONTAINERS_PUSH.wireName(), Scope.CONTAINERS_READ.wireName()),
                            token.secretHash(),
                            r),
                    core.askTimeout()),
            "creating the build's registry token")
        .thenApply(info -> token);
  }

  /**
   * Deterministic per attempt, so that a later attempt can revoke the token of one that died with
   * its node.
   */
  static String tokenId(BuildSpec spec, int attempt) {
    byte[] hash =
        io.flotilla.protocol.oci.Digest.sha256()
            .digest(
                (spec.factory() + "/" + spec.number() + "/" + attempt)
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8));
    return HexFormat.of().formatHex(hash, 0, 8);
  }

  /**
   * Unknown (never created) and already revoked tokens answer an error, which is the outcome
   * wanted.
   */
  private void revoke(String factory, String tokenId) {
    core.factory(factory)
        .<org.apache.pekko.Done>askWithStatus(
            r -> new Factory.RevokeToken(tokenId, r), core.askTimeout());
  }

  private void cleanup(String factory, Held held) {
    if (held.token != null) {
      revoke(factory, held.token.id());
    }
    Path work = held.work;
    if (work != null) {
      try (Stream<Path> walk = Files.walk(work)) {
        walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException ignored) {
        // a leftover temp dir is harmless
      }
    }
  }

  private interface BlockingCall<T> {
    T call() throws BuildFailure;
  }

  private static <T> T blockingly(BlockingCall<T> call) {
    try {
      return call.call();
    } catch (BuildFailure e) {
      throw new CompletionException(e);
    }
  }

  /**
   * An entity's answer, its refusal as a deterministic failure and a timeout as a transient one.
   */
  private static <T> CompletionStage<T> entity(CompletionStage<T> ask, String what) {
    return ask.exceptionallyCompose(
        failure -> {
          Throwable cause =
              failure instanceof CompletionException && failure.getCause() != null
                  ? failure.getCause()
                  : failure;
          BuildFailure buildFailure =
              cause instanceof StatusReply.ErrorMessage
                  ? BuildFailure.deterministic(what + ": " + cause.getMessage(), cause)
                  : BuildFailure.transientFailure(what + ": " + cause, cause);
          return CompletableFuture.failedFuture(buildFailure);
        });
  }

  private final class RealJob implements Job {
    private final BuildSpec spec;
    private final Factory.Summary factory;
    private final List<TargetPlatform> platforms;
    private final Path source;
    private final RepoLayout layout;
    private final Map<String, Map<String, AppPackager.ServiceImage>> services;
    private final Held held;
    private final RegistryClient client;
    private final AppPackager packager;
    private final BuildLog log;
    private final Cancellation cancellation;
    private final Map<String, String> apps = new TreeMap<>();

    RealJob(
        BuildSpec spec,
        Checkout checkout,
        Map<String, Map<String, AppPackager.ServiceImage>> services,
        Held held,
        RegistryClient client,
        AppPackager packager,
        BuildLog log,
        Cancellation cancellation) {
      this.spec = spec;
      this.factory = checkout.factory();
      this.platforms = checkout.platforms();
      this.source = checkout.source();
      this.layout = checkout.layout();
      this.services = services;
      this.held = held;
      this.client = client;
      this.packager = packager;
      this.log = log;
      this.cancellation = cancellation;
    }

    @Override
    public List<String> images() {
      return List.copyOf(layout.images().keySet());
    }

    @Override
    public BuiltImage buildImage(String image) throws BuildFailure {
      Dockerfile dockerfile = layout.images().get(image);
      List<String> tags = List.of(Long.toString(spec.number()), spec.tag());
      return images.build(
          new ImageBuildRequest(
              image,
              source.resolve(image),
              dockerfile,
              platforms,
              spec.factory() + "/" + image,
              tags,
              client,
              log,
              cancellation));
    }

    @Override
    public String packageApps(Map<String, BuiltImage> built) throws BuildFailure {
      try {
        for (Map.Entry<String, ComposeFile> app : layout.apps().entrySet()) {
          cancellation.check();
          AppPackager.Packaged packaged =
              packager.pack(
                  app.getKey(),
                  source.resolve(app.getKey()),
                  app.getValue(),
                  services.get(app.getKey()),
                  built,
                  spec.number());
          apps.put(app.getKey(), packaged.uri().toString());
        }
      } catch (ComposeAppException e) {
        throw BuildFailure.deterministic(e.getMessage(), e);
      } catch (RegistryException e) {
        throw e.retryable()
            ? BuildFailure.transientFailure(e.getMessage(), e)
            : BuildFailure.deterministic(e.getMessage(), e);
      } catch (IOException e) {
        throw BuildFailure.transientFailure(e.getMessage(), e);
      }
      return apps.size()
          + " app(s) packaged"
          + (apps.isEmpty() ? " (the repository has no apps; the targets will have none)" : "");
    }

    /**
     * A first attempt adds the targets at once; a later one first looks whether an attempt that
     * died with its node added them already (a build's number is its own, so nothing else adds
     * targets of that version).
     */
    @Override
    public CompletionStage<Published> publish() {
      try {
        cancellation.check();
      } catch (BuildFailure e) {
        return CompletableFuture.failedFuture(e);
      }
      List<String> targets =
          factory.platforms().stream().map(hw -> hw + "-" + spec.number()).toList();
      CompletionStage<Boolean> added =
          spec.attempt() == 1
              ? CompletableFuture.completedFuture(false)
              : entity(
                      core.targets(spec.factory())
                          .<Targets.TargetList>ask(
                              r -> new Targets.ListTargets(null, r), core.askTimeout()),
                      "listing targets")
                  .thenApply(
                      existing ->
                          existing.targets().stream()
                              .filter(t -> t.version() == spec.number())
                              .map(Target::name)
                              .toList()
                              .containsAll(targets));
      return added
          .thenCompose(
              exist -> {
                if (exist) {
                  log.line(
                      "-- targets " + targets + " exist already (published by an earlier attempt)");
                  return CompletableFuture.completedFuture(null);
                }
                return entity(
                        core.targets(spec.factory())
                            .<Targets.Added>askWithStatus(
                                r ->
                                    new Targets.Add(
                                        factory.platforms(),
                                        spec.number(),
                                        List.of(spec.tag()),
                                        Map.copyOf(apps),
                                        spec.commit(),
                                        r),
                                core.askTimeout()),
                        "adding targets")
                    .thenAccept(
                        done ->
                            log.line(
                                "-- targets added: "
                                    + done.targets().stream().map(Target::name).toList()
                                    + " with tag "
                                    + spec.tag()));
              })
          .thenCompose(
              done ->
                  CompletableFuture.allOf(
                      apps.entrySet().stream()
                          .map(
                              app ->
                                  entity(
                                          core.app(spec.factory(), app.getKey())
                                              .<App.Version>askWithStatus(
                                                  r ->
                                                      new App.Publish(
                                                          app.getValue(),
                                                          spec.commit(),
                                                          spec.number(),
                                                          r),
                                                  core.askTimeout()),
                                          "publishing app " + app.getKey())
                                      .toCompletableFuture())
                          .toArray(CompletableFuture[]::new)))
          .thenApply(done -> new Published(targets, new LinkedHashMap<>(apps)));
    }

    @Override
    public void close() {
      cleanup(spec.factory(), held);
    }
  }
}
