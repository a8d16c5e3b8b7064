package io.flotilla.agent.store;

import java.io.IOException;
import java.io.InputStream;

/**
 * Where a blob's bytes come from, asked to start at an offset (HTTP {@code Range}); it may start
 * over from 0 instead.
 */
@FunctionalInterface
public interface BlobSource {

  /**
   * The body from {@code offset} on, or the whole body if the source cannot resume ({@link
   * Body#startsAt()} tells).
   */
  Body open(long offset) throws IOException;

  record Body(InputStream stream, long startsAt) implements AutoCloseable {
    @Override
    public void close() throws IOException {
      stream.close();
    }
  }
}
