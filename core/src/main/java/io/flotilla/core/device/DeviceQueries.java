package io.flotilla.core.device;

import static io.flotilla.core.ReadSideSupport.instant;
import static io.flotilla.core.ReadSideSupport.timestamp;

import io.flotilla.core.persistence.Database;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * Read-side queries over {@code device_status} and {@code device_updates}, for the operator API.
 */
public final class DeviceQueries {

  public record DeviceRow(
      String uuid,
      String factory,
      String name,
      String tag,
      String group,
      String hardwareId,
      boolean production,
      String targetName,
      List<String> apps,
      Instant lastSeen,
      String updateCorrelationId,
      String updateState,
      Instant createdAt,
      Instant decommissionedAt,
      Device.Failure lastFailure,
      Map<String, String> labels) {

    DeviceRow with(Device.Failure failure, Map<String, String> deviceLabels) {
      return new DeviceRow(
          uuid,
          factory,
          name,
          tag,
          group,
          hardwareId,
          production,
          targetName,
          apps,
          lastSeen,
          updateCorrelationId,
          updateState,
          createdAt,
          decommissionedAt,
          failure,
          deviceLabels == null ? Map.of() : deviceLabels);
    }
  }

  /**
   * Null fields do not filter. {@code online}: seen since {@code onlineSince}; {@code updating}:
   * the newest update is in progress. Decommissioned devices are listed only when {@code
   * includeDecommissioned}.
   */
  public record DeviceFilter(
      String tag,
      String target,
      String group,
      Boolean online,
      Boolean updating,
      boolean includeDecommissioned,
      String labelKey,
      String labelValue) {

    public DeviceFilter(
        String tag,
        String target,
        String group,
        Boolean online,
        Boolean updating,
        boolean includeDecommissioned) {
      this(tag, target, group, online, updating, includeDecommissioned, null, null);
    }
  }

  /** {@code nextCursor} is the uuid to continue after, null on the last page. */
  public record DevicePage(List<DeviceRow> devices, String nextCursor) {}

  public record UpdateRow(
      String correlationId,
      String targetName,
      String version,
      String state,
      String failedStep,
      Instant startedAt,
      Instant updatedAt,
      List<Device.UpdateEvent> events) {}

  public record FleetStatus(
      long devices,
      long online,
      long offline,
      long upToDate,
      long notUpToDate,
      long updating,
      Map<String, Long> byTag,
      Map<String, Long> byTarget) {}

  /** The dashboard's device table: what a device's status can be filtered by. */
  public enum DeviceStatus {
    ONLINE,
    OFFLINE,
    UPDATING,
    FAILED
  }

  /** Columns the device table sorts by; the uuid breaks ties so that pages never overlap. */
  public enum DeviceSort {
    NAME("LOWER(name)"),
    LAST_SEEN("last_seen"),
    TAG("tag"),
    TARGET("target_name"),
    CREATED("created_at");

    private final String column;

    DeviceSort(String column) {
      this.column = column;
    }
  }

  /**
   * One page of the dashboard's device table. Null fields do not filter; {@code text} matches a
   * name anywhere or a uuid's start; {@code seenSince}/{@code notSeenSince} bound the last contact
   * (a device never seen counts as not seen since any time).
   */
  /** {@code labelKey} and {@code labelValue}: devices with that label; both or neither. */
  public record DeviceSearch(
      String text,
      String tag,
      String target,
      String group,
      String labelKey,
      String labelValue,
      DeviceStatus status,
      Instant seenSince,
      Instant notSeenSince,
      DeviceSort sort,
      boolean descending,
      int offset,
      int limit) {}

  /** {@code total}: how many devices match, on every page. */
  public record DeviceSearchPage(List<DeviceRow> devices, long total) {}

  /** What the fleet page shows for one tag or one target. */
  public record StatusCounts(
      long devices, long online, long offline, long upToDate, long updating, long failed) {

    StatusCounts plus(boolean online, boolean upToDate, boolean updating, boolean failed) {
      return new StatusCounts(
          devices + 1,
          this.online + (online ? 1 : 0),
          offline + (online ? 0 : 1),
          this.upToDate + (upToDate ? 1 : 0),
          this.updating + (updating ? 1 : 0),
          this.failed + (failed ? 1 : 0));
    }

    static final StatusCounts NONE = new StatusCounts(0, 0, 0, 0, 0, 0);
  }

