package io.flotilla.agent.update;

import io.flotilla.agent.AgentException;
import io.flotilla.agent.ExitCode;
import io.flotilla.agent.Failures;
import io.flotilla.agent.gateway.GatewayClient;
import io.flotilla.agent.registry.RegistryPuller;
import io.flotilla.agent.runtime.AppRuntime;
import io.flotilla.agent.runtime.ImageArchive;
import io.flotilla.agent.store.ContentStore;
import io.flotilla.protocol.composeapp.AppBundle;
import io.flotilla.protocol.composeapp.AppUri;
import io.flotilla.protocol.composeapp.BundleIndex;
import io.flotilla.protocol.composeapp.ComposeAppManifest;
import io.flotilla.protocol.composeapp.ComposeFile;
import io.flotilla.protocol.device.DeviceEvent;
import io.flotilla.protocol.device.DeviceEventType;
import io.flotilla.protocol.device.TargetsMetadata;
import io.flotilla.protocol.oci.Descriptor;
import io.flotilla.protocol.oci.Digest;
import io.flotilla.protocol.oci.ImageIndex;
import io.flotilla.protocol.oci.ImageManifest;
import io.flotilla.protocol.oci.MediaTypes;
import io.flotilla.protocol.oci.OciManifests;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Runs an update through the steps of §7, persisting the state before and after each one so a
 * restarted agent resumes where it stopped. Every step only adds content or replaces it atomically,
 * so running it twice is harmless.
 */
public final class UpdateEngine {

  /** What an app of the target consists of, worked out from the manifests in the content store. */
  record AppPlan(AppUri uri, ComposeAppManifest manifest, List<ImagePlan> images) {}

  record ImagePlan(
      String service, PinnedImage ref, Digest platformDigest, ImageManifest platformManifest) {}

  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

  /** How long services must keep running after they first look healthy. */
  private static final Duration SETTLE_TIME = Duration.ofSeconds(3);

  private final GatewayClient gateway;
  private final RegistryPuller registry;
  private final ContentStore store;
  private final UpdateStore updates;
  private final AppRuntime runtime;
  private final EventQueue events;
  private final TargetSelector selector;
  private final Path appsRoot;
  private final int watermarkPercent;
  private final String architecture;
  private final Console console;
  private final Clock clock;

  public UpdateEngine(
      GatewayClient gateway,
      RegistryPuller registry,
      ContentStore store,
      UpdateStore updates,
      AppRuntime runtime,
      EventQueue events,
      TargetSelector selector,
      Path appsRoot,
      int watermarkPercent,
      String architecture,
      Console console,
      Clock clock) {
    this.gateway = gateway;
    this.registry = registry;
    this.store = store;
    this.updates = updates;
    this.runtime = runtime;
    this.events = events;
    this.selector = selector;
    this.appsRoot = appsRoot;
    this.watermarkPercent = watermarkPercent;
    this.architecture = architecture;
    this.console = console;
    this.clock = clock;
  }

  /** GOARCH name of this JVM's architecture, as image indexes name platforms. */
  public static String goArchitecture(String osArch) {
    return switch (osArch) {
      case "amd64", "x86_64" -> "amd64";
      case "aarch64", "arm64" -> "arm64";
      case "arm" -> "arm";
      default -> osArch;
    };
  }

  /** Step 1: fetch targets.json and choose; exit 20 when the gateway cannot be read. */
  public SelectedTarget check(OptionalLong version) {
    console.step(1, "Checking for updates");
    TargetsMetadata targets;
    try {
      targets = gateway.targets();
    } catch (IOException e) {
      throw new AgentException(
          ExitCode.METADATA_UPDATE_FAILED, "cannot fetch targets: " + Failures.describe(e), e);
    }
    SelectedTarget target = selector.select(targets, version);
    console.info("Target " + target.name() + " with apps " + target.apps().keySet());
    return target;
  }

