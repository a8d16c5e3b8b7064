package io.flotilla.gateway.bench;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The baseline of bench/event-ingest.sh: the journal rows the server wrote for {@code POST /events}
 * (one row per request, carrying that request's update events, plus its tag row), inserted again
 * with plain JDBC into copies of the journal tables in the same PostgreSQL, from as many
 * connections as the server's pool. Two shapes: one transaction per row (what acknowledging each
 * request durably needs) and batches of 100 rows per transaction. Usage: JournalInsertBench
 * JDBC_URL USER PASSWORD SECONDS THREADS; prints "mode rows/s" lines.
 */
public final class JournalInsertBench {

  /**
   * Makes every copied row's persistence id unique across both runs, as the table keeps its primary
   * key.
   */
  private static final AtomicLong SEQUENCE = new AtomicLong();

  private record Row(
      String persistenceId,
      String writer,
      long writeTimestamp,
      int serId,
      String manifest,
      byte[] payload,
      String tag) {}

  public static void main(String[] args) throws Exception {
    String url = args[0];
    String user = args[1];
    String password = args[2];
    int seconds = Integer.parseInt(args[3]);
    int threads = Integer.parseInt(args[4]);
    List<Row> rows = new ArrayList<>();
    try (Connection db = DriverManager.getConnection(url, user, password);
        Statement sql = db.createStatement()) {
      sql.execute("DROP TABLE IF EXISTS bench_tag");
      sql.execute("DROP TABLE IF EXISTS bench_journal");
      sql.execute("CREATE TABLE bench_journal (LIKE event_journal INCLUDING ALL)");
      sql.execute(
          "CREATE TABLE bench_tag (event_id BIGINT, tag VARCHAR(256), PRIMARY KEY(event_id, tag))");
      try (ResultSet r =
          sql.executeQuery(
              "SELECT j.persistence_id, j.writer, j.write_timestamp, j.event_ser_id, j.event_ser_manifest, j.event_payload, t.tag"
                  + " FROM event_journal j LEFT JOIN event_tag t ON t.event_id = j.ordering"
                  + " WHERE j.event_ser_manifest LIKE '%UpdateEventsReported%' ORDER BY j.ordering LIMIT 20000")) {
        while (r.next()) {
          rows.add(
              new Row(
                  r.getString(1),
                  r.getString(2),
                  r.getLong(3),
                  r.getInt(4),
                  r.getString(5),
                  r.getBytes(6),
                  r.getString(7)));
        }
      }
    }
    if (rows.isEmpty()) {
      throw new IllegalStateException(
          "no UpdateEventsReported rows in the journal: run the server load first");
    }
    System.out.printf(
        "rows %d, mean payload %d bytes%n",
        rows.size(), rows.stream().mapToInt(r -> r.payload().length).sum() / rows.size());
    for (int batch : new int[] {1, 100}) {
      System.out.printf(
          "batch-%d %.0f%n", batch, run(url, user, password, seconds, threads, batch, rows));
    }
  }

  private static double run(
      String url, String user, String password, int seconds, int threads, int batch, List<Row> rows)
      throws Exception {
    AtomicLong inserted = new AtomicLong();
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      Thread worker =
          new Thread(
              () -> {
                try (Connection db = DriverManager.getConnection(url, user, password);
                    PreparedStatement journal =
                        db.prepareStatement(
                            "INSERT INTO bench_journal (persistence_id, sequence_number, deleted, writer, write_timestamp, adapter_manifest, event_ser_id, event_ser_manifest, event_payload)"
                                + " VALUES (?, ?, false, ?, ?, '', ?, ?, ?)",
                            new String[] {"ordering"});
                    PreparedStatement tag =
                        db.prepareStatement(
                            "INSERT INTO bench_tag (event_id, tag) VALUES (?, ?)")) {
                  db.setAutoCommit(false);
                  int i = 0;
                  while (System.nanoTime() < end) {
                    List<Row> chunk = new ArrayList<>(batch);
                    for (int b = 0; b < batch; b++) {
                      Row row = rows.get(Math.floorMod(i++, rows.size()));
                      chunk.add(row);
                      journal.setString(1, row.persistenceId() + "#" + SEQUENCE.incrementAndGet());
                      journal.setLong(2, 1);
                      journal.setString(3, row.writer());
                      journal.setLong(4, row.writeTimestamp());
                      journal.setInt(5, row.serId());
                      journal.setString(6, row.manifest());
                      journal.setBytes(7, row.payload());
                      journal.addBatch();
                    }
                    journal.executeBatch();
                    try (ResultSet keys = journal.getGeneratedKeys()) {
                      int k = 0;
                      while (keys.next()) {
                        Row row = chunk.get(k++);
                        if (row.tag() != null) {
                          tag.setLong(1, keys.getLong(1));
                          tag.setString(2, row.tag());
                          tag.addBatch();
                        }
                      }
                    }
                    tag.executeBatch();
                    db.commit();
                    inserted.addAndGet(batch);
                  }
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              });
      worker.start();
      workers.add(worker);
    }
    for (Thread worker : workers) {
      worker.join();
    }
    return inserted.get() / (double) seconds;
  }
}
