package io.flotilla.builder.pack;

import io.flotilla.builder.build.BuildFailure;
import io.flotilla.builder.build.BuildLog;
import io.flotilla.builder.image.BuiltImage;
import io.flotilla.builder.image.ImageCopier;
import io.flotilla.builder.registry.ImageRef;
import io.flotilla.builder.registry.RegistryClient;
import io.flotilla.protocol.composeapp.AppBundle;
import io.flotilla.protocol.composeapp.AppUri;
import io.flotilla.protocol.composeapp.ComposeAppFormat;
import io.flotilla.protocol.composeapp.ComposeAppManifest;
import io.flotilla.protocol.composeapp.ComposeFile;
import io.flotilla.protocol.oci.Digest;
import io.flotilla.protocol.oci.ImageManifest;
import io.flotilla.protocol.oci.MediaTypes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Turns an app directory into a compose-app v1 artifact (docs/device-protocol.md §6) in the
 * factory's registry space: every service image pinned by digest in our registry (factory images to
 * what this build produced, external images copied in first), {@code build:} dropped, config-hash
 * labels added, the directory bundled reproducibly.
 */
public final class AppPackager {

  /**
   * Hosts whose {@code <factory>/<image>} references mean the factory's own images (Foundries' hub
   * among them).
   */
  private static final List<String> FACTORY_HOSTS = List.of("hub.foundries.io");

  private final String factory;
  private final RegistryClient registry;
  private final BuildLog log;

  public AppPackager(String factory, RegistryClient registry, BuildLog log) {
    this.factory = factory;
    this.registry = registry;
    this.log = log;
  }

  /**
   * Decides where each service's image comes from, without touching a registry: a build error here
   * (unpinned external image, a factory image no directory builds) is reported before any image is
   * built.
   */
  public Map<String, ServiceImage> resolve(
      String app, ComposeFile compose, java.util.Set<String> builtImages) throws BuildFailure {
    Map<String, ServiceImage> resolved = new LinkedHashMap<>();
    for (Map.Entry<String, String> service : compose.serviceImages().entrySet()) {
      String image = service.getValue();
      if (image == null) {
        throw BuildFailure.deterministic(
            "app "
                + app
                + ", service "
                + service.getKey()
                + ": no image: (name one of the repository's images "
                + builtImages
                + " or a pinned external image)");
      }
      String factoryImage = factoryImageName(image);
      if (factoryImage != null && builtImages.contains(factoryImage)) {
        resolved.put(service.getKey(), new ServiceImage(factoryImage, null));
        continue;
      }
      ImageRef ref;
      try {
        ref = ImageRef.parse(image, ImageRef.DOCKER_HUB);
      } catch (IllegalArgumentException e) {
        throw BuildFailure.deterministic(
            "app " + app + ", service " + service.getKey() + ": " + e.getMessage());
      }
      if (!ref.pinned()) {
        throw BuildFailure.deterministic(
            "app "
                + app
                + ", service "
                + service.getKey()
                + ": image "
                + image
                + " is neither built by this repository (its images: "
                + builtImages
                + ") nor pinned by a tag other than latest or a digest");
      }
      resolved.put(service.getKey(), new ServiceImage(null, ref));
    }
    return resolved;
  }

  /**
   * A service's image: built by this build ({@code built} names the directory) or external ({@code
   * external}).
   */
  public record ServiceImage(String built, ImageRef external) {}

  public record Packaged(String app, AppUri uri) {}

