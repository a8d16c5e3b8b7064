package io.flotilla.gateway.device;

import static org.apache.pekko.http.javadsl.server.Directives.*;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.flotilla.core.FlotillaCore;
import io.flotilla.core.Limits;
import io.flotilla.core.ReadYourWrites.Projected;
import io.flotilla.core.auth.Scope;
import io.flotilla.core.device.Device;
import io.flotilla.core.device.Device.ConfigFile;
import io.flotilla.core.device.DeviceProjection;
import io.flotilla.core.device.DeviceQueries;
import io.flotilla.core.device.FleetConfig;
import io.flotilla.gateway.http.Authentication;
import io.flotilla.gateway.http.Errors;
import io.flotilla.gateway.http.JsonSupport;
import io.flotilla.gateway.http.Replies;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.apache.pekko.Done;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The operator's view of a factory's devices under {@code /api/v1/factories/{f}/}: lists and
 * details from the read side ({@code device_status}, {@code device_updates}), changes through the
 * Device and FleetConfig entities.
 */
final class DeviceAdminRoutes {

  static final int DEFAULT_LIMIT = 100;
  static final int MAX_LIMIT = 1000;

  record DeviceView(
      String uuid,
      String name,
      String tag,
      String group,
      String hardwareId,
      boolean production,
      String targetName,
      List<String> apps,
      Instant lastSeen,
      boolean online,
      String updateCorrelationId,
      String updateState,
      Instant createdAt,
      Instant decommissionedAt,
      String requestedTag,
      Device.Failure lastFailure,
      Map<String, String> labels) {

    static DeviceView of(DeviceQueries.DeviceRow r, Instant onlineSince) {
      boolean online = r.lastSeen() != null && !r.lastSeen().isBefore(onlineSince);
      return new DeviceView(
          r.uuid(),
          r.name(),
          r.tag(),
          r.group(),
          r.hardwareId(),
          r.production(),
          r.targetName(),
          r.apps(),
          r.lastSeen(),
          online,
          r.updateCorrelationId(),
          r.updateState(),
          r.createdAt(),
          r.decommissionedAt(),
          null,
          r.lastFailure(),
          r.labels());
    }

    /**
     * The entity's own state, so an answer to a change shows that change. {@code tag} stays what
     * the device reports; {@code requestedTag} is the operator's tag that the device has not
     * reported yet.
     */
    static DeviceView of(Device.Summary s, Instant onlineSince) {
      boolean online = s.lastSeen() != null && !s.lastSeen().isBefore(onlineSince);
      String requested = operatorTag(s.config()).filter(tag -> !tag.equals(s.tag())).orElse(null);
      return new DeviceView(
          s.uuid(),
          s.name(),
          s.tag(),
          s.group(),
          s.hardwareId(),
          s.production(),
          s.targetName(),
          s.apps(),
          s.lastSeen(),
          online,
          s.currentUpdate(),
          s.currentUpdateState() == null ? null : s.currentUpdateState().wireName(),
          s.createdAt(),
          s.decommissionedAt(),
          requested,
          s.lastFailure(),
          s.labels());
    }
  }

  private static final Pattern FIOCTL_TAG = Pattern.compile("(?m)^\\s*tags\\s*=\\s*\"([^\"]*)\"");

  private static Optional<String> operatorTag(List<ConfigFile> config) {
    return config.stream()
        .filter(f -> f.name().equals(io.flotilla.protocol.device.ConfigFile.FIOCTL_TOML))
        .findFirst()
        .map(f -> FIOCTL_TAG.matcher(f.value()))
        .filter(java.util.regex.Matcher::find)
        .map(m -> m.group(1));
  }

  record DeviceList(List<DeviceView> devices, String nextCursor) {}

  record UpdateView(
      String correlationId,
      String targetName,
      String version,
      String state,
      String failedStep,
      Instant startedAt,
      Instant updatedAt,
      JsonNode events) {}

  record UpdateList(List<UpdateView> updates) {}

