package io.flotilla.builder.git;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * What a push starts: the builder decides, the git route only passes the answer on to the pusher.
 */
@FunctionalInterface
public interface BuildTrigger {

  /**
   * @return the lines to show in the pusher's terminal ({@code remote: ...})
   */
  CompletionStage<List<String>> pushed(String factory, String branch, String commit, String pusher);
}
