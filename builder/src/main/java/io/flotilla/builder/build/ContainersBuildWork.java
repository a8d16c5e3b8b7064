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
import io.flotilla.builder.registry.OwnRegistryTrust;
import io.flotilla.builder.registry.RegistryClient;
import io.flotilla.builder.registry.RegistryEndpoints;
import io.flotilla.builder.registry.RegistryException;
import io.flotilla.core.FlotillaCore;
import io.flotilla.core.app.App;
import io.flotilla.core.auth.ApiToken;
import io.flotilla.core.auth.Scope;
import io.flotilla.core.factory.Factory;
import io.flotilla.core.target.Target;
import io.flotilla.core.target.Targets;
import io.flotilla.protocol.composeapp.ComposeAppException;
import io.flotilla.protocol.composeapp.ComposeFile;
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
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.apache.pekko.pattern.StatusReply;

/**
 * The real build: check out the commit from containers.git, build the images, package the apps, push everything
 * through the registry protocol with a token made for this attempt (revoked when it ends), then add the targets
 * and publish the app versions.
 */
public final class ContainersBuildWork implements BuildWork {

  private final FlotillaCore core;
  private final ContainerRepos repos;
  private final java.util.function.Supplier<RegistryEndpoints> registry;
  private final ImageBuilder images;
  private final Map<String, String> platformMapping;
  private final Path workRoot;
  private final Path serverCa;

  /** {@code serverCa}: the node's server CA, trusted besides the JDK's roots when the API port serves HTTPS. */
  public ContainersBuildWork(
      FlotillaCore core,
      ContainerRepos repos,
      java.util.function.Supplier<RegistryEndpoints> registry,
      ImageBuilder images,
      Map<String, String> platformMapping,
      Path workRoot,
      Path serverCa) {
    this.serverCa = serverCa;
    this.core = core;
    this.repos = repos;
    this.registry = registry;
    this.images = images;
    this.platformMapping = Map.copyOf(platformMapping);
    this.workRoot = workRoot;
  }

