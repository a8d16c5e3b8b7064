package io.flotilla.core.files;

import com.typesafe.config.Config;
import java.nio.file.Path;

/**
 * Where the files every node of a cluster must see alike live: the PKI and TUF keys (a device
 * registered through one node presents a certificate the others must trust), the registry's
 * storage, the factories' containers.git and the admin token. {@code flotilla.shared-dir}; empty
 * keeps them in the node's own data dir, which is right for a node alone.
 */
public final class SharedDir {

  public static final String CONFIG_PATH = "flotilla.shared-dir";

  private SharedDir() {}

  public static Path of(Config config, Path dataDir) {
    String configured = config.hasPath(CONFIG_PATH) ? config.getString(CONFIG_PATH).strip() : "";
    return configured.isEmpty() ? dataDir : Path.of(configured).toAbsolutePath().normalize();
  }
}
