package io.flotilla.core.tuf;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.core.pki.PkiFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Each factory's TUF root history, {@code <pki-dir>/factories/<f>/tuf/<N>.root.json}: the exact
 * bytes served as {@code /repo/<N>.root.json}, each written once (fsynced, create-if-absent) and
 * never changed, so every node and every restart serves the document a device may already trust.
 *
 * <p>Version 1 is created on first use with the factory's online key ({@link TargetsKeys}) in every
 * role. {@link #rotate} adds version N+1 whose root role is a new key ({@code root-<N+1>-key.pem},
 * mode 0600) while the online key keeps the other roles; it is signed by N's root key and the new
 * one, which is what a client holding N demands before trusting N+1. As with the CAs, the files are
 * the truth (shared by the nodes like the rest of the PKI dir) and the map only a read cache of
 * versions that exist.
 */
public final class TufRoots {

  /**
   * A root far outlives the day-aligned year of the other roles: go-tuf refuses to go on from an
   * expired final root, and only a rotation makes a new one.
   */
  public static final Duration VALIDITY = Duration.ofDays(3650);

  static final String DIR = "tuf";
  private static final Pattern ROOT_FILE = Pattern.compile("([1-9][0-9]{0,8})\\.root\\.json");
  private static final ObjectMapper MAPPER = new ObjectMapper();

  /** One root version and the bytes it is served as. */
  public record Root(int version, byte[] body) {}

  /** Another rotation of the same factory wrote version {@code version} first. */
  public static final class ConcurrentRotationException extends RuntimeException {
    public ConcurrentRotationException(String factory, int version) {
      super(
          "root version "
              + version
              + " of factory "
              + factory
              + " was written by a concurrent rotation; read it and rotate again if needed");
    }
  }

  private record Version(String factory, int version) {}

  private final Path pkiDir;
  private final TargetsKeys onlineKeys;
  private final Clock clock;
  private final ConcurrentMap<Version, byte[]> written = new ConcurrentHashMap<>();

  public TufRoots(Path pkiDir, TargetsKeys onlineKeys, Clock clock) {
    this.pkiDir = pkiDir;
    this.onlineKeys = onlineKeys;
    this.clock = clock;
  }

  /**
   * Root version {@code version}, empty if it does not exist (yet); version 1 always exists.
   *
   * @throws IllegalArgumentException for a factory name that cannot be a directory
   */
  public Optional<Root> version(String factory, int version) {
    if (version < 1) {
      return Optional.empty();
    }
    if (version == 1) {
      return Optional.of(first(factory));
    }
    return read(factory, version);
  }

  /** The newest root version of the factory. */
  public Root latest(String factory) {
    Root first = first(factory);
    int latest = 1;
    try (Stream<Path> files = Files.list(dir(factory))) {
      for (Path file : (Iterable<Path>) files::iterator) {
        Matcher name = ROOT_FILE.matcher(file.getFileName().toString());
        if (name.matches()) {
          latest = Math.max(latest, Integer.parseInt(name.group(1)));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + dir(factory), e);
    }
    return latest == 1 ? first : read(factory, latest).orElseThrow();
  }

  /**
   * Writes root version N+1 under a new root key and returns it; durable when this returns.
   *
   * @throws ConcurrentRotationException if another rotation wrote N+1 meanwhile
   */
  public Root rotate(String factory) {
    Root current = latest(factory);
    int next = current.version() + 1;
    Ed25519TufKey previousKey = rootKey(factory, current.version());
    // A key left by a rotation that died before writing its root is reused, never replaced.
    Path keyFile = dir(factory).resolve("root-" + next + "-key.pem");
    Ed25519TufKey created = Ed25519TufKey.generate();
    Ed25519TufKey nextKey =
        PkiFiles.createSecretIfAbsent(keyFile, created.toPem())
            ? created
            : Ed25519TufKey.fromPem(PkiFiles.readIfExists(keyFile).orElseThrow());
    byte[] body =
        serialize(
            TufMetadata.root(
                next,
                clock.instant().plus(VALIDITY),
                nextKey,
                onlineKeys.forFactory(factory),
                List.of(previousKey, nextKey)));
    if (!PkiFiles.createPublicIfAbsent(
        file(factory, next), new String(body, StandardCharsets.US_ASCII))) {
      throw new ConcurrentRotationException(factory, next);
    }
    written.put(new Version(factory, next), body);
    return new Root(next, body);
  }

  private Root first(String factory) {
    Version key = new Version(factory, 1);
    byte[] cached = written.get(key);
    if (cached != null) {
      return new Root(1, cached);
    }
    Ed25519TufKey online = onlineKeys.forFactory(factory);
    byte[] body =
        serialize(
            TufMetadata.root(1, clock.instant().plus(VALIDITY), online, online, List.of(online)));
    if (!PkiFiles.createPublicIfAbsent(
        file(factory, 1), new String(body, StandardCharsets.US_ASCII))) {
      return read(factory, 1).orElseThrow();
    }
    written.put(key, body);
    return new Root(1, body);
  }

  private Optional<Root> read(String factory, int version) {
    Version key = new Version(factory, version);
    byte[] cached = written.get(key);
    if (cached != null) {
      return Optional.of(new Root(version, cached));
    }
    try {
      byte[] body = Files.readAllBytes(file(factory, version));
      written.put(key, body);
      return Optional.of(new Root(version, body));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read root version " + version + " of " + factory, e);
    }
  }

  private Ed25519TufKey rootKey(String factory, int version) {
    if (version == 1) {
      return onlineKeys.forFactory(factory);
    }
    Path keyFile = dir(factory).resolve("root-" + version + "-key.pem");
    return Ed25519TufKey.fromPem(
        PkiFiles.readIfExists(keyFile)
            .orElseThrow(() -> new IllegalStateException("root key " + keyFile + " is missing")));
  }

  private Path dir(String factory) {
    return PkiFiles.factoryDir(pkiDir, factory).resolve(DIR);
  }

  private Path file(String factory, int version) {
    return dir(factory).resolve(version + ".root.json");
  }

  private static byte[] serialize(Object document) {
    try {
      return MAPPER.writeValueAsBytes(document);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("TUF documents are plain JSON trees", e);
    }
  }
}
