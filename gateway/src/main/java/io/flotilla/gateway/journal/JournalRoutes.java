package io.flotilla.gateway.journal;

import static org.apache.pekko.http.javadsl.server.Directives.*;
import static org.apache.pekko.http.javadsl.server.PathMatchers.remaining;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.journal.JournalReader;
import io.flotilla.gateway.http.Authentication;
import io.flotilla.gateway.http.Errors;
import java.util.Optional;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /api/v1/journal/{entityType}/{id}[?from=seqNr]}: an entity's events as JSON lines,
 * admin only.
 */
public final class JournalRoutes {

  private static final org.apache.pekko.http.javadsl.model.ContentType NDJSON =
      MediaTypes.applicationWithFixedCharset(
              "x-ndjson", org.apache.pekko.http.javadsl.model.HttpCharsets.UTF_8)
          .toContentType();

  private static final Logger log = LoggerFactory.getLogger(JournalRoutes.class);

  private final FlotillaCore core;
  private final Authentication auth;
  private final JdbcReadJournal readJournal;

  public JournalRoutes(FlotillaCore core, Authentication auth) {
    this.core = core;
    this.auth = auth;
    this.readJournal =
        PersistenceQuery.get(core.system())
            .getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
  }

  public Route route() {
    return pathPrefix(
        "journal",
        () ->
            pathPrefix(
                segment(),
                entityType ->
                    path(
                        remaining(),
                        entityId ->
                            get(
                                () ->
                                    auth.adminOnly(
                                        () ->
                                            parameterOptional(
                                                "from",
                                                from -> journal(entityType, entityId, from)))))));
  }

  private Route journal(String entityType, String entityId, Optional<String> from) {
    Optional<String> persistenceId = JournalReader.persistenceId(entityType, entityId);
    if (persistenceId.isEmpty()) {
      return Errors.notFound(
          "unknown entity type '" + entityType + "'; known: " + JournalReader.ENTITY_TYPES);
    }
    long fromSequenceNr;
    try {
      fromSequenceNr = from.map(Long::parseLong).orElse(1L);
    } catch (NumberFormatException e) {
      return Errors.badRequest("from must be a sequence number");
    }
    if (fromSequenceNr < 1) {
      return Errors.badRequest("from must be 1 or more");
    }
    return onSuccess(
        readJournal.currentLastSequenceNumberByPersistenceId(persistenceId.get()),
        last -> {
          if (last.isEmpty()) {
            return Errors.notFound("no events for " + persistenceId.get());
          }
          JournalReader reader = core.journalReader();
          var lines =
              reader
                  .events(persistenceId.get(), fromSequenceNr)
                  .map(entry -> ByteString.fromString(reader.toJsonLine(entry)))
                  .watchTermination(
                      (notUsed, done) -> {
                        done.whenComplete(
                            (ok, failure) -> logBrokenStream(persistenceId.get(), failure));
                        return notUsed;
                      });
          return complete(
              HttpResponse.create().withEntity(HttpEntities.createChunked(NDJSON, lines)));
        });
  }

  /**
   * The status line went out before the first event was read, so a failure mid-stream can only
   * break the connection: the client sees a reset, and this line says why.
   */
  private static void logBrokenStream(String persistenceId, Throwable failure) {
    if (failure != null) {
      log.warn("the journal of {} broke off mid-answer: {}", persistenceId, failure.toString());
    }
  }
}