  /**
   * Runs or resumes an update until {@code until} is reached ({@code FETCHED} for {@code fetch},
   * {@code COMPLETED} for {@code update}). {@code syncCurrent} reinstalls the current target even
   * if it runs.
   */
  public UpdateRecord run(
      UpdateAction action, OptionalLong version, boolean syncCurrent, UpdateState until) {
    // before anything can end the command (the target already runs, the gateway refuses): the
    // server's view of
    // the device is only as new as what it was sent
    flushEvents();
    Optional<UpdateRecord> unfinished = updates.unfinished();
    action.check(unfinished);
    UpdateRecord update;
    if (unfinished.isPresent()) {
      update = unfinished.get();
      if (version.isPresent() && version.getAsLong() != update.version()) {
        throw new AgentException(
            ExitCode.INVALID_ONGOING_UPDATE,
            "update "
                + update.id()
                + " to version "
                + update.version()
                + " is in progress; cancel it before asking for version "
                + version.getAsLong());
      }
      console.info(
          "Resuming update "
              + update.id()
              + " to "
              + update.targetName()
              + " ("
              + update.state().wireName()
              + ")");
    } else {
      SelectedTarget target = syncCurrent ? currentTarget() : check(version);
      Optional<UpdateRecord> current = updates.lastCompleted();
      boolean same =
          current.isPresent()
              && current.get().targetName().equals(target.name())
              && current.get().apps().equals(uris(target));
      if (same && !syncCurrent) {
        throw new AgentException(
            ExitCode.TARGET_ALREADY_RUNNING, "target " + target.name() + " already runs");
      }
      update =
          updates.create(
              target,
              current.map(UpdateRecord::targetName).orElse(null),
              current.map(UpdateRecord::apps).orElse(Map.of()));
    }
    return advance(update, until);
  }

  /**
   * Cancels the unfinished update; the server learns it ended (a failed EcuInstallationCompleted
   * whose details say why), else the operator would see it in progress for ever.
   */
  public UpdateRecord cancel(String reason) {
    Optional<UpdateRecord> unfinished = updates.unfinished();
    UpdateAction.CANCEL.check(unfinished);
    UpdateRecord update = unfinished.get();
    if (update.state() != UpdateState.CANCELLING) {
      update = updates.transition(update, UpdateState.CANCELLING);
    }
    UpdateRecord canceled =
        updates.transition(
            update,
            UpdateState.CANCELED,
            event(
                update,
                DeviceEventType.EcuInstallationCompleted,
                false,
                "{\"canceled\": " + io.flotilla.protocol.Json.mapper().valueToTree(reason) + "}"));
    flushEvents();
    return canceled;
  }

  /**
   * Moves an update forward step by step; a failing step marks it failed and exits with the step's
   * code.
   */
  public UpdateRecord advance(UpdateRecord update, UpdateState until) {
    while (!update.state().isFinal() && update.state().ordinal() < until.ordinal()) {
      update =
          switch (update.state()) {
            case CREATED, INITIALIZING ->
                step(
                    update,
                    UpdateState.INITIALIZING,
                    UpdateState.INITIALIZED,
                    ExitCode.INIT_FAILED,
                    DeviceEventType.UpdateInitStarted,
                    DeviceEventType.UpdateInitCompleted,
                    this::init);
            case INITIALIZED, FETCHING ->
                step(
                    update,
                    UpdateState.FETCHING,
                    UpdateState.FETCHED,
                    ExitCode.FETCH_FAILED,
                    DeviceEventType.EcuDownloadStarted,
                    DeviceEventType.EcuDownloadCompleted,
                    this::fetch);
            case FETCHED, INSTALLING ->
                step(
                    update,
                    UpdateState.INSTALLING,
                    UpdateState.INSTALLED,
                    ExitCode.INSTALL_FAILED,
                    DeviceEventType.EcuInstallationStarted,
                    DeviceEventType.EcuInstallationApplied,
                    this::install);
            case INSTALLED, STARTING ->
                step(
                    update,
                    UpdateState.STARTING,
                    UpdateState.STARTED,
                    ExitCode.START_FAILED,
                    null,
                    null,
                    this::start);
            case STARTED, COMPLETING ->
                step(
                    update,
                    UpdateState.COMPLETING,
                    UpdateState.COMPLETED,
                    ExitCode.GENERIC,
                    null,
                    DeviceEventType.EcuInstallationCompleted,
                    this::complete);
            default ->
                throw new AgentException(
                    ExitCode.INVALID_ONGOING_UPDATE,
                    "update "
                        + update.id()
                        + " is "
                        + update.state().wireName()
                        + " and cannot be advanced");
          };
    }
    flushEvents();
    return update;
  }

  private interface Step {
    void run(UpdateRecord update) throws IOException;
  }

