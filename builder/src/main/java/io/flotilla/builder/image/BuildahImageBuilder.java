package io.flotilla.builder.image;

import io.flotilla.builder.build.BuildFailure;
import io.flotilla.builder.registry.RegistryClient;
import io.flotilla.builder.registry.RegistryException;
import io.flotilla.protocol.Json;
import io.flotilla.protocol.oci.Descriptor;
import io.flotilla.protocol.oci.Digest;
import io.flotilla.protocol.oci.ImageIndex;
import io.flotilla.protocol.oci.ImageManifest;
import io.flotilla.protocol.oci.MediaTypes;
import io.flotilla.protocol.oci.OciManifests;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Builds any Dockerfile with {@code buildah bud --isolation chroot} (RUN needs a real process),
 * then exports the image to an OCI layout and pushes it with our own client, so every image reaches
 * the registry the same way. Each build gets its own registries.conf and auth file: short names
 * resolve to our registry, and only our registry ever sees the build's token. Buildah builds the
 * node's native platform only.
 */
public final class BuildahImageBuilder implements ImageBuilder {

  private final String executable;
  private final Path storageRoot;
  private final Path serverCa;

  /**
   * {@code storageRoot} holds buildah's image store, shared by the node's builds so that bases stay
   * cached; {@code serverCa} is what buildah trusts for the node's own registry when it is reached
   * over HTTPS.
   */
  public BuildahImageBuilder(String executable, Path storageRoot, Path serverCa) {
    this.executable = executable;
    this.storageRoot = storageRoot;
    this.serverCa = serverCa;
  }

