package io.flotilla.core.persistence;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.NotUsed;
import org.apache.pekko.persistence.PersistentRepr;
import org.apache.pekko.persistence.jdbc.PekkoSerialization;
import org.apache.pekko.persistence.jdbc.config.EventJournalTableColumnNames;
import org.apache.pekko.persistence.jdbc.config.EventTagTableColumnNames;
import org.apache.pekko.persistence.jdbc.config.ReadJournalConfig;
import org.apache.pekko.persistence.jdbc.journal.dao.JournalTables;
import org.apache.pekko.persistence.jdbc.query.dao.DefaultReadJournalDao;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.scaladsl.Source;
import scala.Option;
import scala.Tuple3;
import scala.collection.immutable.Set;
import scala.concurrent.ExecutionContext;
import scala.concurrent.Future;
import scala.jdk.javaapi.FutureConverters;
import scala.util.Try;
import slick.dbio.DBIOAction;
import slick.jdbc.JdbcBackend;
import slick.jdbc.JdbcProfile;
import slick.jdbc.SimpleJdbcAction;

/**
 * The read journal with one query of its own: events by tag. Every projection polls that query
 * several times a second, idle or not, and the plugin's query selects from a derived table joined
 * to the tag table, which H2 plans tag-first: each poll walked every row ever written with the tag
 * (milliseconds per poll at 60,000 events, growing with the journal; most of an idle node's CPU).
 * Bounding both tables' keys by the offset range lets H2 and PostgreSQL walk only the rows in that
 * range: an idle poll costs microseconds. Same rows, same order.
 */
public final class TagRangeReadJournalDao extends DefaultReadJournalDao {

  private final Serialization serialization;
  private final String eventsByTagSql;

  public TagRangeReadJournalDao(
      JdbcBackend.JdbcDatabaseDef db,
      JdbcProfile profile,
      ReadJournalConfig readJournalConfig,
      Serialization serialization,
      ExecutionContext ec,
      Materializer mat) {
    super(db, profile, readJournalConfig, serialization, ec, mat);
    this.serialization = serialization;
    this.eventsByTagSql = eventsByTagSql(profile, readJournalConfig);
  }

  private static String eventsByTagSql(JdbcProfile profile, ReadJournalConfig config) {
    EventJournalTableColumnNames journal = config.eventJournalTableConfiguration().columnNames();
    EventTagTableColumnNames tags = config.eventTagTableConfiguration().columnNames();
    String journalTable =
        qualified(
            profile,
            config.eventJournalTableConfiguration().schemaName(),
            config.eventJournalTableConfiguration().tableName());
    String tagTable =
        qualified(
            profile,
            config.eventTagTableConfiguration().schemaName(),
            config.eventTagTableConfiguration().tableName());
    String ordering = "j." + profile.quoteIdentifier(journal.ordering());
    String eventId = "t." + profile.quoteIdentifier(tags.eventId());
    List<String> columns =
        List.of(
            journal.ordering(),
            journal.deleted(),
            journal.persistenceId(),
            journal.sequenceNumber(),
            journal.writer(),
            journal.writeTimestamp(),
            journal.adapterManifest(),
            journal.eventPayload(),
            journal.eventSerId(),
            journal.eventSerManifest(),
            journal.metaPayload(),
            journal.metaSerId(),
            journal.metaSerManifest());
    StringBuilder select = new StringBuilder("SELECT ");
    for (int i = 0; i < columns.size(); i++) {
      select
          .append(i == 0 ? "" : ", ")
          .append("j.")
          .append(profile.quoteIdentifier(columns.get(i)));
    }
    return select
        + " FROM "
        + tagTable
        + " t JOIN "
        + journalTable
        + " j ON "
        + ordering
        + " = "
        + eventId
        + " WHERE t."
        + profile.quoteIdentifier(tags.tag())
        + " = ?"
        + " AND "
        + eventId
        + " > ? AND "
        + eventId
        + " <= ?"
        + " AND "
        + ordering
        + " > ? AND "
        + ordering
        + " <= ?"
        + " AND j."
        + profile.quoteIdentifier(journal.deleted())
        + " = FALSE"
        + " ORDER BY "
        + eventId
        + " LIMIT ?";
  }

  private static String qualified(JdbcProfile profile, Option<String> schema, String table) {
    return (schema.isDefined() ? profile.quoteIdentifier(schema.get()) + "." : "")
        + profile.quoteIdentifier(table);
  }

  @Override
  public Source<Try<Tuple3<PersistentRepr, Set<String>, Object>>, NotUsed> eventsByTag(
      String tag, long offset, long maxOffset, long max) {
    long limit = correctMaxForH2Driver(max);
    SimpleJdbcAction<List<JournalTables.JournalPekkoSerializationRow>> query =
        SimpleJdbcAction.apply(
            context -> rows(context.connection(), tag, offset, maxOffset, limit));
    Set<String> noTags = scala.collection.immutable.Set$.MODULE$.empty();
    return org.apache.pekko.stream.javadsl.Source.completionStage(
            FutureConverters.asJava(run(query)))
        .mapConcat(rows -> rows)
        .map(
            row ->
                PekkoSerialization.fromRow(serialization, row)
                    .map(read -> new Tuple3<>(read._1(), noTags, read._2())))
        .asScala();
  }

  /**
   * Slick's run takes any effect in Scala (covariance) but Java sees its effect type as Nothing.
   */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private <R> Future<R> run(SimpleJdbcAction<R> action) {
    return db().run((DBIOAction) action);
  }

  private List<JournalTables.JournalPekkoSerializationRow> rows(
      Connection connection, String tag, long offset, long maxOffset, long limit) {
    try (PreparedStatement statement = connection.prepareStatement(eventsByTagSql)) {
      statement.setString(1, tag);
      statement.setLong(2, offset);
      statement.setLong(3, maxOffset);
      statement.setLong(4, offset);
      statement.setLong(5, maxOffset);
      statement.setLong(6, limit);
      List<JournalTables.JournalPekkoSerializationRow> rows = new ArrayList<>();
      try (ResultSet result = statement.executeQuery()) {
        while (result.next()) {
          int metaSerId = result.getInt(12);
          Option<Object> metaSerIdOption =
              result.wasNull() ? Option.empty() : Option.apply(metaSerId);
          rows.add(
              new JournalTables.JournalPekkoSerializationRow(
                  result.getLong(1),
                  result.getBoolean(2),
                  result.getString(3),
                  result.getLong(4),
                  result.getString(5),
                  result.getLong(6),
                  result.getString(7),
                  result.getBytes(8),
                  result.getInt(9),
                  result.getString(10),
                  Option.apply(result.getBytes(11)),
                  metaSerIdOption,
                  Option.apply(result.getString(13))));
        }
      }
      return rows;
    } catch (SQLException e) {
      throw new Database.DatabaseException(e);
    }
  }
}