  private UpdateRecord step(
      UpdateRecord update,
      UpdateState running,
      UpdateState done,
      ExitCode failure,
      DeviceEventType started,
      DeviceEventType completed,
      Step work) {
    boolean resumed = update.state() == running;
    if (!resumed) {
      update = updates.transition(update, running, events(update, started));
    }
    try {
      work.run(update);
    } catch (AgentException e) {
      throw failed(update, completed, e.exitCode(), Failures.describe(e), e);
    } catch (IOException | RuntimeException e) {
      throw failed(update, completed, failure, Failures.describe(e), e);
    }
    return updates.transition(update, done, events(update, completed));
  }

  private AgentException failed(
      UpdateRecord update,
      DeviceEventType completed,
      ExitCode code,
      String reason,
      Exception cause) {
    updates.fail(
        update,
        reason,
        event(
            update,
            completed != null ? completed : DeviceEventType.EcuInstallationCompleted,
            false,
            errorDetails(reason)));
    flushEvents();
    String message =
        "update "
            + update.id()
            + " to "
            + update.targetName()
            + " failed while "
            + update.state().wireName()
            + ": "
            + reason;
    console.failed(message);
    return new AgentException(code, message, cause);
  }

  /**
   * {@code {"error": reason}}, the reason shortened until the JSON fits what the server keeps: cut
   * JSON would reach the operator as raw text.
   */
  static String errorDetails(String reason) {
    String shown = reason;
    while (true) {
      String json = "{\"error\": " + io.flotilla.protocol.Json.mapper().valueToTree(shown) + "}";
      if (json.length() <= DeviceEvent.MAX_DETAILS) {
        return json;
      }
      shown = shown.substring(0, shown.length() * 3 / 4) + " ...";
    }
  }

  private void init(UpdateRecord update) throws IOException {
    console.step(2, "Initializing: reading " + update.apps().size() + " app(s) from the registry");
    for (AppPlan app : plans(update, true)) {
      console.debug(app.uri() + ": " + app.images().size() + " image(s)");
    }
  }

  private void fetch(UpdateRecord update) throws IOException {
    List<AppPlan> plans = plans(update, false);
    Map<Digest, Blob> missing = new LinkedHashMap<>();
    for (AppPlan plan : plans) {
      for (ImagePlan image : plan.images()) {
        List<Descriptor> blobs = new ArrayList<>(image.platformManifest().layers());
        blobs.add(image.platformManifest().config());
        for (Descriptor blob : blobs) {
          if (!store.has(blob.digest())) {
            missing.putIfAbsent(
                blob.digest(), new Blob(image.ref().host(), image.ref().repository(), blob));
          }
        }
      }
    }
    long total = missing.values().stream().mapToLong(b -> b.descriptor().size()).sum();
    long already = 0;
    for (Digest digest : missing.keySet()) {
      already += store.partialSize(digest);
    }
    requireSpace(total - already);
    console.step(3, "Fetching " + Console.size(total) + " in " + missing.size() + " blob(s)");
    long done = 0;
    for (Blob blob : missing.values()) {
      long before = done;
      store.fetch(
          blob.descriptor().digest(),
          blob.descriptor().size(),
          registry.blob(blob.host(), blob.repository(), blob.descriptor().digest()),
          bytes -> console.progress(before + bytes, total));
      done += blob.descriptor().size();
    }
  }

  private record Blob(String host, String repository, Descriptor descriptor) {}

  private void requireSpace(long bytesNeeded) throws IOException {
    Files.createDirectories(appsRoot);
    FileStore disk = Files.getFileStore(appsRoot);
    long capacity = disk.getTotalSpace();
    long usedAfter = capacity - disk.getUsableSpace() + bytesNeeded;
    if (capacity > 0 && usedAfter * 100 > capacity * watermarkPercent) {
      throw new AgentException(
          ExitCode.NOT_ENOUGH_SPACE,
          "fetching "
              + Console.size(bytesNeeded)
              + " would fill the disk to "
              + usedAfter * 100 / capacity
              + "%, over the storage watermark of "
              + watermarkPercent
              + "%");
    }
  }

