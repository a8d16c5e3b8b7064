package io.flotilla.registry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.stream.ActorAttributes;
import org.apache.pekko.stream.Attributes;

/**
 * Runs the registry's file-system work on its own dispatcher so request threads never block on
 * disk.
 */
public final class BlockingIo {
  public final Executor executor;

  /** For FileIO stages, so streaming reads and writes also run on the registry's dispatcher. */
  public final Attributes streamAttributes;

  public BlockingIo(ActorSystem<?> system) {
    this.executor =
        system
            .dispatchers()
            .lookup(DispatcherSelector.fromConfig(RegistrySettings.BLOCKING_DISPATCHER));
    this.streamAttributes = ActorAttributes.dispatcher(RegistrySettings.BLOCKING_DISPATCHER);
  }

  @FunctionalInterface
  public interface IoCall<T> {
    T call() throws IOException;
  }

  public <T> CompletionStage<T> call(IoCall<T> work) {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            return work.call();
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        },
        executor);
  }
}