  /** {@code labels}, when given, replaces all of the device's labels ({} removes them). */
  record DeviceChange(String name, String group, String tag, Map<String, String> labels) {}

  record ConfigFileBody(
      String name,
      String value,
      Boolean unencrypted,
      @JsonProperty("on-changed") List<String> onChanged) {}

  record ConfigBody(String reason, List<ConfigFileBody> files) {}

  record ConfigView(List<ConfigFile> files) {}

  private final FlotillaCore core;
  private final Authentication auth;

  DeviceAdminRoutes(FlotillaCore core, Authentication auth) {
    this.core = core;
    this.auth = auth;
  }

  Route route(String factory) {
    return concat(
        pathPrefix(
            "devices",
            () ->
                concat(
                    pathEndOrSingleSlash(
                        () ->
                            get(
                                () ->
                                    auth.authorized(
                                        factory, Scope.DEVICES_READ, () -> list(factory)))),
                    pathPrefix(segment(), uuid -> device(factory, uuid)))),
        path(
            segment("device-groups").slash(segment()).slash("config"),
            group ->
                put(
                    () ->
                        auth.authorized(
                            factory, Scope.DEVICES_WRITE, () -> setFleetConfig(factory, group)))),
        path(
            "config",
            () ->
                put(
                    () ->
                        auth.authorized(
                            factory, Scope.DEVICES_WRITE, () -> setFleetConfig(factory, null)))),
        path(
            "status",
            () ->
                get(
                    () ->
                        auth.authorized(
                            factory,
                            Scope.DEVICES_READ,
                            () ->
                                Replies.json(
                                    core.deviceQueries().status(factory, onlineSince()))))));
  }

  private Route device(String factory, String uuid) {
    return concat(
        pathEndOrSingleSlash(
            () ->
                concat(
                    get(
                        () ->
                            auth.authorized(
                                factory,
                                Scope.DEVICES_READ,
                                () ->
                                    parameterOptional(
                                        "at",
                                        at ->
                                            at.isPresent()
                                                ? detailAt(factory, uuid, at.get())
                                                : detail(factory, uuid)))),
                    patch(
                        () ->
                            auth.authorized(
                                factory, Scope.DEVICES_WRITE, () -> change(factory, uuid))),
                    delete(
                        () ->
                            auth.authorized(
                                factory,
                                Scope.DEVICES_WRITE,
                                () ->
                                    Replies.whenDone(
                                        core.device(uuid)
                                            .<Done>askWithStatus(
                                                r ->
                                                    new Device.Decommission(
                                                        factory, Instant.now(), r),
                                                core.askTimeout()),
                                        done -> complete(StatusCodes.NO_CONTENT)))))),
        pathPrefix(
            "updates",
            () ->
                get(
                    () ->
                        auth.authorized(
                            factory,
                            Scope.DEVICES_READ,
                            () ->
                                concat(
                                    pathEndOrSingleSlash(() -> updates(factory, uuid)),
                                    path(
                                        segment(),
                                        correlationId -> update(factory, uuid, correlationId)))))),
        path(
            "system-info",
            () ->
                get(
                    () ->
                        auth.authorized(
                            factory, Scope.DEVICES_READ, () -> systemInfo(factory, uuid)))),
        path(
            "config",
            () ->
                concat(
                    get(
                        () ->
                            auth.authorized(
                                factory,
                                Scope.DEVICES_READ,
                                () ->
                                    Replies.json(
                                        core.device(uuid)
                                            .<Device.Summary>askWithStatus(
                                                r -> new Device.Get(factory, r), core.askTimeout())
                                            .thenApply(s -> new ConfigView(s.config()))))),
                    put(
                        () ->
                            auth.authorized(
                                factory,
                                Scope.DEVICES_WRITE,
                                () -> setDeviceConfig(factory, uuid))))));
  }

  private Instant onlineSince() {
    return Instant.now().minus(core.deviceSettings().onlineWindow());
  }

