package io.flotilla.core.persistence;

import com.typesafe.config.Config;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.persistence.AtomicWrite;
import org.apache.pekko.persistence.jdbc.journal.JdbcAsyncWriteJournal;
import scala.collection.immutable.Seq;
import scala.concurrent.Future;
import scala.jdk.javaapi.FutureConverters;
import scala.runtime.BoxedUnit;
import scala.util.Try;

/**
 * pekko-persistence-jdbc's journal, timing each write it makes: the journal batches the persists
 * waiting for it and writes each batch in one transaction, so one sample is one batch, from the
 * journal taking it to the database's commit (a failed write is a failure, an event the serializer
 * refused is not a write). The times go to {@link JournalWrites}, which the metrics read.
 */
public final class TimedJdbcJournal extends JdbcAsyncWriteJournal {

  private final JournalWrites writes;

  public TimedJdbcJournal(Config config) {
    super(config);
    this.writes = JournalWrites.get(Adapter.toTyped(context().system()));
  }

  @Override
  public Future<Seq<Try<BoxedUnit>>> asyncWriteMessages(Seq<AtomicWrite> messages) {
    long start = System.nanoTime();
    Future<Seq<Try<BoxedUnit>>> written = super.asyncWriteMessages(messages);
    FutureConverters.asJava(written)
        .whenComplete(
            (results, failure) ->
                writes.record(messages.size(), System.nanoTime() - start, failure == null));
    return written;
  }
}
