package io.flotilla.gateway.dashboard;

import io.flotilla.core.FlotillaCore;
import io.flotilla.core.device.Device;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.event.Logging;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.RestartSettings;
import org.apache.pekko.stream.javadsl.RestartSource;
import org.apache.pekko.stream.javadsl.Sink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Check-ins and failed updates per minute and factory, for the fleet page's charts: counted on
 * every node from the device journal (the live {@code eventsByTag} of each device slice, from the
 * end of the journal when the node started), over the last {@link #MINUTES} minutes. A check-in is
 * a device event that the device caused (not an operator's change); a failure is an update event
 * reported as failed. Devices persist an idle contact at most once per {@code
 * last-seen-persist-interval}, so idle devices count once per that interval. The streams run as
 * long as the node's actor system.
 */
final class FleetActivity {

  static final int MINUTES = 60;

  private static final Logger log = LoggerFactory.getLogger(FleetActivity.class);

  /** Per factory: a ring of counts, indexed by epoch minute modulo {@link #MINUTES}. */
  private static final class Ring {
    final long[] minute = new long[MINUTES];
    final long[] checkIns = new long[MINUTES];
    final long[] failures = new long[MINUTES];

    synchronized void add(long epochMinute, boolean failure) {
      int i = (int) Math.floorMod(epochMinute, MINUTES);
      if (minute[i] != epochMinute) {
        minute[i] = epochMinute;
        checkIns[i] = 0;
        failures[i] = 0;
      }
      checkIns[i]++;
      if (failure) {
        failures[i]++;
      }
    }

    synchronized Series read(long nowMinute) {
      long[] minutes = new long[MINUTES];
      long[] in = new long[MINUTES];
      long[] failed = new long[MINUTES];
      for (int k = 0; k < MINUTES; k++) {
        long m = nowMinute - (MINUTES - 1) + k;
        int i = (int) Math.floorMod(m, MINUTES);
        minutes[k] = m * 60;
        if (minute[i] == m) {
          in[k] = checkIns[i];
          failed[k] = failures[i];
        }
      }
      return new Series(minutes, in, failed);
    }
  }

  /** Minute starts (epoch seconds), oldest first, with the counts of each minute. */
  record Series(long[] minutes, long[] checkIns, long[] failures) {}

  private final ConcurrentHashMap<String, Ring> rings = new ConcurrentHashMap<>();
  private final Clock clock;

  private FleetActivity(Clock clock) {
    this.clock = clock;
  }

  static FleetActivity start(FlotillaCore core, Clock clock) {
    FleetActivity activity = new FleetActivity(clock);
    JdbcReadJournal journal =
        PersistenceQuery.get(core.system())
            .getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    long end = journalEnd(core);
    // The read journal's first polls time out on a busy node's start; that is routine, a run of
    // failures is not.
    RestartSettings restart =
        RestartSettings.create(Duration.ofSeconds(1), Duration.ofSeconds(30), 0.2)
            .withLogSettings(
                RestartSettings.createLogSettings(Logging.DebugLevel())
                    .withCriticalLogLevel(Logging.WarningLevel(), 10));
    for (int slice = 0; slice < core.deviceSettings().slices(); slice++) {
      String tag = Device.TAG_PREFIX + slice;
      java.util.concurrent.atomic.AtomicLong offset =
          new java.util.concurrent.atomic.AtomicLong(end);
      RestartSource.withBackoff(
              restart,
              () ->
                  journal
                      .eventsByTag(tag, Offset.sequence(offset.get()))
                      .map(
                          envelope -> {
                            if (envelope.offset()
                                instanceof org.apache.pekko.persistence.query.Sequence s) {
                              offset.set(s.value());
                            }
                            return envelope;
                          }))
          .to(Sink.foreach(activity::count))
          .run(core.system());
    }
    return activity;
  }

  /** The journal's highest ordering now: the charts start from the node's start. */
  private static long journalEnd(FlotillaCore core) {
    try (var connection = core.database().dataSource().getConnection();
        PreparedStatement s =
            connection.prepareStatement("SELECT MAX(\"ordering\") FROM \"event_journal\"");
        ResultSet r = s.executeQuery()) {
      return r.next() ? r.getLong(1) : 0L;
    } catch (java.sql.SQLException e) {
      log.warn("reading the journal's end failed; the fleet charts count from its start", e);
      return 0L;
    }
  }

  private void count(EventEnvelope envelope) {
    if (!(envelope.event() instanceof Device.Event event) || !causedByDevice(event)) {
      return;
    }
    long minute = Instant.ofEpochMilli(envelope.timestamp()).getEpochSecond() / 60;
    rings.computeIfAbsent(event.factory(), f -> new Ring()).add(minute, failed(event));
  }

  private static boolean causedByDevice(Device.Event event) {
    if (event instanceof Device.ConfigChanged changed) {
      return changed.byDevice();
    }
    return !(event instanceof Device.DetailsChanged
        || event instanceof Device.LabelsSet
        || event instanceof Device.Decommissioned);
  }

  private static boolean failed(Device.Event event) {
    return event instanceof Device.UpdateEventsReported reported
        && reported.events().stream().anyMatch(e -> Boolean.FALSE.equals(e.success()));
  }

  Series series(String factory) {
    long now = clock.instant().getEpochSecond() / 60;
    Ring ring = rings.get(factory);
    return ring == null ? new Ring().read(now) : ring.read(now);
  }
}