  private void install(UpdateRecord update) throws IOException {
    console.step(4, "Stopping apps that change");
    for (Map.Entry<String, String> old : update.fromApps().entrySet()) {
      if (!old.getValue().equals(update.apps().get(old.getKey()))
          && Files.isDirectory(appsRoot.resolve(old.getKey()))) {
        try {
          runtime.stop(old.getKey(), appsRoot.resolve(old.getKey()));
        } catch (IOException e) {
          throw new AgentException(
              ExitCode.STOP_APPS_FAILED,
              "stopping " + old.getKey() + ": " + Failures.describe(e),
              e);
        }
      }
    }
    console.step(5, "Installing " + update.apps().size() + " app(s)");
    for (AppPlan plan : plans(update, false)) {
      Path target = appsRoot.resolve(plan.uri().app());
      BundleIndex index = BundleIndex.parse(store.read(plan.manifest().bundleIndex().digest()));
      if (AppBundle.verifyDirectory(target, index).isEmpty()) {
        console.debug(plan.uri().app() + " is already unpacked");
      } else {
        unpack(plan, index, target);
      }
      for (ImagePlan image : plan.images()) {
        runtime.loadImage(
            store, image.ref().hostAndRepository(), image.ref().digest(), image.platformManifest());
      }
    }
  }

  private void unpack(AppPlan plan, BundleIndex index, Path target) throws IOException {
    Path fresh = appsRoot.resolve("." + plan.uri().app() + ".new");
    Path old = appsRoot.resolve("." + plan.uri().app() + ".old");
    deleteTree(fresh);
    try (InputStream bundle =
        Files.newInputStream(store.blobPath(plan.manifest().bundle().digest()))) {
      AppBundle.extract(bundle, index, fresh);
    }
    deleteTree(old);
    if (Files.exists(target)) {
      Files.move(target, old);
    }
    Files.move(fresh, target);
    deleteTree(old);
  }

  private void start(UpdateRecord update) throws IOException {
    console.step(6, "Starting " + update.apps().keySet());
    for (AppPlan plan : plans(update, false)) {
      Map<String, String> images = new LinkedHashMap<>();
      for (ImagePlan image : plan.images()) {
        images.put(
            image.service(),
            ImageArchive.localTag(image.ref().hostAndRepository(), image.ref().digest()));
      }
      runtime.start(plan.uri().app(), appsRoot.resolve(plan.uri().app()), images);
    }
    awaitHealthy(update);
    gateway.setRunning(update.targetName(), List.copyOf(update.apps().keySet()));
  }

  /**
   * An app counts as started once every service runs (and is not unhealthy) and still does after a
   * settle time: a service that exits at once fails the start instead of being reported as running.
   */
  private void awaitHealthy(UpdateRecord update) throws IOException {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    boolean wasHealthy = false;
    io.flotilla.protocol.device.AppsStates states;
    while (true) {
      states = appsStates(update);
      boolean healthy =
          states.apps().values().stream()
              .allMatch(a -> a.state().equals(io.flotilla.protocol.device.AppsStates.HEALTHY));
      List<String> stopped =
          states.apps().values().stream()
              .flatMap(a -> a.services().stream())
              .filter(s -> "exited".equals(s.state()) || "dead".equals(s.state()))
              .map(s -> s.name() + " " + s.status())
              .toList();
      if (!stopped.isEmpty()) {
        throw new AgentException(ExitCode.START_FAILED, "services stopped after start: " + stopped);
      }
      if (healthy && wasHealthy) {
        return;
      }
      if (System.nanoTime() > deadline) {
        break;
      }
      wasHealthy = healthy;
      sleep(healthy ? SETTLE_TIME : Duration.ofSeconds(1));
    }
    throw new AgentException(
        ExitCode.START_FAILED,
        "apps not healthy within "
            + START_TIMEOUT.toSeconds()
            + " s: "
            + io.flotilla.protocol.Json.mapper().valueToTree(states.apps()));
  }

