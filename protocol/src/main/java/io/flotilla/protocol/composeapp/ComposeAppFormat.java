package io.flotilla.protocol.composeapp;

import io.flotilla.protocol.oci.Descriptor;
import io.flotilla.protocol.oci.Digest;
import io.flotilla.protocol.oci.MediaTypes;
import java.nio.charset.StandardCharsets;

/** Constants of the compose-app v1 format (docs/device-protocol.md §6). */
public final class ComposeAppFormat {

  public static final String ARTIFACT_TYPE = "application/vnd.fio+compose-app";
  public static final String APP_ANNOTATION = "compose-app";
  public static final String APP_VERSION = "v1";
  public static final String BUNDLE_INDEX_DIGEST = "org.foundries.app.bundle.index.digest";
  public static final String BUNDLE_INDEX_SIZE = "org.foundries.app.bundle.index.size";
  public static final String LAYERS_META_ANNOTATION = "layers-meta";
  public static final String LAYERS_META_VERSION = "v1";

  public static final String COMPOSE_FILE = "docker-compose.yml";

  /** The label that ties a running container to the service config it was created from. */
  public static final String CONFIG_HASH_LABEL = "io.compose-spec.config-hash";

  /** An app manifest must be smaller than this. */
  public static final int MAX_MANIFEST_BYTES = 50 * 1024;

  /** A compose file may be at most this large. */
  public static final int MAX_COMPOSE_FILE_BYTES = 1024 * 1024;

  /** The OCI empty config {@code {}} every app manifest points at. */
  public static final byte[] EMPTY_CONFIG = "{}".getBytes(StandardCharsets.UTF_8);

  public static final Descriptor EMPTY_CONFIG_DESCRIPTOR =
      Descriptor.of(MediaTypes.OCI_EMPTY, EMPTY_CONFIG);
  public static final Digest EMPTY_CONFIG_DIGEST = EMPTY_CONFIG_DESCRIPTOR.digest();

  private ComposeAppFormat() {}
}
