package io.flotilla.agent.runtime;

import io.flotilla.agent.store.ContentStore;
import io.flotilla.protocol.device.AppsStates;
import io.flotilla.protocol.oci.Digest;
import io.flotilla.protocol.oci.ImageManifest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/** What the update engine needs from a container engine. */
public interface AppRuntime {

  /**
   * Makes an image available to the engine from the content store; returns the local reference
   * compose should use.
   */
  String loadImage(
      ContentStore store,
      String hostAndRepository,
      Digest manifestDigest,
      ImageManifest platformManifest)
      throws IOException;

  /** Starts (or updates) an app; {@code localImages} maps each service to its loaded image. */
  void start(String app, Path appDir, Map<String, String> localImages) throws IOException;

  void stop(String app, Path appDir) throws IOException;

  /**
   * The local references of every image {@link #loadImage} made available that the engine still
   * has.
   */
  Set<String> loadedImages() throws IOException;

  /** Removes a loaded image; false when the engine keeps it because a container still uses it. */
  boolean removeImage(String localReference) throws IOException;

  AppsStates.AppState health(String app, String uri, Map<String, String> configHashes)
      throws IOException;
}