  private Route list(String factory) {
    return parameterMap(
        params -> {
          Optional<Boolean> online;
          Optional<Boolean> updating;
          int limit;
          try {
            online = bool(params, "online");
            updating = bool(params, "updating");
            limit =
                params.containsKey("limit") ? Integer.parseInt(params.get("limit")) : DEFAULT_LIMIT;
          } catch (IllegalArgumentException e) {
            return Errors.badRequest(e.getMessage());
          }
          if (limit < 1 || limit > MAX_LIMIT) {
            return Errors.badRequest("limit must be between 1 and " + MAX_LIMIT);
          }
          String problem = filterProblem(params);
          if (problem != null) {
            return Errors.badRequest(problem);
          }
          String label = params.get("label");
          int equals = label == null ? -1 : label.indexOf('=');
          var filter =
              new DeviceQueries.DeviceFilter(
                  params.get("tag"),
                  params.get("target"),
                  params.get("group"),
                  online.orElse(null),
                  updating.orElse(null),
                  false,
                  label == null ? null : label.substring(0, equals),
                  label == null ? null : label.substring(equals + 1));
          Instant since = onlineSince();
          return Replies.json(
              core.deviceQueries()
                  .devices(factory, filter, since, limit, params.get("cursor"))
                  .thenApply(
                      page ->
                          new DeviceList(
                              page.devices().stream().map(r -> DeviceView.of(r, since)).toList(),
                              page.nextCursor())));
        });
  }

  /**
   * The filters reach SQL as parameters: held to what a stored value can be (PostgreSQL refuses NUL
   * outright).
   */
  private static String filterProblem(Map<String, String> params) {
    String cursor = params.get("cursor");
    if (cursor != null && !Limits.DEVICE_UUID.matcher(cursor).matches()) {
      return "cursor must be a device uuid (" + Limits.DEVICE_UUID.pattern() + ")";
    }
    String tag = params.get("tag");
    if (tag != null && !Limits.DEVICE_TAG.matcher(tag).matches()) {
      return "tag must match " + Limits.DEVICE_TAG.pattern();
    }
    String group = params.get("group");
    if (group != null && !Limits.GROUP.matcher(group).matches()) {
      return "group must match " + Limits.GROUP.pattern();
    }
    String label = params.get("label");
    if (label != null) {
      int equals = label.indexOf('=');
      if (equals < 0
          || Limits.labelsProblem(Map.of(label.substring(0, equals), label.substring(equals + 1)))
              != null) {
        return "label must be key=value, the key matching "
            + Limits.LABEL_KEY.pattern()
            + " and the value "
            + Limits.LABEL_VALUE.pattern();
      }
    }
    String target = params.get("target");
    if (target != null && (target.length() > Limits.TARGET_NAME || !Limits.plain(target))) {
      return "target must be at most "
          + Limits.TARGET_NAME
          + " characters without control characters";
    }
    return null;
  }

  private static Optional<Boolean> bool(Map<String, String> params, String name) {
    String value = params.get(name);
    if (value == null) {
      return Optional.empty();
    }
    return switch (value) {
      case "true" -> Optional.of(true);
      case "false" -> Optional.of(false);
      default -> throw new IllegalArgumentException(name + " must be true or false");
    };
  }

  private Route detail(String factory, String uuid) {
    Instant since = onlineSince();
    return Replies.whenDone(
        core.deviceQueries().device(factory, uuid),
        row ->
            row.<Route>map(
                    r ->
                        complete(StatusCodes.OK, DeviceView.of(r, since), JsonSupport.marshaller()))
                .orElseGet(() -> Errors.notFound("factory " + factory + " has no device " + uuid)));
  }

  private static final Pattern HISTORY_UUID = Pattern.compile("[A-Za-z0-9._-]{1,128}");