  /** The fleet's counts in total, per tag and per target (no tag or target: the key "") . */
  public record FleetBreakdown(
      StatusCounts total, Map<String, StatusCounts> byTag, Map<String, StatusCounts> byTarget) {}

  private static final String DEVICE_COLUMNS =
      "uuid, factory, name, tag, device_group, hardware_id, production, target_name, apps, last_seen, update_correlation_id, update_state, created_at, decommissioned_at";

  private final Database database;
  private final Executor blocking;

  public DeviceQueries(Database database, Executor blocking) {
    this.database = database;
    this.blocking = blocking;
  }

  public CompletionStage<DevicePage> devices(
      String factory, DeviceFilter filter, Instant onlineSince, int limit, String afterUuid) {
    return database.query(
        blocking,
        connection -> {
          StringBuilder sql =
              new StringBuilder(
                  "SELECT " + DEVICE_COLUMNS + " FROM device_status WHERE factory = ?");
          List<Object> args = new ArrayList<>(List.of(factory));
          if (!filter.includeDecommissioned()) {
            sql.append(" AND decommissioned_at IS NULL");
          }
          equal(sql, args, "tag", filter.tag());
          equal(sql, args, "target_name", filter.target());
          equal(sql, args, "device_group", filter.group());
          labelled(sql, args, filter.labelKey(), filter.labelValue());
          if (filter.online() != null) {
            sql.append(
                filter.online()
                    ? " AND last_seen >= ?"
                    : " AND (last_seen IS NULL OR last_seen < ?)");
            args.add(timestamp(onlineSince));
          }
          if (filter.updating() != null) {
            sql.append(
                filter.updating()
                    ? " AND update_state = ?"
                    : " AND (update_state IS NULL OR update_state <> ?)");
            args.add(Device.UpdateState.IN_PROGRESS.wireName());
          }
          if (afterUuid != null) {
            sql.append(" AND uuid > ?");
            args.add(afterUuid);
          }
          sql.append(" ORDER BY uuid LIMIT ?");
          args.add(limit + 1);
          List<DeviceRow> rows = new ArrayList<>();
          try (PreparedStatement s = connection.prepareStatement(sql.toString())) {
            for (int i = 0; i < args.size(); i++) {
              s.setObject(i + 1, args.get(i));
            }
            try (ResultSet r = s.executeQuery()) {
              while (r.next()) {
                rows.add(device(r));
              }
            }
          }
          String next = null;
          if (rows.size() > limit) {
            rows = rows.subList(0, limit);
            next = rows.get(limit - 1).uuid();
          }
          return new DevicePage(withLastFailures(connection, factory, rows), next);
        });
  }

  public CompletionStage<Optional<DeviceRow>> device(String factory, String uuid) {
    return database.query(
        blocking,
        connection -> {
          try (PreparedStatement s =
              connection.prepareStatement(
                  "SELECT "
                      + DEVICE_COLUMNS
                      + " FROM device_status WHERE factory = ? AND uuid = ?")) {
            s.setString(1, factory);
            s.setString(2, uuid);
            try (ResultSet r = s.executeQuery()) {
              if (!r.next()) {
                return Optional.empty();
              }
              return Optional.of(withLastFailures(connection, factory, List.of(device(r))).get(0));
            }
          }
        });
  }

