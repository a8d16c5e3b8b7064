package io.flotilla.core.tuf;

import io.flotilla.core.pki.PkiFiles;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Each factory's online TUF key, which signs its root, targets, snapshot and timestamp metadata.
 * Stored next to the factory's device CA as {@code <pki-dir>/factories/<factory>/targets-key.pem}
 * (mode 0600), created on first use; as with the CAs the file is the truth and the map only a read
 * cache.
 */
public final class TargetsKeys {

  static final String KEY_FILE = "targets-key.pem";

  private final Path pkiDir;
  private final ConcurrentMap<String, Ed25519TufKey> loaded = new ConcurrentHashMap<>();

  public TargetsKeys(Path pkiDir) {
    this.pkiDir = pkiDir;
  }

  /**
   * The factory's key, created on first use; concurrent callers (threads or nodes) all get the same
   * key.
   */
  public Ed25519TufKey forFactory(String factory) {
    return loaded.computeIfAbsent(
        factory,
        f -> {
          Path file = PkiFiles.factoryDir(pkiDir, f).resolve(KEY_FILE);
          return PkiFiles.readIfExists(file)
              .map(Ed25519TufKey::fromPem)
              .orElseGet(
                  () -> {
                    Ed25519TufKey created = Ed25519TufKey.generate();
                    if (PkiFiles.createSecretIfAbsent(file, created.toPem())) {
                      return created;
                    }
                    return Ed25519TufKey.fromPem(PkiFiles.readIfExists(file).orElseThrow());
                  });
        });
  }
}
