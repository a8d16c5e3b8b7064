package io.flotilla.builder.image;

import io.flotilla.builder.build.BuildFailure;
import java.util.List;

/**
 * Picks the backend for a Dockerfile: the in-process builder whenever it can (fast, reproducible,
 * no tools), buildah for the rest when it is installed, and a clear failure when it is not.
 */
public final class ImageBuilders implements ImageBuilder {

  private final ImageBuilder inProcess;
  private final ImageBuilder buildah;

  /** {@code buildah} null means buildah is not available on this node. */
  public ImageBuilders(ImageBuilder inProcess, ImageBuilder buildah) {
    this.inProcess = inProcess;
    this.buildah = buildah;
  }

  @Override
  public BuiltImage build(ImageBuildRequest request) throws BuildFailure {
    List<String> needs = request.dockerfile().needsBuildah();
    if (needs.isEmpty()) {
      request.log().line("  backend: in-process");
      return inProcess.build(request);
    }
    if (buildah == null) {
      throw BuildFailure.deterministic(
          request.name()
              + ": the Dockerfile uses "
              + String.join(", ", needs)
              + ", which needs buildah, and buildah is not installed on this builder node (only FROM, COPY, ADD of local files, ENV, WORKDIR,"
              + " USER, LABEL, EXPOSE, ENTRYPOINT, CMD, ARG and STOPSIGNAL can be built without it)");
    }
    request.log().line("  backend: buildah (for " + String.join(", ", needs) + ")");
    return buildah.build(request);
  }
}