  /**
   * Each device's newest failed update (by start) from {@code device_updates}, read as the entity
   * reads it ({@link Device#failureOf}); {@code at} is when the server last received an event of
   * that update, which is the failing one unless the device reported more afterwards.
   */
  private static List<DeviceRow> withLastFailures(
      Connection connection, String factory, List<DeviceRow> rows) throws SQLException {
    if (rows.isEmpty()) {
      return List.copyOf(rows);
    }
    String marks = String.join(", ", java.util.Collections.nCopies(rows.size(), "?"));
    Map<String, Device.Failure> failures = new java.util.HashMap<>();
    try (PreparedStatement s =
        connection.prepareStatement(
            "SELECT u.uuid, u.correlation_id, u.target_name, u.events, u.updated_at"
                + " FROM device_updates u WHERE u.factory = ? AND u.state = ? AND u.uuid IN ("
                + marks
                + ") AND u.started_at = (SELECT MAX(m.started_at) FROM device_updates m"
                + " WHERE m.uuid = u.uuid AND m.state = ?) ORDER BY u.correlation_id")) {
      String failed = Device.UpdateState.FAILED.wireName();
      s.setString(1, factory);
      s.setString(2, failed);
      for (int i = 0; i < rows.size(); i++) {
        s.setString(3 + i, rows.get(i).uuid());
      }
      s.setString(3 + rows.size(), failed);
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          Device.Failure failure =
              Device.failureOf(
                  r.getString(2),
                  r.getString(3),
                  DeviceProjection.DeviceEventsJson.read(r.getString(4)),
                  instant(r.getTimestamp(5)));
          if (failure != null) {
            failures.put(r.getString(1), failure);
          }
        }
      }
    }
    Map<String, Map<String, String>> labels = new java.util.HashMap<>();
    try (PreparedStatement s =
        connection.prepareStatement(
            "SELECT uuid, label_key, label_value FROM device_labels WHERE uuid IN ("
                + marks
                + ") ORDER BY uuid, label_key")) {
      for (int i = 0; i < rows.size(); i++) {
        s.setString(1 + i, rows.get(i).uuid());
      }
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          labels
              .computeIfAbsent(r.getString(1), u -> new TreeMap<>())
              .put(r.getString(2), r.getString(3));
        }
      }
    }
    return rows.stream()
        .map(row -> row.with(failures.get(row.uuid()), labels.get(row.uuid())))
        .toList();
  }

  public record SystemInfoRow(Device.SystemInfoKind kind, String content, Instant reportedAt) {}

  /**
   * The device's last inventory of each kind it reported (none for a device that is not the
   * factory's).
   */
  public CompletionStage<List<SystemInfoRow>> systemInfo(String factory, String uuid) {
    return database.query(
        blocking,
        connection -> {
          List<SystemInfoRow> rows = new ArrayList<>();
          try (PreparedStatement s =
              connection.prepareStatement(
                  "SELECT i.kind, i.content, i.reported_at FROM device_system_info i JOIN device_status d ON d.uuid = i.uuid"
                      + " WHERE d.factory = ? AND i.uuid = ? ORDER BY i.kind")) {
            s.setString(1, factory);
            s.setString(2, uuid);
            try (ResultSet r = s.executeQuery()) {
              while (r.next()) {
                rows.add(
                    new SystemInfoRow(
                        Device.SystemInfoKind.valueOf(r.getString(1)),
                        r.getString(2),
                        instant(r.getTimestamp(3))));
              }
            }
          }
          return rows;
        });
  }

  /** Newest first, without their events. */
  public CompletionStage<List<UpdateRow>> updates(String factory, String uuid) {
    return database.query(blocking, connection -> updates(connection, factory, uuid, null, false));
  }

  public CompletionStage<Optional<UpdateRow>> update(
      String factory, String uuid, String correlationId) {
    return database.query(
        blocking,
        connection -> updates(connection, factory, uuid, correlationId, true).stream().findFirst());
  }

  private static List<UpdateRow> updates(
      Connection connection, String factory, String uuid, String correlationId, boolean withEvents)
      throws SQLException {
    String sql =
        "SELECT correlation_id, target_name, version, state, failed_step, started_at, updated_at"
            + (withEvents ? ", events" : "")
            + " FROM device_updates WHERE factory = ? AND uuid = ?"
            + (correlationId == null ? "" : " AND correlation_id = ?")
            + " ORDER BY started_at DESC, correlation_id DESC";
    List<UpdateRow> updates = new ArrayList<>();
    try (PreparedStatement s = connection.prepareStatement(sql)) {
      s.setString(1, factory);
      s.setString(2, uuid);
      if (correlationId != null) {
        s.setString(3, correlationId);
      }
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          updates.add(
              new UpdateRow(
                  r.getString(1),
                  r.getString(2),
                  r.getString(3),
                  r.getString(4),
                  r.getString(5),
                  instant(r.getTimestamp(6)),
                  instant(r.getTimestamp(7)),
                  withEvents ? DeviceProjection.DeviceEventsJson.read(r.getString(8)) : null));
        }
      }
    }
    return updates;
  }

  /**
   * Counts over the factory's active devices, the API's summary of {@link #breakdown}. A device is
   * up to date when it runs the newest target (highest version) of its tag for its hardware id, as
   * read from {@code targets}.
   */
  public CompletionStage<FleetStatus> status(String factory, Instant onlineSince) {
    return breakdown(factory, onlineSince)
        .thenApply(
            b ->
                new FleetStatus(
                    b.total().devices(),
                    b.total().online(),
                    b.total().offline(),
                    b.total().upToDate(),
                    b.total().devices() - b.total().upToDate(),
                    b.total().updating(),
                    devices(b.byTag()),
                    devices(b.byTarget())));
  }

  private static Map<String, Long> devices(Map<String, StatusCounts> counts) {
    Map<String, Long> devices = new TreeMap<>();
    counts.forEach((key, c) -> devices.put(key, c.devices()));
    return devices;
  }

  /** A target name is {@code <hardwareId>-<version>}; the hardware id may itself contain dashes. */
  private static boolean isLatest(
      Map<String, Long> latestByTagAndHardware, String tag, String target) {
    int dash = target.lastIndexOf('-');
    if (dash <= 0) {
      return false;
    }
    Long latest = latestByTagAndHardware.get(tag + "\n" + target.substring(0, dash));
    return latest != null && target.substring(dash + 1).equals(Long.toString(latest));
  }

  /**
   * The dashboard's device table: filtered, sorted and paged by offset, with the number of matches.
   */
  public CompletionStage<DeviceSearchPage> search(
      String factory, DeviceSearch search, Instant onlineSince) {
    return database.query(
        blocking,
        connection -> {
          StringBuilder where =
              new StringBuilder(
                  " FROM device_status WHERE factory = ? AND decommissioned_at IS NULL");
          List<Object> args = new ArrayList<>(List.of(factory));
          if (search.text() != null) {
            where.append(" AND (LOWER(name) LIKE ? ESCAPE '!' OR uuid LIKE ? ESCAPE '!')");
            String literal = likeLiteral(search.text());
            args.add("%" + literal.toLowerCase(java.util.Locale.ROOT) + "%");
            args.add(literal + "%");
          }
          equal(where, args, "tag", search.tag());
          equal(where, args, "target_name", search.target());
          equal(where, args, "device_group", search.group());
          labelled(where, args, search.labelKey(), search.labelValue());
          if (search.status() != null) {
            switch (search.status()) {
              case ONLINE -> {
                where.append(" AND last_seen >= ?");
                args.add(timestamp(onlineSince));
              }
              case OFFLINE -> {
                where.append(" AND (last_seen IS NULL OR last_seen < ?)");
                args.add(timestamp(onlineSince));
              }
              case UPDATING -> {
                where.append(" AND update_state = ?");
                args.add(Device.UpdateState.IN_PROGRESS.wireName());
              }
              case FAILED -> {
                where.append(" AND update_state = ?");
                args.add(Device.UpdateState.FAILED.wireName());
              }
            }
          }
          if (search.seenSince() != null) {
            where.append(" AND last_seen >= ?");
            args.add(timestamp(search.seenSince()));
          }
          if (search.notSeenSince() != null) {
            where.append(" AND (last_seen IS NULL OR last_seen < ?)");
            args.add(timestamp(search.notSeenSince()));
          }
          long total;
          try (PreparedStatement s = connection.prepareStatement("SELECT COUNT(*)" + where)) {
            bind(s, args);
            try (ResultSet r = s.executeQuery()) {
              r.next();
              total = r.getLong(1);
            }
          }
          String direction = search.descending() ? " DESC" : " ASC";
          String sql =
              "SELECT "
                  + DEVICE_COLUMNS
                  + where
                  + " ORDER BY "
                  + search.sort().column
                  + direction
                  + " NULLS LAST, uuid"
                  + direction
                  + " LIMIT ? OFFSET ?";
          List<Object> pageArgs = new ArrayList<>(args);
          pageArgs.add(search.limit());
          pageArgs.add(search.offset());
          List<DeviceRow> rows = new ArrayList<>();
          try (PreparedStatement s = connection.prepareStatement(sql)) {
            bind(s, pageArgs);
            try (ResultSet r = s.executeQuery()) {
              while (r.next()) {
                rows.add(device(r));
              }
            }
          }
          return new DeviceSearchPage(withLastFailures(connection, factory, rows), total);
        });
  }

  /** {@code text} as a LIKE pattern that matches it literally ({@code !} escapes). */
  private static String likeLiteral(String text) {
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_");
  }

  private static void bind(PreparedStatement s, List<Object> args) throws SQLException {
    for (int i = 0; i < args.size(); i++) {
      s.setObject(i + 1, args.get(i));
    }
  }

  /**
   * The fleet page's counts over the factory's active devices, in total, per tag and per target; up
   * to date when a device runs the newest target (highest version) of its tag for its hardware id,
   * failed when its newest update failed.
   */
  public CompletionStage<FleetBreakdown> breakdown(String factory, Instant onlineSince) {
    return database.query(
        blocking,
        connection -> {
          Map<String, Long> latest = latestByTagAndHardware(connection, factory);
          StatusCounts total = StatusCounts.NONE;
          Map<String, StatusCounts> byTag = new TreeMap<>();
          Map<String, StatusCounts> byTarget = new TreeMap<>();
          try (PreparedStatement s =
              connection.prepareStatement(
                  "SELECT tag, target_name, last_seen, update_state FROM device_status WHERE factory = ? AND decommissioned_at IS NULL")) {
            s.setString(1, factory);
            try (ResultSet r = s.executeQuery()) {
              while (r.next()) {
                String tag = r.getString(1);
                String target = r.getString(2);
                Instant lastSeen = instant(r.getTimestamp(3));
                String state = r.getString(4);
                boolean online = lastSeen != null && !lastSeen.isBefore(onlineSince);
                boolean upToDate = tag != null && target != null && isLatest(latest, tag, target);
                boolean updating = Device.UpdateState.IN_PROGRESS.wireName().equals(state);
                boolean failed = Device.UpdateState.FAILED.wireName().equals(state);
                total = total.plus(online, upToDate, updating, failed);
                byTag.merge(
                    tag == null ? "" : tag,
                    StatusCounts.NONE.plus(online, upToDate, updating, failed),
                    DeviceQueries::sum);
                byTarget.merge(
                    target == null ? "" : target,
                    StatusCounts.NONE.plus(online, upToDate, updating, failed),
                    DeviceQueries::sum);
              }
            }
          }
          return new FleetBreakdown(total, byTag, byTarget);
        });
  }

  private static StatusCounts sum(StatusCounts a, StatusCounts b) {
    return new StatusCounts(
        a.devices() + b.devices(),
        a.online() + b.online(),
        a.offline() + b.offline(),
        a.upToDate() + b.upToDate(),
        a.updating() + b.updating(),
        a.failed() + b.failed());
  }

  private static Map<String, Long> latestByTagAndHardware(Connection connection, String factory)
      throws SQLException {
    Map<String, Long> latestByTagAndHardware = new TreeMap<>();
    try (PreparedStatement s =
        connection.prepareStatement(
            "SELECT name, hardware_id, version, tags FROM targets WHERE factory = ?")) {
      s.setString(1, factory);
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          for (String tag : r.getString(4).split(",")) {
            latestByTagAndHardware.merge(tag + "\n" + r.getString(2), r.getLong(3), Math::max);
          }
        }
      }
    }
    return latestByTagAndHardware;
  }

  /** Every decommissioned device, for the in-memory revocation set of each node. */
  public CompletionStage<List<Device.Revoked>> decommissioned() {
    return database.query(
        blocking,
        connection -> {
          List<Device.Revoked> revoked = new ArrayList<>();
          try (PreparedStatement s =
                  connection.prepareStatement(
                      "SELECT factory, uuid FROM device_status WHERE decommissioned_at IS NOT NULL");
              ResultSet r = s.executeQuery()) {
            while (r.next()) {
              revoked.add(new Device.Revoked(r.getString(1), r.getString(2)));
            }
          }
          return revoked;
        });
  }

  private static DeviceRow device(ResultSet r) throws SQLException {
    String apps = r.getString(9);
    return new DeviceRow(
        r.getString(1),
        r.getString(2),
        r.getString(3),
        r.getString(4),
        r.getString(5),
        r.getString(6),
        r.getBoolean(7),
        r.getString(8),
        apps == null || apps.isEmpty() ? List.of() : Arrays.asList(apps.split(",")),
        instant(r.getTimestamp(10)),
        r.getString(11),
        r.getString(12),
        instant(r.getTimestamp(13)),
        instant(r.getTimestamp(14)),
        null,
        Map.of());
  }

  /** Appends {@code AND column = ?} when {@code value} is given: a filter left out matches all. */
  private static void equal(StringBuilder sql, List<Object> args, String column, Object value) {
    if (value != null) {
      sql.append(" AND ").append(column).append(" = ?");
      args.add(value);
    }
  }

  private static void labelled(StringBuilder sql, List<Object> args, String key, String value) {
    if (key != null) {
      sql.append(
          " AND EXISTS (SELECT 1 FROM device_labels l WHERE l.uuid = device_status.uuid"
              + " AND l.label_key = ? AND l.label_value = ?)");
      args.add(key);
      args.add(value);
    }
  }
}