  @Override
  public Job prepare(BuildSpec spec, BuildLog log, Cancellation cancellation) throws BuildFailure {
    Path work = null;
    ApiToken token = null;
    try {
      Factory.Summary factory = await(core.factory(spec.factory()).<Factory.Summary>askWithStatus(Factory.Get::new, core.askTimeout()), "reading factory");
      List<TargetPlatform> platforms = new ArrayList<>();
      for (String hardwareId : factory.platforms()) {
        TargetPlatform platform = TargetPlatform.forHardwareId(hardwareId, platformMapping).orElseThrow(() -> BuildFailure.deterministic(
            "cannot tell the CPU architecture of hardware id " + hardwareId + "; set flotilla.builder.platforms.\"" + hardwareId + "\" = \"linux/<arch>\""));
        if (!platforms.contains(platform)) {
          platforms.add(platform);
        }
      }
      Files.createDirectories(workRoot);
      work = Files.createTempDirectory(workRoot, spec.factory() + "-" + spec.number() + "-");
      Path source = Files.createDirectories(work.resolve("src"));
      try (var repository = repos.open(spec.factory())) {
        List<String> skipped = CommitCheckout.extract(repository, spec.commit(), source);
        if (!skipped.isEmpty()) {
          log.line("-- left out (links or submodules): " + skipped);
        }
      }
      RepoLayout layout = RepoLayout.read(source);
      log.line("-- commit " + spec.commit() + ": images " + layout.images().keySet() + ", apps " + layout.apps().keySet()
          + (layout.skipped().isEmpty() ? "" : ", disabled " + layout.skipped()) + "; platforms " + platforms);
      token = buildToken(spec);
      // Built per build: the server CA appears only once the device gateway has created it.
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).sslContext(OwnRegistryTrust.sslContext(serverCa)).build();
      RegistryClient client = new RegistryClient(http, registry.get().withPassword(token.value()));
      AppPackager packager = new AppPackager(spec.factory(), client, log);
      Map<String, Map<String, AppPackager.ServiceImage>> services = new TreeMap<>();
      for (Map.Entry<String, ComposeFile> app : layout.apps().entrySet()) {
        services.put(app.getKey(), packager.resolve(app.getKey(), app.getValue(), layout.images().keySet()));
      }
      for (int attempt = 1; attempt < spec.attempt(); attempt++) {
        revoke(spec.factory(), tokenId(spec, attempt));
      }
      return new RealJob(spec, factory, platforms, work, source, layout, services, token, client, packager, log, cancellation);
    } catch (BuildFailure e) {
      cleanup(spec.factory(), work, token);
      throw e;
    } catch (DockerfileException | ComposeAppException e) {
      cleanup(spec.factory(), work, token);
      throw BuildFailure.deterministic(e.getMessage(), e);
    } catch (IOException e) {
      cleanup(spec.factory(), work, token);
      throw BuildFailure.deterministic("reading commit " + spec.commit() + ": " + e.getMessage(), e);
    }
  }

  /** The credential this attempt pushes with: a factory token that only lives as long as the attempt. */
  private ApiToken buildToken(BuildSpec spec) throws BuildFailure {
    ApiToken random = ApiToken.newFactoryToken(spec.factory());
    ApiToken token = new ApiToken(spec.factory(), tokenId(spec, spec.attempt()), random.secret());
    await(core.factory(spec.factory()).<Factory.TokenInfo>askWithStatus(r -> new Factory.CreateToken(token.id(), "build #" + spec.number() + " attempt " + spec.attempt()
        + " (revoked when it ends)", List.of(Scope.CONTAINERS_PUSH.wireName(), Scope.CONTAINERS_READ.wireName()), token.secretHash(), r), core.askTimeout()),
        "creating the build's registry token");
    return token;
  }

  /** Deterministic per attempt, so that a later attempt can revoke the token of one that died with its node. */
  static String tokenId(BuildSpec spec, int attempt) {
    byte[] hash = io.flotilla.protocol.oci.Digest.sha256().digest((spec.factory() + "/" + spec.number() + "/" + attempt).getBytes(java.nio.charset.StandardCharsets.UTF_8));
    return HexFormat.of().formatHex(hash, 0, 8);
  }

  private void revoke(String factory, String tokenId) {
    try {
      core.factory(factory).<org.apache.pekko.Done>askWithStatus(r -> new Factory.RevokeToken(tokenId, r), core.askTimeout()).toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception ignored) {
      // unknown (never created) or already revoked
    }
  }

  private void cleanup(String factory, Path work, ApiToken token) {
    if (token != null) {
      revoke(factory, token.id());
    }
    if (work != null) {
      try (Stream<Path> walk = Files.walk(work)) {
        walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException ignored) {
        // a leftover temp dir is harmless
      }
    }
  }

  private static <T> T await(CompletionStage<T> stage, String what) throws BuildFailure {
    try {
      return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof StatusReply.ErrorMessage) {
        throw BuildFailure.deterministic(what + ": " + cause.getMessage(), cause);
      }
      throw BuildFailure.transientFailure(what + ": " + cause, cause);
    } catch (TimeoutException e) {
      throw BuildFailure.transientFailure(what + " timed out", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw BuildFailure.deterministic(what + " was interrupted", e);
    }
  }

  private final class RealJob implements Job {
    private final BuildSpec spec;
    private final Factory.Summary factory;
    private final List<TargetPlatform> platforms;
    private final Path work;
    private final Path source;
    private final RepoLayout layout;
    private final Map<String, Map<String, AppPackager.ServiceImage>> services;
    private final ApiToken token;
    private final RegistryClient client;
    private final AppPackager packager;
    private final BuildLog log;
    private final Cancellation cancellation;
    private final Map<String, String> apps = new TreeMap<>();

    RealJob(BuildSpec spec, Factory.Summary factory, List<TargetPlatform> platforms, Path work, Path source, RepoLayout layout,
        Map<String, Map<String, AppPackager.ServiceImage>> services, ApiToken token, RegistryClient client, AppPackager packager, BuildLog log,
        Cancellation cancellation) {
      this.spec = spec;
      this.factory = factory;
      this.platforms = platforms;
      this.work = work;
      this.source = source;
      this.layout = layout;
      this.services = services;
      this.token = token;
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
      return images.build(new ImageBuildRequest(image, source.resolve(image), dockerfile, platforms, spec.factory() + "/" + image, tags, client, log, cancellation));
    }

    @Override
    public String packageApps(Map<String, BuiltImage> built) throws BuildFailure {
      try {
        for (Map.Entry<String, ComposeFile> app : layout.apps().entrySet()) {
          cancellation.check();
          AppPackager.Packaged packaged = packager.pack(app.getKey(), source.resolve(app.getKey()), app.getValue(), services.get(app.getKey()), built, spec.number());
          apps.put(app.getKey(), packaged.uri().toString());
        }
      } catch (ComposeAppException e) {
        throw BuildFailure.deterministic(e.getMessage(), e);
      } catch (RegistryException e) {
        throw e.retryable() ? BuildFailure.transientFailure(e.getMessage(), e) : BuildFailure.deterministic(e.getMessage(), e);
      } catch (IOException e) {
        throw BuildFailure.transientFailure(e.getMessage(), e);
      }
      return apps.size() + " app(s) packaged" + (apps.isEmpty() ? " (the repository has no apps; the targets will have none)" : "");
    }

    @Override
    public Published publish() throws BuildFailure {
      cancellation.check();
      Targets.TargetList existing = await(core.targets(spec.factory()).ask(r -> new Targets.ListTargets(null, r), core.askTimeout()), "listing targets");
      Set<String> names = new java.util.HashSet<>();
      existing.targets().stream().filter(t -> t.version() == spec.number()).map(Target::name).forEach(names::add);
      List<String> targets = factory.platforms().stream().map(hw -> hw + "-" + spec.number()).toList();
      if (names.containsAll(targets)) {
        log.line("-- targets " + targets + " exist already (published by an earlier attempt)");
      } else {
        Targets.Added added = await(core.targets(spec.factory()).<Targets.Added>askWithStatus(r -> new Targets.Add(factory.platforms(), spec.number(), List.of(spec.tag()),
            Map.copyOf(apps), spec.commit(), r), core.askTimeout()), "adding targets");
        log.line("-- targets added: " + added.targets().stream().map(Target::name).toList() + " with tag " + spec.tag());
      }
      for (Map.Entry<String, String> app : apps.entrySet()) {
        await(core.app(spec.factory(), app.getKey()).<App.Version>askWithStatus(r -> new App.Publish(app.getValue(), spec.commit(), spec.number(), r), core.askTimeout()),
            "publishing app " + app.getKey());
      }
      return new Published(targets, new LinkedHashMap<>(apps));
    }

    @Override
    public void close() {
      cleanup(spec.factory(), work, token);
    }
  }
}
