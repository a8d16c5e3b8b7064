package io.flotilla.agent.runtime;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.flotilla.agent.store.AtomicFiles;
import io.flotilla.agent.store.ContentStore;
import io.flotilla.protocol.device.AppsStates;
import io.flotilla.protocol.oci.Digest;
import io.flotilla.protocol.oci.ImageManifest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Docker Engine API + compose. Loaded images are tagged locally and a compose override file outside
 * the app directory points each service at its tag, so the installed app directory stays
 * byte-identical to the bundle (it is verified against the bundle index) and compose never tries to
 * pull.
 */
public final class DockerRuntime implements AppRuntime {

  private final DockerEngine engine;
  private final Compose compose;
  private final Path overridesDir;
  private final Path scratchDir;

  public DockerRuntime(DockerEngine engine, Compose compose, Path overridesDir, Path scratchDir) {
    this.engine = engine;
    this.compose = compose;
    this.overridesDir = overridesDir;
    this.scratchDir = scratchDir;
  }

  @Override
  public String loadImage(
      ContentStore store,
      String hostAndRepository,
      Digest manifestDigest,
      ImageManifest platformManifest)
      throws IOException {
    String tag = ImageArchive.localTag(hostAndRepository, manifestDigest);
    if (engine.imageExists(tag)) {
      return tag;
    }
    Files.createDirectories(scratchDir);
    Path tarball = Files.createTempFile(scratchDir, "image-", ".tar");
    try {
      ImageArchive.write(store, platformManifest, tag, tarball);
      engine.loadImage(tarball);
    } finally {
      Files.deleteIfExists(tarball);
    }
    if (!engine.imageExists(tag)) {
      throw new IOException("the engine accepted image " + tag + " but does not list it");
    }
    return tag;
  }

  @Override
  public void start(String app, Path appDir, Map<String, String> localImages) throws IOException {
    succeeded("compose up of " + app, compose.up(app, appDir, writeOverride(app, localImages)));
  }

  @Override
  public void stop(String app, Path appDir) throws IOException {
    Path override = overridesDir.resolve(app + ".yml");
    succeeded(
        "compose down of " + app,
        compose.down(app, appDir, Files.exists(override) ? override : null));
  }

  private static void succeeded(String what, Compose.Result result) throws IOException {
    if (!result.ok()) {
      throw new IOException(
          what + " failed (exit " + result.exitCode() + "): " + tail(result.output()));
    }
  }

  @Override
  public Set<String> loadedImages() throws IOException {
    return engine.imageTags().stream()
        .filter(ImageArchive::isLocalTag)
        .collect(Collectors.toCollection(TreeSet::new));
  }

  @Override
  public boolean removeImage(String localReference) throws IOException {
    return engine.removeImage(localReference);
  }

  @Override
  public AppsStates.AppState health(String app, String uri, Map<String, String> configHashes)
      throws IOException {
    return AppHealth.of(engine, app, uri, configHashes);
  }

  private Path writeOverride(String app, Map<String, String> localImages) throws IOException {
    YAMLMapper yaml = new YAMLMapper();
    ObjectNode root = yaml.createObjectNode();
    ObjectNode services = root.putObject("services");
    localImages.forEach((service, image) -> services.putObject(service).put("image", image));
    Path override = overridesDir.resolve(app + ".yml");
    AtomicFiles.write(override, yaml.writeValueAsBytes(root));
    return override;
  }

  private static String tail(String output) {
    String trimmed = output.strip();
    return trimmed.length() > 1500 ? "..." + trimmed.substring(trimmed.length() - 1500) : trimmed;
  }
}