  /**
   * The device as it was at {@code at} (ISO-8601), replayed from its journal: its newest snapshot
   * taken by then and the events written after it up to then ({@code FleetHistory.device}). {@code
   * online} is as of that moment.
   */
  private Route detailAt(String factory, String uuid, String at) {
    Instant moment;
    try {
      moment = Instant.parse(at);
    } catch (java.time.format.DateTimeParseException e) {
      return Errors.badRequest("at must be an ISO-8601 instant such as 2026-01-31T12:00:00Z");
    }
    if (!HISTORY_UUID.matcher(uuid).matches()) {
      return Errors.notFound("factory " + factory + " has no device " + uuid);
    }
    Instant since = moment.minus(core.deviceSettings().onlineWindow());
    if (moment.isBefore(Instant.EPOCH) || moment.isAfter(FleetHistoryRoutes.LATEST)) {
      return Errors.badRequest(
          "at must be between 1970-01-01T00:00:00Z and " + FleetHistoryRoutes.LATEST);
    }
    return Replies.whenDone(
        core.fleetHistory().device(uuid, moment),
        replayed ->
            replayed
                .filter(summary -> factory.equals(summary.factory()))
                .<Route>map(
                    summary ->
                        complete(
                            StatusCodes.OK,
                            DeviceView.of(summary, since),
                            JsonSupport.marshaller()))
                .orElseGet(
                    () ->
                        Errors.notFound(
                            "factory " + factory + " had no device " + uuid + " at " + moment)));
  }

  /**
   * The device's last reported inventory: hardware and network as the JSON it sent, config as its
   * TOML text, each null until reported, with when it was reported.
   */
  private Route systemInfo(String factory, String uuid) {
    return Replies.whenDone(
        core.deviceQueries().device(factory, uuid),
        device -> {
          if (device.isEmpty()) {
            return Errors.notFound("no device " + uuid + " in factory " + factory);
          }
          return Replies.json(
              core.deviceQueries()
                  .systemInfo(factory, uuid)
                  .thenApply(
                      rows -> {
                        ObjectNode view = JsonSupport.MAPPER.createObjectNode();
                        ObjectNode reportedAt = JsonSupport.MAPPER.createObjectNode();
                        for (Device.SystemInfoKind kind : Device.SystemInfoKind.values()) {
                          view.putNull(kind.name().toLowerCase(Locale.ROOT));
                        }
                        for (DeviceQueries.SystemInfoRow row : rows) {
                          view.set(
                              row.kind().name().toLowerCase(Locale.ROOT), systemInfoContent(row));
                          reportedAt.put(
                              row.kind().name().toLowerCase(Locale.ROOT),
                              row.reportedAt().toString());
                        }
                        view.set("reportedAt", reportedAt);
                        return view;
                      }));
        });
  }

  private static JsonNode systemInfoContent(DeviceQueries.SystemInfoRow row) {
    if (row.kind() == Device.SystemInfoKind.CONFIG) {
      return TextNode.valueOf(row.content());
    }
    try {
      return JsonSupport.MAPPER.readTree(row.content());
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("the gateway stores only valid JSON as " + row.kind(), e);
    }
  }

  /** A device of another factory is 404 here, as on every other device route, not an empty list. */
  private Route updates(String factory, String uuid) {
    return ofKnownDevice(
        factory,
        uuid,
        () ->
            Replies.json(
                core.deviceQueries()
                    .updates(factory, uuid)
                    .thenApply(
                        rows -> new UpdateList(rows.stream().map(r -> view(r, null)).toList()))));
  }

  private Route update(String factory, String uuid, String correlationId) {
    return ofKnownDevice(
        factory,
        uuid,
        () ->
            Replies.whenDone(
                core.deviceQueries().update(factory, uuid, correlationId),
                row ->
                    row.<Route>map(
                            r ->
                                complete(
                                    StatusCodes.OK,
                                    view(r, events(r.events())),
                                    JsonSupport.marshaller()))
                        .orElseGet(
                            () ->
                                Errors.notFound(
                                    "device " + uuid + " has no update " + correlationId))));
  }