  private static void sleep(Duration duration) throws IOException {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while waiting for the apps to start", e);
    }
  }

  private void complete(UpdateRecord update) throws IOException {
    console.step(7, "Completing: update " + update.id() + " to " + update.targetName() + " done");
    for (String removed : update.fromApps().keySet()) {
      if (!update.apps().containsKey(removed)) {
        deleteTree(appsRoot.resolve(removed));
      }
    }
    pruneImages(update);
    prune(update);
  }

  /**
   * Removes the images this agent loaded that neither the completed target nor the one it replaced
   * uses: the running apps keep theirs, and the previous target's stay for a rollback. Runs before
   * the blob prune, which removes the previous target's manifests; a resumed step that finds them
   * gone has pruned the images already.
   */
  private void pruneImages(UpdateRecord update) throws IOException {
    Set<String> keep = new HashSet<>(localImages(plans(update.apps(), false)));
    try {
      keep.addAll(localImages(plans(update.fromApps(), false)));
    } catch (IOException e) {
      console.debug(
          "images of "
              + update.fromTarget()
              + " no longer readable ("
              + Failures.describe(e)
              + "), pruned already");
      return;
    }
    List<String> removed = new ArrayList<>();
    for (String image : runtime.loadedImages()) {
      if (!keep.contains(image)) {
        if (runtime.removeImage(image)) {
          removed.add(image);
        } else {
          console.info("image " + image + " is still used by a container; kept");
        }
      }
    }
    if (!removed.isEmpty()) {
      console.info("Removed " + removed.size() + " image(s) no longer used: " + removed);
    }
  }

  private static List<String> localImages(List<AppPlan> plans) {
    List<String> images = new ArrayList<>();
    for (AppPlan plan : plans) {
      for (ImagePlan image : plan.images()) {
        images.add(ImageArchive.localTag(image.ref().hostAndRepository(), image.ref().digest()));
      }
    }
    return images;
  }

  /**
   * Removes blobs that the completed target does not use. The target now running is also the one a
   * later failed update rolls back to, so its content stays; older targets' content goes.
   */
  private void prune(UpdateRecord update) throws IOException {
    java.util.Set<Digest> used = new java.util.HashSet<>();
    for (AppPlan plan : plans(update, false)) {
      used.add(plan.uri().digest());
      used.add(plan.manifest().bundle().digest());
      used.add(plan.manifest().bundleIndex().digest());
      plan.manifest().layersMeta().ifPresent(d -> used.add(d.digest()));
      for (ImagePlan image : plan.images()) {
        used.add(image.ref().digest());
        used.add(image.platformDigest());
        used.add(image.platformManifest().config().digest());
        image.platformManifest().layers().forEach(layer -> used.add(layer.digest()));
      }
    }
    long freed = 0;
    for (Digest digest : store.list()) {
      if (!used.contains(digest)) {
        freed += Files.size(store.blobPath(digest));
        store.remove(digest);
      }
    }
    if (freed > 0) {
      console.info("Pruned " + Console.size(freed) + " no longer used");
    }
  }

  /**
   * Reads each app's tree from the content store, downloading manifests, index and bundle when
   * {@code download}.
   */
  List<AppPlan> plans(UpdateRecord update, boolean download) throws IOException {
    return plans(update.apps(), download);
  }

  private List<AppPlan> plans(Map<String, String> apps, boolean download) throws IOException {
    List<AppPlan> plans = new ArrayList<>();
    for (String uriText : apps.values()) {
      try {
        plans.add(plan(uriText, download));
      } catch (IOException | IllegalArgumentException e) {
        throw new IOException("app " + uriText + ": " + Failures.describe(e), e);
      }
    }
    return plans;
  }

  private AppPlan plan(String uriText, boolean download) throws IOException {
    AppUri uri = AppUri.parse(uriText);
    byte[] manifestBytes = manifest(uri.registryHost(), uri.repository(), uri.digest(), download);
    ComposeAppManifest app = ComposeAppManifest.parse(manifestBytes);
    smallBlob(uri.registryHost(), uri.repository(), app.bundleIndex(), download);
    smallBlob(uri.registryHost(), uri.repository(), app.bundle(), download);
    byte[] composeBytes;
    try (InputStream bundle = Files.newInputStream(store.blobPath(app.bundle().digest()))) {
      composeBytes = AppBundle.readComposeFile(bundle);
    }
    List<ImagePlan> images = new ArrayList<>();
    for (Map.Entry<String, String> service :
        ComposeFile.parse(composeBytes).serviceImages().entrySet()) {
      if (service.getValue() == null) {
        throw new IOException("service " + service.getKey() + " of " + uri.app() + " has no image");
      }
      try {
        PinnedImage ref = PinnedImage.parse(service.getValue());
        Digest platformDigest = platformDigest(ref, download);
        images.add(
            new ImagePlan(
                service.getKey(),
                ref,
                platformDigest,
                OciManifests.readManifest(
                    manifest(ref.host(), ref.repository(), platformDigest, download))));
      } catch (IOException | IllegalArgumentException e) {
        throw new IOException(
            "service "
                + service.getKey()
                + ", image "
                + service.getValue()
                + ": "
                + Failures.describe(e),
            e);
      }
    }
    return new AppPlan(uri, app, images);
  }

  /**
   * The digest of the image manifest for this device's platform: the reference itself, or its entry
   * in an index.
   */
  private Digest platformDigest(PinnedImage ref, boolean download) throws IOException {
    byte[] bytes = manifest(ref.host(), ref.repository(), ref.digest(), download);
    if (!MediaTypes.isIndex(OciManifests.declaredMediaType(bytes))) {
      return ref.digest();
    }
    ImageIndex index = OciManifests.readIndex(bytes);
    return index
        .forPlatform("linux", architecture, null)
        .orElseThrow(
            () ->
                new IOException(
                    "image "
                        + ref.hostAndRepository()
                        + "@"
                        + ref.digest()
                        + " has no linux/"
                        + architecture
                        + " manifest"))
        .digest();
  }

  private byte[] manifest(String host, String repository, Digest digest, boolean download)
      throws IOException {
    if (!store.has(digest)) {
      if (!download) {
        throw new IOException(
            "manifest " + digest + " of " + repository + " is missing from the content store");
      }
      store.put(digest, registry.manifest(host, repository, digest).bytes());
    }
    return store.read(digest);
  }

  private void smallBlob(String host, String repository, Descriptor blob, boolean download)
      throws IOException {
    if (!store.has(blob.digest())) {
      if (!download) {
        throw new IOException(
            "blob " + blob.digest() + " of " + repository + " is missing from the content store");
      }
      store.fetch(
          blob.digest(), blob.size(), registry.blob(host, repository, blob.digest()), bytes -> {});
    }
  }

  private SelectedTarget currentTarget() {
    UpdateRecord current =
        updates
            .lastCompleted()
            .orElseThrow(
                () ->
                    new AgentException(
                        ExitCode.TARGET_NOT_FOUND, "no target was installed yet, nothing to sync"));
    try {
      return selector
          .byName(gateway.targets(), current.targetName())
          .orElseGet(() -> fromRecord(current));
    } catch (IOException e) {
      console.info(
          "cannot fetch targets ("
              + Failures.describe(e)
              + "); re-syncing "
              + current.targetName()
              + " from local records");
      return fromRecord(current);
    }
  }

  private static SelectedTarget fromRecord(UpdateRecord record) {
    Map<String, AppUri> apps = new LinkedHashMap<>();
    record.apps().forEach((name, uri) -> apps.put(name, AppUri.parse(uri)));
    return new SelectedTarget(record.targetName(), record.version(), apps, false);
  }

  private static Map<String, String> uris(SelectedTarget target) {
    Map<String, String> uris = new java.util.TreeMap<>();
    target.apps().forEach((name, uri) -> uris.put(name, uri.toString()));
    return uris;
  }

  /** The event of a step's start or successful end, none when the step reports none. */
  private DeviceEvent[] events(UpdateRecord update, DeviceEventType type) {
    return type == null ? new DeviceEvent[0] : new DeviceEvent[] {event(update, type, true, null)};
  }

  private DeviceEvent event(
      UpdateRecord update, DeviceEventType type, Boolean success, String details) {
    return DeviceEvent.of(
        type,
        clock.instant(),
        update.id(),
        update.targetName(),
        Long.toString(update.version()),
        success,
        details);
  }

  /**
   * Health of the apps of the current target, read from the engine (for {@code POST /apps-states}).
   */
  public io.flotilla.protocol.device.AppsStates appsStates(UpdateRecord current)
      throws IOException {
    Map<String, io.flotilla.protocol.device.AppsStates.AppState> apps = new LinkedHashMap<>();
    for (Map.Entry<String, String> app : current.apps().entrySet()) {
      Path compose =
          appsRoot
              .resolve(app.getKey())
              .resolve(io.flotilla.protocol.composeapp.ComposeAppFormat.COMPOSE_FILE);
      Map<String, String> hashes = ComposeFile.parse(Files.readAllBytes(compose)).configHashes();
      apps.put(app.getKey(), runtime.health(app.getKey(), app.getValue(), hashes));
    }
    return new io.flotilla.protocol.device.AppsStates(
        null, io.flotilla.protocol.device.Rfc3339.format(clock.instant()), apps);
  }

  public void flushEvents() {
    try {
      events.flush(gateway::events);
    } catch (IOException e) {
      console.debug("events stay queued: " + Failures.describe(e));
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