  public Packaged pack(
      String app,
      Path appDir,
      ComposeFile compose,
      Map<String, ServiceImage> images,
      Map<String, BuiltImage> built,
      long buildNumber)
      throws IOException, BuildFailure {
    String ownHost = registry.endpoints().ownHost();
    Map<String, String> pinned = new LinkedHashMap<>();
    for (Map.Entry<String, ServiceImage> service : images.entrySet()) {
      ServiceImage image = service.getValue();
      if (image.built() != null) {
        BuiltImage result = built.get(image.built());
        pinned.put(service.getKey(), ownHost + "/" + result.repository() + "@" + result.digest());
      } else {
        pinned.put(service.getKey(), pinExternal(app, service.getKey(), image.external()));
      }
    }
    ComposeFile pinnedCompose = compose.pinned(pinned);
    Map<String, AppBundle.Entry> files = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(appDir)) {
      for (Path file : walk.filter(Files::isRegularFile).toList()) {
        String relative = appDir.relativize(file).toString().replace('\\', '/');
        files.put(
            relative, new AppBundle.Entry(Files.readAllBytes(file), Files.isExecutable(file)));
      }
    }
    files.put(ComposeAppFormat.COMPOSE_FILE, AppBundle.Entry.of(pinnedCompose.toBytes()));
    AppBundle.Packed packed = AppBundle.write(files);
    String repository = factory + "/" + app;
    byte[] indexBytes = packed.index().toBytes();
    registry.pushBlob(ownHost, repository, packed.bundleDigest(), packed.bundle());
    registry.pushBlob(ownHost, repository, Digest.of(indexBytes), indexBytes);
    registry.pushBlob(
        ownHost, repository, ComposeAppFormat.EMPTY_CONFIG_DIGEST, ComposeAppFormat.EMPTY_CONFIG);
    ImageManifest manifest =
        ComposeAppManifest.create(
            packed.bundleDigest(), packed.bundle().length, packed.index(), null);
    byte[] manifestBytes = ComposeAppManifest.toBytes(manifest);
    Digest digest =
        registry.pushManifest(
            ownHost,
            repository,
            Digest.of(manifestBytes).toString(),
            MediaTypes.OCI_MANIFEST,
            manifestBytes);
    registry.pushManifest(
        ownHost, repository, "app-" + buildNumber, MediaTypes.OCI_MANIFEST, manifestBytes);
    AppUri uri = new AppUri(ownHost, factory, app, digest);
    log.line(
        "-- app "
            + app
            + ": "
            + uri
            + " ("
            + pinned.size()
            + " service(s), bundle "
            + packed.bundle().length
            + " bytes)");
    return new Packaged(app, uri);
  }

  private String pinExternal(String app, String service, ImageRef ref)
      throws IOException, BuildFailure {
    String ownHost = registry.endpoints().ownHost();
    RegistryClient.Manifest manifest =
        registry
            .manifest(ref.host(), ref.repository(), ref.reference())
            .orElseThrow(
                () ->
                    BuildFailure.deterministic(
                        "app "
                            + app
                            + ", service "
                            + service
                            + ": image "
                            + ref
                            + " does not exist"));
    if (registry.endpoints().isOwn(ref.host()) && ref.repository().startsWith(factory + "/")) {
      log.line("  " + service + ": " + ref + " is in the factory already");
      return ownHost + "/" + ref.repository() + "@" + manifest.digest();
    }
    String copy = factory + "/ext/" + ref.repository();
    log.line("  " + service + ": copying " + ref + " to " + ownHost + "/" + copy);
    Digest digest =
        new ImageCopier(registry)
            .copy(
                ref.host(),
                ref.repository(),
                manifest,
                copy,
                ref.tag() == null ? List.of() : List.of(ref.tag()));
    return ownHost + "/" + copy + "@" + digest;
  }

  /**
   * {@code [host/][<factory>/]<name>[:latest]} names a factory image when the host is ours (or
   * none) and no tag but latest is given.
   */
  private String factoryImageName(String image) {
    String rest = image;
    if (rest.contains("@")) {
      return null;
    }
    String ownHost = registry.endpoints().ownHost();
    for (String host : concat(ownHost)) {
      if (rest.startsWith(host + "/")) {
        rest = rest.substring(host.length() + 1);
        break;
      }
    }
    if (rest.endsWith(":latest")) {
      rest = rest.substring(0, rest.length() - ":latest".length());
    }
    if (rest.contains(":")) {
      return null;
    }
    if (rest.startsWith(factory + "/")) {
      rest = rest.substring(factory.length() + 1);
    }
    return rest.contains("/") ? null : rest;
  }

  private static List<String> concat(String ownHost) {
    List<String> hosts = new java.util.ArrayList<>(FACTORY_HOSTS);
    hosts.add(ownHost);
    return hosts;
  }
}