  public static boolean installed(String executable) {
    try {
      Process process =
          new ProcessBuilder(executable, "--version").redirectErrorStream(true).start();
      process.getInputStream().readAllBytes();
      return process.waitFor(20, TimeUnit.SECONDS) && process.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  @Override
  public BuiltImage build(ImageBuildRequest request) throws BuildFailure {
    TargetPlatform nativePlatform = TargetPlatform.native_();
    List<TargetPlatform> wanted =
        request.platforms().stream()
            .filter(
                p ->
                    p.matches(
                        nativePlatform.os(),
                        nativePlatform.architecture(),
                        nativePlatform.variant()))
            .toList();
    if (wanted.isEmpty()) {
      throw BuildFailure.deterministic(
          request.name()
              + ": buildah builds only the native platform "
              + nativePlatform
              + " here, and the factory's platforms are "
              + request.platforms()
              + " (no emulation is set up)");
    }
    if (wanted.size() < request.platforms().size()) {
      request
          .log()
          .line(
              "  buildah builds only "
                  + nativePlatform
                  + "; skipping "
                  + request.platforms().stream().filter(p -> !wanted.contains(p)).toList());
    }
    Path work = null;
    try {
      work = Files.createTempDirectory("flotilla-buildah-");
      Path config = writeConfig(work, request.registry());
      String image =
          "localhost/flotilla-build/"
              + request.repository().replace('/', '-')
              + ":"
              + Long.toHexString(System.nanoTime());
      int built =
          run(
              request,
              config,
              List.of(
                  executable,
                  "bud",
                  "--isolation",
                  "chroot",
                  "--format",
                  "oci",
                  "--pull",
                  "--authfile",
                  config.resolve("auth.json").toString(),
                  "--tls-verify=" + tlsVerify(request.registry()),
                  "--cert-dir",
                  config.resolve("certs").toString(),
                  "-f",
                  request.context().resolve("Dockerfile").toString(),
                  "-t",
                  image,
                  request.context().toString()));
      if (built != 0) {
        if (built > 128) {
          throw BuildFailure.transientFailure(
              request.name() + ": buildah was killed (exit " + built + ")", null);
        }
        throw BuildFailure.deterministic(
            request.name()
                + ": buildah bud failed with exit code "
                + built
                + " (see the log above)");
      }
      Path layout = work.resolve("layout");
      int pushed =
          run(
              request,
              config,
              List.of(executable, "push", "--format", "oci", image, "oci:" + layout + ":image"));
      run(request, config, List.of(executable, "rmi", "-f", image));
      if (pushed != 0) {
        throw BuildFailure.transientFailure(
            request.name() + ": exporting the image from buildah failed (exit " + pushed + ")",
            null);
      }
      return pushLayout(request, layout, nativePlatform);
    } catch (RegistryException e) {
      throw e.retryable()
          ? BuildFailure.transientFailure(request.name() + ": " + e.getMessage(), e)
          : BuildFailure.deterministic(request.name() + ": " + e.getMessage(), e);
    } catch (IOException e) {
      throw BuildFailure.transientFailure(request.name() + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw BuildFailure.deterministic(request.name() + ": interrupted", e);
    } finally {
      deleteQuietly(work);
    }
  }

  private boolean tlsVerify(RegistryClient registry) {
    return registry.endpoints().ownBase().getScheme().equals("https");
  }

  private Path writeConfig(Path work, RegistryClient registry) throws IOException {
    Path config = Files.createDirectories(work.resolve("config"));
    String host = registry.endpoints().ownHost();
    boolean insecure = !tlsVerify(registry);
    Files.writeString(
        config.resolve("registries.conf"),
        "unqualified-search-registries = [\""
            + host
            + "\"]\nshort-name-mode = \"disabled\"\n\n[[registry]]\nlocation = \""
            + host
            + "\"\ninsecure = "
            + insecure
            + "\n");
    Path certs = Files.createDirectories(config.resolve("certs"));
    if (Files.isReadable(serverCa)) {
      Files.copy(serverCa, certs.resolve("flotilla-server-ca.crt"));
    }
    Files.writeString(
        config.resolve("storage.conf"),
        "[storage]\ndriver = \"vfs\"\ngraphroot = \""
            + storageRoot.resolve("graph")
            + "\"\nrunroot = \""
            + storageRoot.resolve("run")
            + "\"\n");
    Files.writeString(
        config.resolve("containers.conf"),
        "[containers]\ndefault_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n[engine]\nruntime = \"runc\"\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n");
    String auth =
        registry
            .endpoints()
            .basicPassword(host)
            .map(
                p ->
                    Base64.getEncoder()
                        .encodeToString(
                            (registry.endpoints().username() + ":" + p)
                                .getBytes(StandardCharsets.UTF_8)))
            .orElse(null);
    Files.write(
        config.resolve("auth.json"),
        Json.toBytes(
            Map.of("auths", auth == null ? Map.of() : Map.of(host, Map.of("auth", auth)))));
    return config;
  }

  private int run(ImageBuildRequest request, Path config, List<String> command)
      throws IOException, InterruptedException, BuildFailure {
    request.cancellation().check();
    request.log().line("$ " + String.join(" ", command));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder
        .environment()
        .put("CONTAINERS_REGISTRIES_CONF", config.resolve("registries.conf").toString());
    builder.environment().put("CONTAINERS_STORAGE_CONF", config.resolve("storage.conf").toString());
    builder.environment().put("CONTAINERS_CONF", config.resolve("containers.conf").toString());
    builder.environment().put("BUILDAH_ISOLATION", "chroot");
    Files.createDirectories(storageRoot);
    Process process = builder.start();
    request.cancellation().register(process);
    try (BufferedReader reader =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = reader.readLine()) != null; ) {
        request.log().line("  " + line);
      }
      int exit = process.waitFor();
      request.cancellation().check();
      return exit;
    } finally {
      request.cancellation().unregister(process);
      process.destroyForcibly();
    }
  }

  /**
   * Pushes an OCI layout's single image (blobs, config, manifest) to our registry under the
   * request's tags.
   */
  private BuiltImage pushLayout(ImageBuildRequest request, Path layout, TargetPlatform platform)
      throws IOException {
    RegistryClient registry = request.registry();
    String host = registry.endpoints().ownHost();
    ImageIndex index = OciManifests.readIndex(Files.readAllBytes(layout.resolve("index.json")));
    if (index.manifests().isEmpty()) {
      throw new IOException("buildah wrote an empty OCI layout");
    }
    Descriptor top = index.manifests().get(0);
    byte[] manifestBytes = Files.readAllBytes(blob(layout, top.digest()));
    ImageManifest manifest = OciManifests.readManifest(manifestBytes);
    List<Descriptor> blobs = new ArrayList<>(manifest.layers());
    blobs.add(manifest.config());
    for (Descriptor blob : blobs) {
      registry.pushBlob(host, request.repository(), blob.digest(), blob(layout, blob.digest()));
    }
    String mediaType =
        manifest.mediaType() != null ? manifest.mediaType() : MediaTypes.OCI_MANIFEST;
    Digest digest =
        registry.pushManifest(
            host,
            request.repository(),
            Digest.of(manifestBytes).toString(),
            mediaType,
            manifestBytes);
    for (String tag : request.tags()) {
      registry.pushManifest(host, request.repository(), tag, mediaType, manifestBytes);
    }
    request.log().line("  " + platform + ": " + digest);
    return new BuiltImage(
        request.name(), request.repository(), digest, mediaType, List.of(platform.toString()));
  }

  private static Path blob(Path layout, Digest digest) {
    return layout.resolve("blobs").resolve(Digest.ALGORITHM).resolve(digest.hex());
  }

  private static void deleteQuietly(Path dir) {
    if (dir == null) {
      return;
    }
    try (var walk = Files.walk(dir)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a temp dir left behind is harmless
    }
  }
}
