package io.flotilla.gateway.device;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.core.target.Target;
import io.flotilla.core.target.Targets;
import io.flotilla.core.target.TargetsCache;
import io.flotilla.core.tuf.Ed25519TufKey;
import io.flotilla.core.tuf.TargetsKeys;
import io.flotilla.core.tuf.TufMetadata;
import io.flotilla.core.tuf.TufRoots;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;

/**
 * The signed TUF documents a device reads under {@code /repo/}, per (factory, tag). Each set is
 * serialized once and kept until the tag's targets change or the day turns: the {@code
 * x-ats-role-checksum} and the snapshot and timestamp hashes are over those exact bytes, and an
 * unchanged target list gives the same bytes all day, so clients that compare checksums do not
 * re-process it.
 *
 * <p>targets.json's {@code signed.version} is the tag's version plus one: TUF versions start at 1,
 * and a tag without targets yet (version 0) must still serve a valid, empty targets.json. Snapshot
 * and timestamp carry {@link #dailyVersion}.
 */
final class TufRepository {

  static final Duration VALIDITY = Duration.ofDays(365);
  private static final int MAX_ENTRIES = 10_000;
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final String EMPTY_SHA256 = TufMetadata.sha256Hex(new byte[0]);

  /** One served file and the sha256 of exactly those bytes. */
  record Document(byte[] body, String sha256) {
    static Document of(ObjectNode node) {
      try {
        return of(MAPPER.writeValueAsBytes(node));
      } catch (JsonProcessingException e) {
        throw new IllegalStateException("TUF documents are plain JSON trees", e);
      }
    }

    static Document of(byte[] bytes) {
      return new Document(bytes, TufMetadata.sha256Hex(bytes));
    }
  }

  record Documents(
      long revision,
      long gateRevision,
      Instant expires,
      long version,
      Document targets,
      Document snapshot,
      Document timestamp) {}

  private record Key(String factory, String tag, Set<Long> hiddenVersions) {}

  private final TargetsKeys keys;
  private final TufRoots roots;
  private final TargetsCache targets;
  private final Clock clock;
  private final Executor blocking;
  private final ConcurrentHashMap<Key, Documents> documents = new ConcurrentHashMap<>();

  TufRepository(
      TargetsKeys keys, TufRoots roots, TargetsCache targets, Clock clock, Executor blocking) {
    this.keys = keys;
    this.roots = roots;
    this.targets = targets;
    this.clock = clock;
    this.blocking = blocking;
  }

  CompletionStage<Documents> documents(String factory, String tag) {
    return documents(factory, tag, Set.of(), 0);
  }

  /**
   * The documents of a tag without the targets of {@code hiddenVersions} (what a rollout keeps from
   * this device). {@code gateRevision} grows with every change of the tag's rollouts and is added
   * to the version, so that a device whose view a rollout changed sees a newer targets.json.
   */
  CompletionStage<Documents> documents(
      String factory, String tag, Set<Long> hiddenVersions, long gateRevision) {
    Key key = new Key(factory, tag, hiddenVersions);
    Instant expires = expires();
    return targets
        .forTag(factory, tag)
        .thenApply(
            list -> {
              Documents cached = documents.get(key);
              if (cached != null
                  && cached.revision() == list.revision()
                  && cached.gateRevision() == gateRevision
                  && cached.expires().equals(expires)) {
                return cached;
              }
              Documents fresh =
                  build(keys.forFactory(factory), list, hiddenVersions, gateRevision, expires);
              if (documents.size() >= MAX_ENTRIES) {
                documents.clear();
              }
              documents.put(key, fresh);
              return fresh;
            });
  }

  /**
   * Root version {@code version}, empty past the newest: go-tuf's {@code loadRoot} asks for N+1
   * until a 404. Off the route's thread, as it may touch the PKI dir.
   */
  CompletionStage<Optional<Document>> root(String factory, int version) {
    return CompletableFuture.supplyAsync(
        () -> roots.version(factory, version).map(root -> Document.of(root.body())), blocking);
  }

  /** The newest root version, served as {@code /repo/root.json}. */
  CompletionStage<Document> latestRoot(String factory) {
    return CompletableFuture.supplyAsync(() -> Document.of(roots.latest(factory).body()), blocking);
  }

  /** Day-aligned, so that the documents of an unchanged tag keep their bytes for a day. */
  private Instant expires() {
    return clock.instant().truncatedTo(ChronoUnit.DAYS).plus(VALIDITY);
  }

  private static Documents build(
      Ed25519TufKey key,
      Targets.TargetList list,
      Set<Long> hiddenVersions,
      long gateRevision,
      Instant expires) {
    long version = list.tagVersion() + 1 + gateRevision;
    ObjectNode entries = JsonNodeFactory.instance.objectNode();
    for (Target target : list.targets()) {
      if (!hiddenVersions.contains(target.version())) {
        entries.set(target.name(), entry(target));
      }
    }
    Document targets =
        Document.of(
            TufMetadata.signedEnvelope(TufMetadata.targetsSigned(version, expires, entries), key));
    long daily = dailyVersion(expires, version);
    Document snapshot =
        Document.of(
            TufMetadata.signedEnvelope(
                TufMetadata.snapshotSigned(daily, expires, version, targets.body()), key));
    Document timestamp =
        Document.of(
            TufMetadata.signedEnvelope(
                TufMetadata.timestampSigned(daily, expires, daily, snapshot.body()), key));
    return new Documents(
        list.revision(), gateRevision, expires, version, targets, snapshot, timestamp);
  }

  /**
   * The snapshot and timestamp version: their bytes change every day (the expiry moves), so their
   * version must grow with them. go-tuf keeps a local timestamp when the served one has the same
   * version ({@code ErrEqualVersionNumber}) and stops once that local copy expires, which for a tag
   * whose targets never change would be a year after its last change. Day first, tag version
   * second: it grows with either, and 32 bits leave room for any tag version.
   */
  static long dailyVersion(Instant expires, long tagVersion) {
    return (expires.getEpochSecond() / 86_400) << 32 | tagVersion;
  }

  /**
   * A container-only target: no OS image, so the hash is that of the empty string and the length 0.
   */
  private static ObjectNode entry(Target target) {
    ObjectNode entry = JsonNodeFactory.instance.objectNode();
    entry.putObject("hashes").put("sha256", EMPTY_SHA256);
    entry.put("length", 0);
    ObjectNode custom = entry.putObject("custom");
    custom.put("name", target.hardwareId());
    custom.put("version", Long.toString(target.version()));
    custom.putArray("hardwareIds").add(target.hardwareId());
    var tags = custom.putArray("tags");
    target.tags().forEach(tags::add);
    custom.put("targetFormat", "OSTREE");
    custom.put("createdAt", TufMetadata.expires(target.createdAt()));
    custom.put("updatedAt", TufMetadata.expires(target.createdAt()));
    if (target.containersSha() != null) {
      custom.put("containers-sha", target.containersSha());
    }
    ObjectNode apps = custom.putObject("docker_compose_apps");
    target.apps().forEach((app, uri) -> apps.putObject(app).put("uri", uri));
    return entry;
  }
}
