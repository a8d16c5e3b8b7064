package io.flotilla.builder.build;

import static org.junit.jupiter.api.Assertions.*;

import io.flotilla.builder.image.BuiltImage;
import io.flotilla.protocol.oci.Digest;
import io.flotilla.protocol.oci.MediaTypes;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The supervision of one image build: transient failures are retried with backoff, deterministic
 * ones are not.
 */
class ImageBuildWorkerTest {

  static final ActorTestKit testKit = ActorTestKit.create();
  static final ImageBuildWorker.Backoff BACKOFF =
      new ImageBuildWorker.Backoff(Duration.ofMillis(50), Duration.ofMillis(200), 3);

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  /**
   * Fails the first {@code transientFailures} builds transiently, then succeeds; or always fails
   * deterministically.
   */
  record FlakyJob(AtomicInteger calls, int transientFailures, boolean deterministic)
      implements BuildWork.Job {
    @Override
    public List<String> images() {
      return List.of("web");
    }

    @Override
    public BuiltImage buildImage(String image) throws BuildFailure {
      int call = calls.incrementAndGet();
      if (deterministic) {
        throw BuildFailure.deterministic("web: Dockerfile line 1: unknown instruction 'FORM'");
      }
      if (call <= transientFailures) {
        throw BuildFailure.transientFailure("registry unreachable (call " + call + ")", null);
      }
      return new BuiltImage(
          image,
          "acme/web",
          Digest.of(new byte[0]),
          MediaTypes.OCI_MANIFEST,
          List.of("linux/amd64"));
    }

    @Override
    public String packageApps(Map<String, BuiltImage> images) {
      return "";
    }

    @Override
    public java.util.concurrent.CompletionStage<BuildWork.Published> publish() {
      return java.util.concurrent.CompletableFuture.completedFuture(
          new BuildWork.Published(List.of(), Map.of()));
    }

    @Override
    public void close() {}
  }

  @Test
  void aTransientCrashIsRetriedAndTheBuildSucceeds() {
    TestProbe<ImageBuildWorker.Outcome> parent = testKit.createTestProbe();
    AtomicInteger calls = new AtomicInteger();
    BuildLog log = new BuildLog();
    testKit.spawn(
        ImageBuildWorker.create(
            "web",
            new FlakyJob(calls, 2, false),
            log,
            parent.getRef(),
            Executors.newSingleThreadExecutor(),
            BACKOFF));
    ImageBuildWorker.Outcome outcome =
        parent.expectMessageClass(ImageBuildWorker.Outcome.class, Duration.ofSeconds(10));
    assertNull(outcome.failure());
    assertEquals("acme/web", outcome.built().repository());
    assertEquals(3, calls.get());
    assertTrue(String.join("\n", log.drain()).contains("transient; retrying"));
  }

  @Test
  void aDeterministicFailureIsReportedOnceWithoutRetry() {
    TestProbe<ImageBuildWorker.Outcome> parent = testKit.createTestProbe();
    AtomicInteger calls = new AtomicInteger();
    var worker =
        testKit.spawn(
            ImageBuildWorker.create(
                "web",
                new FlakyJob(calls, 0, true),
                new BuildLog(),
                parent.getRef(),
                Executors.newSingleThreadExecutor(),
                BACKOFF));
    ImageBuildWorker.Outcome outcome =
        parent.expectMessageClass(ImageBuildWorker.Outcome.class, Duration.ofSeconds(10));
    assertTrue(outcome.failure().contains("unknown instruction"), outcome.failure());
    parent.expectTerminated(worker, Duration.ofSeconds(5));
    assertEquals(1, calls.get());
  }

  @Test
  void transientFailuresBeyondTheRetryLimitStopTheWorker() {
    TestProbe<ImageBuildWorker.Outcome> parent = testKit.createTestProbe();
    AtomicInteger calls = new AtomicInteger();
    var worker =
        testKit.spawn(
            ImageBuildWorker.create(
                "web",
                new FlakyJob(calls, 100, false),
                new BuildLog(),
                parent.getRef(),
                Executors.newSingleThreadExecutor(),
                BACKOFF));
    parent.expectTerminated(worker, Duration.ofSeconds(10));
    assertEquals(BACKOFF.maxRestarts() + 1, calls.get());
  }
}
