package io.flotilla.builder.build;

import io.flotilla.builder.image.BuiltImage;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * The work of a build, step by step. Image builds and packaging are blocking calls that the {@link
 * BuildRunner} and its image workers make on the builder's dispatcher; preparing and publishing,
 * which mostly ask entities, answer with a stage that fails with a {@link BuildFailure}. The runner
 * owns ordering, retries, timeouts and cancellation; this owns the content.
 */
public interface BuildWork {

  /**
   * Checks out the commit and reads what it holds; bad input found here fails the build before any
   * image is built.
   */
  CompletionStage<Job> prepare(BuildSpec spec, BuildLog log, Cancellation cancellation);

  interface Job extends AutoCloseable {
    /** The images to build, by directory name. */
    List<String> images();

    BuiltImage buildImage(String image) throws BuildFailure;

    /**
     * @return a one-line result for the step
     */
    String packageApps(Map<String, BuiltImage> images) throws BuildFailure;

    CompletionStage<Published> publish();

    @Override
    void close();
  }

  record Published(List<String> targets, Map<String, String> apps) {}
}
