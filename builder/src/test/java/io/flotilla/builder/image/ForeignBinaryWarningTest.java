package io.flotilla.builder.image;

import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.flotilla.builder.build.BuildLog;
import io.flotilla.builder.build.Cancellation;
import io.flotilla.builder.registry.RegistryClient;
import io.flotilla.builder.registry.RegistryEndpoints;
import io.flotilla.builder.registry.StoreImagePublisher;
import io.flotilla.registry.LocalRegistry;
import io.flotilla.registry.RegistrySettings;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A {@code FROM scratch} image built in process into a real registry store, its copied program a
 * crafted ELF header: the build log warns for each platform that cannot run it.
 */
class ForeignBinaryWarningTest {

  private static final String HOST = "registry.test:5000";

  @TempDir static Path dir;
  @TempDir Path context;
  static ActorTestKit testKit;
  static RegistryClient registry;

  @BeforeAll
  static void openRegistry() {
    Config config =
        ConfigFactory.parseString(
                """
        pekko.loglevel = WARNING
        pekko.http.server.parsing.error-handler = "org.apache.pekko.http.DefaultParsingErrorHandler$"
        """)
            .withFallback(ConfigFactory.load());
    testKit = ActorTestKit.create("foreign-binary-test", config);
    RegistrySettings settings = RegistrySettings.fromConfig(config, dir.resolve("registry"));
    registry =
        new RegistryClient(
            HttpClient.newHttpClient(),
            new RegistryEndpoints(HOST, URI.create("http://" + HOST), "ci", "secret", Set.of()),
            new StoreImagePublisher(LocalRegistry.open(testKit.system(), settings)));
  }

  @AfterAll
  static void stop() {
    if (testKit != null) {
      testKit.shutdownTestKit();
    }
  }

  /** The first 20 bytes of an ELF file: what {@code e_machine} needs. {@code wide}: ELFCLASS64. */
  static byte[] elf(boolean wide, boolean bigEndian, int type, int machine) {
    byte[] header = new byte[64];
    header[0] = 0x7f;
    header[1] = 'E';
    header[2] = 'L';
    header[3] = 'F';
    header[4] = (byte) (wide ? 2 : 1);
    header[5] = (byte) (bigEndian ? 2 : 1);
    header[6] = 1;
    int typeAt = bigEndian ? 17 : 16;
    int machineAt = bigEndian ? 19 : 18;
    header[typeAt] = (byte) type;
    header[machineAt] = (byte) (machine & 0xff);
    header[bigEndian ? 18 : 19] = (byte) (machine >> 8);
    return header;
  }

  @Test
  void theHeaderNamesTheArchitecture() {
    assertEquals(Optional.of("amd64"), ElfMachine.architecture(elf(true, false, 2, 62)));
    assertEquals(Optional.of("arm64"), ElfMachine.architecture(elf(true, false, 3, 183)));
    assertEquals(Optional.of("arm"), ElfMachine.architecture(elf(false, false, 2, 40)));
    assertEquals(Optional.of("s390x"), ElfMachine.architecture(elf(true, true, 2, 22)));
    assertEquals(Optional.of("ppc64"), ElfMachine.architecture(elf(true, true, 3, 21)));
    assertEquals(Optional.of("machine 4660"), ElfMachine.architecture(elf(true, false, 2, 0x1234)));
    assertEquals(
        Optional.empty(), ElfMachine.architecture(elf(true, false, 1, 62)), "an object file");
    assertEquals(Optional.empty(), ElfMachine.architecture("#!/bin/sh\necho hi\n".getBytes()));
    assertEquals(Optional.empty(), ElfMachine.architecture(new byte[] {0x7f, 'E', 'L', 'F'}));
  }

  private List<String> build(String dockerfile, String... platforms) throws Exception {
    Files.writeString(context.resolve("Dockerfile"), dockerfile);
    BuildLog log = new BuildLog();
    new InProcessImageBuilder()
        .build(
            new ImageBuildRequest(
                "hello",
                context,
                Dockerfile.parse(dockerfile),
                java.util.Arrays.stream(platforms).map(TargetPlatform::parse).toList(),
                "acme/hello",
                List.of("1"),
                registry,
                log,
                new Cancellation()));
    return log.drain().stream().filter(line -> line.contains("warning")).toList();
  }

  @Test
  void anAmd64ProgramInAnArm64ImageIsWarnedOf() throws Exception {
    Files.write(context.resolve("hello"), elf(true, false, 2, 62));
    Files.writeString(context.resolve("notes.txt"), "not a program\n");
    List<String> warnings =
        build(
            "FROM scratch\nCOPY hello /bin/hello\nCOPY notes.txt /\nENTRYPOINT [\"/bin/hello\"]\n",
            "linux/arm64",
            "linux/amd64");
    assertEquals(
        List.of(
            "  warning: linux/arm64 cannot run /bin/hello (amd64): built for another architecture;"
                + " the image is published for linux/arm64 all the same"),
        warnings);
  }

  @Test
  void programsOfThePlatformAndLaterReplacementsAreNot() throws Exception {
    Files.write(context.resolve("hello-amd64"), elf(true, false, 2, 62));
    Files.write(context.resolve("hello-arm64"), elf(true, false, 2, 183));
    Files.write(context.resolve("libarm.so"), elf(false, false, 3, 40));
    assertEquals(
        List.of(),
        build("FROM scratch\nCOPY hello-amd64 /hello\nCOPY hello-arm64 /hello\n", "linux/arm64"),
        "the later COPY replaced the amd64 program");
    assertEquals(
        List.of(
            "  warning: linux/arm64 cannot run /lib/libarm.so (arm): built for another"
                + " architecture; the image is published for linux/arm64 all the same"),
        build("FROM scratch\nCOPY libarm.so /lib/\n", "linux/arm64"));
    assertEquals(List.of(), build("FROM scratch\nCOPY libarm.so /lib/\n", "linux/arm/v7"));
  }

  @Test
  void manyForeignFilesAreCountedNotAllListed() throws Exception {
    Path bin = Files.createDirectories(context.resolve("bin"));
    for (int i = 0; i < 8; i++) {
      Files.write(bin.resolve("tool" + i), elf(true, false, 2, 62));
    }
    List<String> warnings = build("FROM scratch\nCOPY bin /usr/bin\n", "linux/arm64");
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(
        warnings.get(0).contains("/usr/bin/tool4 (amd64) and 3 more ELF file(s)"), warnings.get(0));
    assertFalse(warnings.get(0).contains("tool5"), warnings.get(0));
  }
}
