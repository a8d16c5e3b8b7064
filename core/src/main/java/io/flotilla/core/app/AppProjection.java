package io.flotilla.core.app;

import static io.flotilla.core.ReadSideSupport.timestamp;
import static io.flotilla.core.ReadSideSupport.upsert;

import io.flotilla.core.ReadSideSupport;
import io.flotilla.core.persistence.Database;
import io.flotilla.core.persistence.PooledJdbcSession;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.jdbc.javadsl.JdbcHandler;

/** Keeps the {@code app_versions} table. */
public final class AppProjection extends JdbcHandler<EventEnvelope<App.Event>, PooledJdbcSession> {

  public static final String NAME = "apps";

  public static void start(ActorSystem<?> system, Database database) {
    ReadSideSupport.startProjection(system, database, NAME, App.TAG, AppProjection::new);
  }

  @Override
  public void process(PooledJdbcSession session, EventEnvelope<App.Event> envelope)
      throws Exception {
    if (!(envelope.event() instanceof App.VersionPublished published)) {
      return;
    }
    session.withConnection(
        connection -> {
          upsert(
              connection,
              "UPDATE app_versions SET uri = ?, source_commit = ?, build_number = ?, published_at = ? WHERE factory = ? AND app = ? AND digest = ?",
              "INSERT INTO app_versions (uri, source_commit, build_number, published_at, factory, app, digest) VALUES (?, ?, ?, ?, ?, ?, ?)",
              s -> {
                s.setString(1, published.uri());
                s.setString(2, published.sourceCommit());
                s.setLong(3, published.buildNumber());
                s.setTimestamp(4, timestamp(published.publishedAt()));
                s.setString(5, published.factory());
                s.setString(6, published.app());
                s.setString(7, published.digest());
              });
          return null;
        });
  }
}
