package io.flotilla.core.tuf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TufRootsTest {

  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Clock CLOCK =
      Clock.fixed(Instant.parse("2026-12-06T08:30:00.5Z"), ZoneOffset.UTC);

  @TempDir Path dir;

  private TufRoots roots() {
    return new TufRoots(dir, new TargetsKeys(dir), CLOCK);
  }

  @Test
  void versionOneIsWrittenOnceAndServedAlikeByEveryInstance() throws Exception {
    TufRoots.Root first = roots().latest("acme");
    assertEquals(1, first.version());
    Path file = dir.resolve("factories/acme/tuf/1.root.json");
    assertArrayEquals(Files.readAllBytes(file), first.body());
    assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));

    JsonNode signed = MAPPER.readTree(first.body()).get("signed");
    assertEquals(
        "2036-12-03T08:30:00Z", signed.get("expires").asText(), "ten years, whole seconds");
    String online = new TargetsKeys(dir).forFactory("acme").keyId();
    for (String role : List.of("root", "targets", "snapshot", "timestamp")) {
      assertEquals(online, signed.get("roles").get(role).get("keyids").get(0).asText(), role);
    }

    TufRoots later =
        new TufRoots(dir, new TargetsKeys(dir), Clock.offset(CLOCK, java.time.Duration.ofDays(3)));
    assertArrayEquals(first.body(), later.version("acme", 1).orElseThrow().body());
    assertEquals(Optional.empty(), later.version("acme", 2));
    assertEquals(Optional.empty(), later.version("acme", 0));
  }

  @Test
  void eachRotationIsSignedByThePreviousRootKeyAndItsOwnAndKeepsTheOnlineKey() throws Exception {
    TufRoots roots = roots();
    JsonNode v1 = MAPPER.readTree(roots.latest("acme").body());
    TufRoots.Root second = roots.rotate("acme");
    TufRoots.Root third = roots.rotate("acme");
    assertEquals(2, second.version());
    assertEquals(3, third.version());

    JsonNode v2 = MAPPER.readTree(second.body());
    JsonNode v3 = MAPPER.readTree(third.body());
    assertChains(v1, v2);
    assertChains(v2, v3);
    String online = new TargetsKeys(dir).forFactory("acme").keyId();
    assertEquals(online, keyOf(v3, "targets"));
    assertFalse(keyOf(v2, "root").equals(keyOf(v3, "root")));
    assertEquals(
        "rw-------",
        PosixFilePermissions.toString(
            Files.getPosixFilePermissions(dir.resolve("factories/acme/tuf/root-3-key.pem"))));

    TufRoots restarted = roots();
    assertEquals(3, restarted.latest("acme").version());
    assertArrayEquals(second.body(), restarted.version("acme", 2).orElseThrow().body());
    assertEquals(1, restarted.latest("globex").version(), "factories are apart");
  }

  @Test
  void aRotationThatDiedAfterItsKeyReusesTheKey() throws Exception {
    TufRoots roots = roots();
    roots.latest("acme");
    Ed25519TufKey leftOver = Ed25519TufKey.generate();
    Files.writeString(dir.resolve("factories/acme/tuf/root-2-key.pem"), leftOver.toPem());
    JsonNode v2 = MAPPER.readTree(roots.rotate("acme").body());
    assertEquals(leftOver.keyId(), keyOf(v2, "root"));
  }

  @Test
  void concurrentRotationsWriteEachVersionOnce() throws Exception {
    roots().latest("race");
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Callable<Integer>> tasks = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        TufRoots roots = roots();
        tasks.add(
            () -> {
              try {
                return roots.rotate("race").version();
              } catch (TufRoots.ConcurrentRotationException lost) {
                return 0;
              }
            });
      }
      Set<Integer> versions = new HashSet<>();
      for (Future<Integer> version : pool.invokeAll(tasks, 60, TimeUnit.SECONDS)) {
        int v = version.get();
        if (v > 0) {
          assertTrue(versions.add(v), "version " + v + " answered twice");
        }
      }
      int latest = roots().latest("race").version();
      assertEquals(versions.size() + 1, latest, versions.toString());
      for (int v = 2; v <= latest; v++) {
        assertChains(
            MAPPER.readTree(roots().version("race", v - 1).orElseThrow().body()),
            MAPPER.readTree(roots().version("race", v).orElseThrow().body()));
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aFactoryNameThatCouldLeaveThePkiDirIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> roots().latest("../x"));
  }

  /** go-tuf UpdateRoot: N+1 is signed by N's root role, by its own, and is exactly N+1. */
  private static void assertChains(JsonNode previous, JsonNode next) {
    assertEquals(
        previous.get("signed").get("version").asInt() + 1,
        next.get("signed").get("version").asInt());
    assertTrue(signedByRootOf(previous, next), "signed by the previous root key");
    assertTrue(signedByRootOf(next, next), "signed by its own root key");
  }

  private static boolean signedByRootOf(JsonNode root, JsonNode document) {
    String keyId = keyOf(root, "root");
    String publicHex =
        root.get("signed").get("keys").get(keyId).get("keyval").get("public").asText();
    return TufMetadata.isSignedBy(document, publicHex);
  }

  private static String keyOf(JsonNode root, String role) {
    return root.get("signed").get("roles").get(role).get("keyids").get(0).asText();
  }
}