  private Route ofKnownDevice(String factory, String uuid, Supplier<Route> inner) {
    return Replies.whenDone(
        core.deviceQueries().device(factory, uuid),
        device ->
            device.isPresent()
                ? inner.get()
                : Errors.notFound("factory " + factory + " has no device " + uuid));
  }

  private static UpdateView view(DeviceQueries.UpdateRow r, JsonNode events) {
    return new UpdateView(
        r.correlationId(),
        r.targetName(),
        r.version(),
        r.state(),
        r.failedStep(),
        r.startedAt(),
        r.updatedAt(),
        events);
  }

  private static JsonNode events(List<Device.UpdateEvent> events) {
    try {
      return JsonSupport.MAPPER.readTree(DeviceProjection.DeviceEventsJson.write(events));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("stored update events are valid JSON", e);
    }
  }

  /**
   * Name, group, labels and tag in one command, so that a PATCH is stored whole or not at all; a
   * tag is pushed as the fioconfig file {@code z-50-fioctl.toml}, as fioctl does.
   */
  private Route change(String factory, String uuid) {
    return entity(
        JsonSupport.unmarshaller(DeviceChange.class),
        change -> {
          if (change.tag() != null && !Device.TAG.matcher(change.tag()).matches()) {
            return Errors.badRequest("tag must match " + Device.TAG.pattern());
          }
          String labelsProblem =
              change.labels() == null ? null : Limits.labelsProblem(change.labels());
          if (labelsProblem != null) {
            return Errors.badRequest(labelsProblem);
          }
          Device.FileChange tagFile =
              change.tag() == null
                  ? null
                  : new Device.FileChange(
                      new ConfigFile(
                          io.flotilla.protocol.device.ConfigFile.FIOCTL_TOML,
                          "[pacman]\n  tags = " + SotaToml.quoted(change.tag()) + "\n",
                          true,
                          List.of()),
                      "tag set to " + change.tag());
          var changed =
              core.device(uuid)
                  .<Device.Summary>askWithStatus(
                      r ->
                          new Device.Change(
                              factory,
                              change.name(),
                              change.group(),
                              change.labels(),
                              tagFile,
                              Instant.now(),
                              r),
                      core.askTimeout());
          return Replies.json(
              changed.thenCompose(
                  summary ->
                      core.readYourWrites()
                          .projected(
                              DeviceView.of(summary, onlineSince()),
                              List.of(Projected.device(uuid, core.deviceSettings().slices())))));
        });
  }

  private Route setDeviceConfig(String factory, String uuid) {
    return configBody(
        (reason, files) ->
            Replies.json(
                core.device(uuid)
                    .<Device.Summary>askWithStatus(
                        r -> new Device.ReplaceConfig(factory, files, reason, Instant.now(), r),
                        core.askTimeout())
                    .thenApply(s -> new ConfigView(s.config()))));
  }

  private Route setFleetConfig(String factory, String group) {
    return configBody(
        (reason, files) ->
            Replies.json(
                core.fleetConfig(factory)
                    .<FleetConfig.Layers>askWithStatus(
                        r -> new FleetConfig.SetFiles(group, files, reason, Instant.now(), r),
                        core.askTimeout())
                    .thenApply(
                        layers ->
                            new ConfigView(
                                group == null ? layers.factoryFiles() : layers.groupFiles()))));
  }

  private interface ConfigHandler {
    Route apply(String reason, List<ConfigFile> files);
  }

  private static Route configBody(ConfigHandler handler) {
    return entity(
        JsonSupport.unmarshaller(ConfigBody.class),
        body -> {
          if (body.files() == null) {
            return Errors.badRequest("files are required");
          }
          List<ConfigFile> files = new ArrayList<>();
          for (ConfigFileBody f : body.files()) {
            if (f == null) {
              return Errors.badRequest("files must not contain null");
            }
            files.add(
                new ConfigFile(
                    f.name(),
                    f.value(),
                    f.unencrypted() == null || f.unencrypted(),
                    f.onChanged() == null ? List.of() : f.onChanged()));
          }
          return handler.apply(body.reason(), files);
        });
  }
}
