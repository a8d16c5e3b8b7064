package io.flotilla.builder.image;

import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.builder.build.BuildFailure;
import io.flotilla.builder.build.BuildLog;
import io.flotilla.builder.build.Cancellation;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which backend builds a Dockerfile, and the clear answers when none can. */
class ImageBuildersTest {

  @TempDir Path context;

  /**
   * Records that it was chosen; the real builders are exercised end to end in the gateway's builder
   * tests.
   */
  private static final class Chosen implements ImageBuilder {
    final List<String> built = new ArrayList<>();

    @Override
    public BuiltImage build(ImageBuildRequest request) {
      built.add(request.name());
      return null;
    }
  }

  private ImageBuildRequest request(String dockerfile) {
    return new ImageBuildRequest(
        "web",
        context,
        Dockerfile.parse(dockerfile),
        List.of(),
        "acme/web",
        List.of("1"),
        null,
        new BuildLog(),
        new Cancellation());
  }

  @Test
  void aDockerfileWithoutRunGoesToTheInProcessBuilder() throws Exception {
    Chosen inProcess = new Chosen();
    Chosen buildah = new Chosen();
    new ImageBuilders(inProcess, buildah)
        .build(request("FROM acme/busybox:1\nCOPY index.html /www/\nCMD [\"httpd\"]\n"));
    assertEquals(List.of("web"), inProcess.built);
    assertEquals(List.of(), buildah.built);
  }

  @Test
  void aRunGoesToBuildahWhenItIsInstalled() throws Exception {
    Chosen inProcess = new Chosen();
    Chosen buildah = new Chosen();
    new ImageBuilders(inProcess, buildah).build(request("FROM acme/busybox:1\nRUN echo hi > /x\n"));
    assertEquals(List.of(), inProcess.built);
    assertEquals(List.of("web"), buildah.built);
  }

  @Test
  void aRunWithoutBuildahFailsTheBuildWithAClearMessage() {
    BuildFailure failure =
        assertThrows(
            BuildFailure.class,
            () ->
                new ImageBuilders(new Chosen(), null)
                    .build(request("FROM acme/busybox:1\nRUN make\n")));
    assertTrue(failure.deterministic(), "retrying cannot help");
    assertTrue(
        failure.getMessage().contains("RUN")
            && failure.getMessage().contains("buildah is not installed"),
        failure.getMessage());
  }

  @Test
  void dockerfileSyntaxErrorsNameTheLine() {
    DockerfileException unknown =
        assertThrows(
            DockerfileException.class, () -> Dockerfile.parse("FROM acme/busybox:1\nCOPPY a b\n"));
    assertTrue(
        unknown.getMessage().contains("line 2") && unknown.getMessage().contains("COPPY"),
        unknown.getMessage());
    assertThrows(DockerfileException.class, () -> Dockerfile.parse("COPY a b\n"));
    assertThrows(DockerfileException.class, () -> Dockerfile.parse(""));
  }
}
