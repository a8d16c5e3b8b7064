package io.flotilla.protocol.composeapp;

import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.protocol.oci.Digest;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AppBundleTest {

  private static final byte[] COMPOSE =
      "services:\n  web:\n    image: busybox\n".getBytes(StandardCharsets.UTF_8);

  @TempDir Path tmp;

  @Test
  void sameFilesGiveTheSameDigestWhateverTheirTimesAndOrder() throws IOException {
    Path first = appDir("a", FileTime.fromMillis(1_000_000));
    Path second = appDir("b", FileTime.fromMillis(2_000_000_000));
    AppBundle.Packed one = AppBundle.fromDirectory(first);
    AppBundle.Packed two = AppBundle.fromDirectory(second);
    assertEquals(one.bundleDigest(), two.bundleDigest());
    assertEquals(one.index().digest(), two.index().digest());
    assertArrayEquals(one.bundle(), two.bundle());

    Map<String, AppBundle.Entry> reversed = new TreeMap<>(java.util.Comparator.reverseOrder());
    reversed.put("docker-compose.yml", AppBundle.Entry.of(COMPOSE));
    reversed.put("conf/nginx.conf", AppBundle.Entry.of("x".getBytes(StandardCharsets.UTF_8)));
    reversed.put(
        "run.sh", new AppBundle.Entry("#!/bin/sh\n".getBytes(StandardCharsets.UTF_8), true));
    assertEquals(one.bundleDigest(), AppBundle.write(reversed).bundleDigest());
  }

  @Test
  void differentContentOrModeGivesADifferentDigest() throws IOException {
    AppBundle.Packed base = AppBundle.fromDirectory(appDir("a", FileTime.fromMillis(0)));
    Map<String, AppBundle.Entry> changed =
        new TreeMap<>(
            Map.of(
                "docker-compose.yml", AppBundle.Entry.of(COMPOSE),
                "conf/nginx.conf", AppBundle.Entry.of("x".getBytes(StandardCharsets.UTF_8)),
                "run.sh",
                    new AppBundle.Entry("#!/bin/sh\n".getBytes(StandardCharsets.UTF_8), false)));
    assertNotEquals(base.bundleDigest(), AppBundle.write(changed).bundleDigest());
  }

  @Test
  void indexListsEveryRegularFileAndIsCanonical() throws IOException {
    AppBundle.Packed packed = AppBundle.fromDirectory(appDir("a", FileTime.fromMillis(0)));
    assertEquals(
        List.of("conf/nginx.conf", "docker-compose.yml", "run.sh"),
        List.copyOf(packed.index().files().keySet()));
    assertEquals(Digest.of(COMPOSE), packed.index().files().get("docker-compose.yml"));
    String json = new String(packed.index().toBytes(), StandardCharsets.UTF_8);
    assertTrue(json.startsWith("{\"conf/nginx.conf\":\"sha256:"), json);
    assertEquals(packed.index(), BundleIndex.parse(packed.index().toBytes()));
  }

  @Test
  void extractsAndVerifiesKeepingTheExecutableBit() throws IOException {
    AppBundle.Packed packed = AppBundle.fromDirectory(appDir("a", FileTime.fromMillis(0)));
    Path out = tmp.resolve("out");
    AppBundle.extract(new ByteArrayInputStream(packed.bundle()), packed.index(), out);
    assertArrayEquals(COMPOSE, Files.readAllBytes(out.resolve("docker-compose.yml")));
    assertTrue(Files.isExecutable(out.resolve("run.sh")));
    assertFalse(Files.isExecutable(out.resolve("conf/nginx.conf")));
    assertEquals(List.of(), AppBundle.verifyDirectory(out, packed.index()));
    assertArrayEquals(
        COMPOSE, AppBundle.readComposeFile(new ByteArrayInputStream(packed.bundle())));

    Files.writeString(out.resolve("conf/nginx.conf"), "tampered");
    Files.writeString(out.resolve("extra.txt"), "?");
    Files.delete(out.resolve("run.sh"));
    assertEquals(
        List.of(
            "conf/nginx.conf: content differs from the bundle index",
            "run.sh: missing",
            "extra.txt: not in the bundle index"),
        AppBundle.verifyDirectory(out, packed.index()));
  }

  @Test
  void extractRefusesAFileWhoseContentDoesNotMatchTheIndex() throws IOException {
    AppBundle.Packed packed = AppBundle.fromDirectory(appDir("a", FileTime.fromMillis(0)));
    var wrong = new TreeMap<>(packed.index().files());
    wrong.put("run.sh", Digest.of(new byte[] {1}));
    ComposeAppException e =
        assertThrows(
            ComposeAppException.class,
            () ->
                AppBundle.extract(
                    new ByteArrayInputStream(packed.bundle()),
                    new BundleIndex(wrong),
                    tmp.resolve("o")));
    assertTrue(e.getMessage().contains("run.sh has sha256:"), e.getMessage());
  }

  @Test
  void extractRefusesMissingAndUnlistedFiles() throws IOException {
    AppBundle.Packed packed = AppBundle.fromDirectory(appDir("a", FileTime.fromMillis(0)));
    var more = new TreeMap<>(packed.index().files());
    more.put("secret.txt", Digest.of(new byte[] {1}));
    assertTrue(
        assertThrows(
                ComposeAppException.class,
                () ->
                    AppBundle.extract(
                        new ByteArrayInputStream(packed.bundle()),
                        new BundleIndex(more),
                        tmp.resolve("o1")))
            .getMessage()
            .contains("lacks"));
    var fewer = new TreeMap<>(packed.index().files());
    fewer.remove("run.sh");
    assertTrue(
        assertThrows(
                ComposeAppException.class,
                () ->
                    AppBundle.extract(
                        new ByteArrayInputStream(packed.bundle()),
                        new BundleIndex(fewer),
                        tmp.resolve("o2")))
            .getMessage()
            .contains("not in the bundle index"));
  }

  @Test
  void extractRefusesPathTraversalAndLinks() throws IOException {
    byte[] evil = tar("../escape.txt", TarArchiveEntry.LF_NORMAL, "x");
    BundleIndex index = new BundleIndex(Map.of("docker-compose.yml", Digest.of(COMPOSE)));
    ComposeAppException e =
        assertThrows(
            ComposeAppException.class,
            () -> AppBundle.extract(new ByteArrayInputStream(evil), index, tmp.resolve("o")));
    assertTrue(e.getMessage().contains("unsafe path"), e.getMessage());
    assertFalse(Files.exists(tmp.resolve("escape.txt")));

    byte[] link = tar("link", TarArchiveEntry.LF_SYMLINK, "");
    String message =
        assertThrows(
                ComposeAppException.class,
                () -> AppBundle.extract(new ByteArrayInputStream(link), index, tmp.resolve("o2")))
            .getMessage();
    assertTrue(message.contains("not a regular file"), message);
    assertThrows(
        ComposeAppException.class,
        () ->
            AppBundle.extract(
                new ByteArrayInputStream("garbage".getBytes()), index, tmp.resolve("o3")));
  }

  @Test
  void refusesAppsWithoutComposeFileOrWithAnOversizedOne() {
    assertTrue(
        assertThrows(
                ComposeAppException.class,
                () -> AppBundle.write(Map.of("x", AppBundle.Entry.of(new byte[1]))))
            .getMessage()
            .contains("docker-compose.yml"));
    byte[] huge = new byte[ComposeAppFormat.MAX_COMPOSE_FILE_BYTES + 1];
    assertTrue(
        assertThrows(
                ComposeAppException.class,
                () -> AppBundle.write(Map.of("docker-compose.yml", AppBundle.Entry.of(huge))))
            .getMessage()
            .contains("over the limit"));
    assertThrows(
        ComposeAppException.class,
        () ->
            AppBundle.write(
                Map.of(
                    "docker-compose.yml",
                    AppBundle.Entry.of(COMPOSE),
                    "a/../../b",
                    AppBundle.Entry.of(COMPOSE))));
  }

  @Test
  void refusesSymbolicLinksWhenBundlingADirectory() throws IOException {
    Path dir = appDir("a", FileTime.fromMillis(0));
    Files.createSymbolicLink(dir.resolve("link"), Path.of("/etc/passwd"));
    assertThrows(ComposeAppException.class, () -> AppBundle.fromDirectory(dir));
  }

  private Path appDir(String name, FileTime time) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve(name));
    Files.createDirectories(dir.resolve("conf"));
    Files.write(dir.resolve("docker-compose.yml"), COMPOSE);
    Files.writeString(dir.resolve("conf/nginx.conf"), "x");
    Path script = Files.writeString(dir.resolve("run.sh"), "#!/bin/sh\n");
    script.toFile().setExecutable(true);
    for (Path p :
        List.of(
            dir.resolve("docker-compose.yml"),
            dir.resolve("conf/nginx.conf"),
            script,
            dir.resolve("conf"))) {
      Files.setLastModifiedTime(p, time);
    }
    return dir;
  }

  private static byte[] tar(String name, byte type, String content) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar =
        new TarArchiveOutputStream(new GzipCompressorOutputStream(bytes))) {
      TarArchiveEntry entry = new TarArchiveEntry(name, type, true);
      if (type == TarArchiveEntry.LF_SYMLINK) {
        entry.setLinkName("/etc/passwd");
      } else {
        entry.setSize(content.length());
      }
      tar.putArchiveEntry(entry);
      tar.write(content.getBytes(StandardCharsets.UTF_8));
      tar.closeArchiveEntry();
    }
    return bytes.toByteArray();
  }
}
