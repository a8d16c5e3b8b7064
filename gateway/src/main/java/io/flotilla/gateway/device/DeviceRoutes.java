package io.flotilla.gateway.device;

import static org.apache.pekko.http.javadsl.server.Directives.*;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.core.FlotillaCore;
import io.flotilla.core.Limits;
import io.flotilla.core.device.Device;
import io.flotilla.core.device.Device.ConfigFile;
import io.flotilla.core.device.Device.Contact;
import io.flotilla.core.device.FleetConfig;
import io.flotilla.core.pki.DeviceIdentity;
import io.flotilla.gateway.http.BodyLimit;
import io.flotilla.gateway.http.Errors;
import io.flotilla.gateway.http.JsonSupport;
import io.flotilla.gateway.http.Replies;
import io.flotilla.gateway.tls.DeviceIdentityDirectives;
import io.flotilla.protocol.device.ConfigPatch;
import io.flotilla.protocol.device.DeviceHeaders;
import io.flotilla.protocol.device.DeviceRecord;
import io.flotilla.protocol.device.HubCredentials;
import io.flotilla.protocol.device.Rfc3339;
import io.micrometer.core.instrument.Counter;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;

/**
 * The device port (docs/device-protocol.md §3–6, 8). Every request is identified by its client
 * certificate and is a check-in: its {@code x-ats-*} headers go to the Device entity with whatever
 * the request reports, in one command, so a request costs one ask and an idle one no write.
 */
public final class DeviceRoutes {

  private final Counter eventsStored;

  private final FlotillaCore core;
  private final DeviceIdentityDirectives identity;
  private final TufRepository repository;
  private final DeviceHubCredentials hubCredentials;
  private final DevicePush push;
  private final AppsProxy appsProxy;
  private final Function<HttpRequest, String> gatewayUrl;
  private final long maxBody;

  DeviceRoutes(
      FlotillaCore core,
      DeviceIdentityDirectives identity,
      TufRepository repository,
      DeviceHubCredentials hubCredentials,
      DevicePush push,
      AppsProxy appsProxy,
      Function<HttpRequest, String> gatewayUrl,
      long maxBody,
      Counter eventsStored) {
    this.core = core;
    this.eventsStored = eventsStored;
    this.identity = identity;
    this.repository = repository;
    this.hubCredentials = hubCredentials;
    this.push = push;
    this.appsProxy = appsProxy;
    this.gatewayUrl = gatewayUrl;
    this.maxBody = maxBody;
  }

  public Route route() {
    return handleExceptions(
        Errors.exceptionHandler(),
        () ->
            handleRejections(
                Errors.rejectionHandler(),
                () ->
                    BodyLimit.of(
                        maxBody,
                        () ->
                            identity.deviceIdentity(
                                device ->
                                    extractRequest(request -> withContact(device, request))))));
  }

  private Route withContact(DeviceIdentity device, HttpRequest request) {
    Contact contact;
    try {
      contact = contact(device, request);
    } catch (IllegalArgumentException e) {
      return Errors.badRequest(e.getMessage());
    }
    return concat(
        pathPrefix("repo", () -> get(() -> repo(device, contact))),
        path("events", () -> post(() -> events(device, contact))),
        path("apps-states", () -> post(() -> appsStates(device, contact))),
        pathPrefix(
            "system_info",
            () ->
                put(
                    () ->
                        concat(
                            pathEnd(
                                () -> systemInfo(device, contact, Device.SystemInfoKind.HARDWARE)),
                            path(
                                "network",
                                () -> systemInfo(device, contact, Device.SystemInfoKind.NETWORK)),
                            path(
                                "config",
                                () -> systemInfo(device, contact, Device.SystemInfoKind.CONFIG))))),
        path(
            "device",
            () ->
                get(
                    () ->
                        checkIn(
                            device,
                            contact,
                            summary -> Replies.json(deviceRecord(core, summary))))),
        path(
            "config",
            () ->
                concat(
                    get(() -> config(device, contact)), patch(() -> patchConfig(device, contact)))),
        pathPrefix(
            "hub-creds", () -> pathEndOrSingleSlash(() -> get(() -> hubCreds(device, contact)))),
        path(AppsProxy.URL_PATH, () -> post(() -> appsProxyUrl(device, contact, request))),
        path("ws", () -> get(() -> checkIn(device, contact, summary -> push.route(summary)))));
  }

  /** Identity from the certificate; headers that are absent stay null, meaning "unchanged". */
  static Contact contact(DeviceIdentity device, HttpRequest request) {
    String tag = header(request, DeviceHeaders.TAGS).map(DeviceRoutes::firstTag).orElse(null);
    String target =
        header(request, DeviceHeaders.TARGET)
            .map(String::strip)
            .filter(v -> !v.isEmpty())
            .orElse(null);
    if (target != null && (target.length() > Limits.TARGET_NAME || !Limits.plain(target))) {
      throw new IllegalArgumentException(
          DeviceHeaders.TARGET
              + " must be at most "
              + Limits.TARGET_NAME
              + " characters without control characters");
    }
    List<String> apps =
        header(request, DeviceHeaders.DOCKER_APPS).map(DeviceRoutes::apps).orElse(null);
    return new Contact(
        device.factory(),
        device.production(),
        device.serial().toString(16),
        device.publicKeyPem(),
        tag,
        target,
        apps,
        Instant.now());
  }

  /**
   * The first item of the comma-separated header; null for a blank header; a header such as ",,,"
   * has no tag and is refused.
   */
  private static String firstTag(String header) {
    if (header.isBlank()) {
      return null;
    }
    String tag = header.split(",", -1)[0].strip();
    if (!Device.TAG.matcher(tag).matches()) {
      throw new IllegalArgumentException(
          DeviceHeaders.TAGS + " must start with a tag matching " + Device.TAG.pattern());
    }
    return tag;
  }

  /** A loop, not a stream: this runs on every device request. */
  private static List<String> apps(String header) {
    List<String> apps = new ArrayList<>();
    for (String item : header.split(",")) {
      String app = item.strip();
      if (app.isEmpty()) {
        continue;
      }
      if (apps.size() == Device.MAX_APPS) {
        throw new IllegalArgumentException(
            DeviceHeaders.DOCKER_APPS + " lists more than " + Device.MAX_APPS + " apps");
      }
      if (!Device.APP.matcher(app).matches()) {
        throw new IllegalArgumentException(
            DeviceHeaders.DOCKER_APPS + " app names must match " + Device.APP.pattern());
      }
      apps.add(app);
    }
    return List.copyOf(apps);
  }

  private static Optional<String> header(HttpRequest request, String name) {
    return request.getHeader(name).map(h -> h.value());
  }

  /** The entity's summary with the registered public key, which only the journal keeps. */
  static CompletionStage<DeviceRecord> deviceRecord(FlotillaCore core, Device.Summary s) {
    return core.deviceKeys()
        .registeredPublicKey(s.uuid())
        .thenApply(
            pubkey ->
                new DeviceRecord(
                    s.uuid(),
                    s.name(),
                    s.factory(),
                    s.tag(),
                    s.group(),
                    s.production(),
                    s.targetName(),
                    s.apps(),
                    s.lastSeen(),
                    s.createdAt(),
                    pubkey.orElse(null)));
  }

  private Route checkIn(
      DeviceIdentity device, Contact contact, Function<Device.Summary, Route> inner) {
    return ask(device, replyTo -> new Device.CheckIn(contact, replyTo), inner);
  }

  private Route ask(
      DeviceIdentity device,
      Function<
              org.apache.pekko.actor.typed.ActorRef<
                  org.apache.pekko.pattern.StatusReply<Device.Summary>>,
              Device.Command>
          command,
      Function<Device.Summary, Route> inner) {
    return Replies.whenDone(
        core.device(device.uuid()).askWithStatus(command::apply, core.askTimeout()), inner);
  }

  private Route repo(DeviceIdentity device, Contact contact) {
    return concat(
        path(
            "targets.json",
            () -> tufDocument(device, contact, true, TufRepository.Documents::targets)),
        path(
            "snapshot.json",
            () -> tufDocument(device, contact, false, TufRepository.Documents::snapshot)),
        path(
            "timestamp.json",
            () -> tufDocument(device, contact, false, TufRepository.Documents::timestamp)),
        path(
            PathMatchers.segment(java.util.regex.Pattern.compile("([0-9]{1,9})\\.root\\.json")),
            version ->
                checkInAnd(
                    device,
                    contact,
                    () ->
                        Replies.whenDone(
                            repository.root(contact.factory(), Integer.parseInt(version)),
                            root ->
                                root.map(DeviceRoutes::document)
                                    .orElseGet(
                                        () ->
                                            Errors.notFound(
                                                "no root metadata version " + version))))),
        path(
            "root.json",
            () ->
                checkInAnd(
                    device,
                    contact,
                    () ->
                        Replies.whenDone(
                            repository.latestRoot(contact.factory()), DeviceRoutes::document))));
  }

  /**
   * targets.json needs the tag (404 without, as Foundries' gateway); snapshot and timestamp use it
   * when given.
   */
  private Route tufDocument(
      DeviceIdentity device,
      Contact contact,
      boolean tagRequired,
      Function<TufRepository.Documents, TufRepository.Document> pick) {
    if (contact.tag() == null && tagRequired) {
      return checkInAnd(
          device,
          contact,
          () -> Errors.notFound("targets.json needs the " + DeviceHeaders.TAGS + " header"));
    }
    return checkIn(
        device,
        contact,
        summary -> {
          String tag = contact.tag() == null ? "" : contact.tag();
          return Replies.whenDone(
              core.rolloutGates()
                  .loaded()
                  .thenCompose(
                      loaded -> {
                        var gates = core.rolloutGates().forTag(contact.factory(), tag);
                        return repository.documents(
                            contact.factory(),
                            tag,
                            gates.hiddenVersions(summary.uuid(), summary.group(), summary.labels()),
                            gates.revision());
                      }),
              documents -> document(pick.apply(documents)));
        });
  }

  private Route checkInAnd(
      DeviceIdentity device, Contact contact, java.util.function.Supplier<Route> inner) {
    return checkIn(device, contact, summary -> inner.get());
  }

  private static Route document(TufRepository.Document document) {
    return complete(
        HttpResponse.create()
            .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, document.body()))
            .addHeader(RawHeader.create(DeviceHeaders.ROLE_CHECKSUM, document.sha256())));
  }

  private Route events(DeviceIdentity device, Contact contact) {
    return json(
        body -> {
          if (!body.isArray()) {
            return Errors.badRequest("the body must be a JSON array of events");
          }
          List<Device.UpdateEvent> events = new ArrayList<>();
          for (JsonNode node : body) {
            updateEvent(node).ifPresent(events::add);
          }
          return ask(
              device,
              replyTo -> new Device.ReportUpdateEvents(contact, events, replyTo),
              summary -> {
                eventsStored.increment(events.size());
                return complete(StatusCodes.OK);
              });
        });
  }

  /**
   * Empty for an event the protocol says to drop: no id, or a correlation id outside letters,
   * digits, _ and -.
   */
  static Optional<Device.UpdateEvent> updateEvent(JsonNode node) {
    String id = node.path("id").asText("");
    JsonNode event = node.path("event");
    String correlationId = event.path("correlationId").asText("");
    String type = node.path("eventType").path("id").asText("");
    if (id.isEmpty()
        || id.length() > 128
        || type.isEmpty()
        || type.length() > 64
        || !Device.CORRELATION_ID.matcher(correlationId).matches()) {
      return Optional.empty();
    }
    JsonNode success = event.path("success");
    JsonNode detailsNode = event.path("details");
    String details =
        detailsNode.isMissingNode() || detailsNode.isNull()
            ? null
            : detailsNode.isTextual() ? detailsNode.asText() : detailsNode.toString();
    if (details != null && details.length() > Device.MAX_DETAILS) {
      details = details.substring(0, Device.MAX_DETAILS);
    }
    Device.UpdateEvent parsed =
        new Device.UpdateEvent(
            id,
            limited(node.path("deviceTime").asText(null), 64),
            type,
            node.path("eventType").path("version").asInt(0),
            correlationId,
            success.isBoolean() ? success.asBoolean() : null,
            limited(event.path("targetName").asText(null), 255),
            limited(event.path("version").asText(null), 64),
            details);
    return Device.storable(parsed) ? Optional.of(parsed) : Optional.empty();
  }

  private static String limited(String value, int max) {
    return value == null || value.length() <= max ? value : value.substring(0, max);
  }

  private Route appsStates(DeviceIdentity device, Contact contact) {
    return json(
        body -> {
          if (!body.isObject()) {
            return Errors.badRequest("the body must be a JSON object");
          }
          String deviceTime = body.path("deviceTime").asText("");
          if (!Rfc3339.isValid(deviceTime)) {
            return Errors.badRequest(
                "deviceTime must be an RFC 3339 date-time, got '" + limited(deviceTime, 64) + "'");
          }
          JsonNode apps = body.path("apps");
          if (!apps.isMissingNode() && !apps.isNull() && !apps.isObject()) {
            return Errors.badRequest("apps must be an object");
          }
          Device.AppsStates states =
              new Device.AppsStates(
                  body.path("ostree").asText(null),
                  deviceTime,
                  apps.isObject() ? apps.toString() : "{}");
          return ask(
              device,
              replyTo -> new Device.ReportAppsStates(contact, states, replyTo),
              summary -> complete(StatusCodes.OK));
        });
  }

  private Route systemInfo(DeviceIdentity device, Contact contact, Device.SystemInfoKind kind) {
    if (kind == Device.SystemInfoKind.CONFIG) {
      return entity(
          Unmarshaller.entityToByteArray(),
          bytes -> {
            String text = JsonSupport.utf8(bytes);
            return text == null || text.indexOf('\0') >= 0
                ? Errors.badRequest("the config report must be UTF-8 text without NUL characters")
                : reportSystemInfo(device, contact, kind, text);
          });
    }
    return json(
        body -> {
          if (kind == Device.SystemInfoKind.NETWORK && !body.isObject()) {
            return Errors.badRequest("network info must be a JSON object");
          }
          return reportSystemInfo(device, contact, kind, body.toString());
        });
  }

  private Route reportSystemInfo(
      DeviceIdentity device, Contact contact, Device.SystemInfoKind kind, String content) {
    return ask(
        device,
        replyTo -> new Device.ReportSystemInfo(contact, kind, content, replyTo),
        summary -> complete(StatusCodes.OK));
  }

  private Route config(DeviceIdentity device, Contact contact) {
    return optionalHeaderValueByName(
        "If-Modified-Since",
        ifModifiedSince ->
            checkIn(
                device,
                contact,
                summary ->
                    Replies.whenDone(
                        core.fleetConfig(summary.factory())
                            .<FleetConfig.Layers>ask(
                                replyTo -> new FleetConfig.GetLayers(summary.group(), replyTo),
                                core.askTimeout()),
                        layers -> mergedConfig(layers, summary, ifModifiedSince))));
  }

  private static Route mergedConfig(
      FleetConfig.Layers layers, Device.Summary summary, Optional<String> ifModifiedSince) {
    Map<String, ConfigFile> merged = new LinkedHashMap<>();
    layers.factoryFiles().forEach(f -> merged.put(f.name(), f));
    layers.groupFiles().forEach(f -> merged.put(f.name(), f));
    summary.config().forEach(f -> merged.put(f.name(), f));
    if (merged.isEmpty()) {
      return complete(StatusCodes.NO_CONTENT);
    }
    Instant modified =
        latest(layers.factoryChangedAt(), layers.groupChangedAt(), summary.configChangedAt())
            .truncatedTo(ChronoUnit.SECONDS);
    Optional<Instant> since = ifModifiedSince.flatMap(DeviceRoutes::httpDate);
    if (since.isPresent() && !modified.isAfter(since.get())) {
      return complete(StatusCodes.NOT_MODIFIED);
    }
    Map<String, io.flotilla.protocol.device.ConfigFile> body = new LinkedHashMap<>();
    merged
        .values()
        .forEach(
            f ->
                body.put(
                    f.name(),
                    new io.flotilla.protocol.device.ConfigFile(
                        f.value(), f.onChanged(), f.unencrypted())));
    return respondWithHeader(
        RawHeader.create(
            "Last-Modified",
            DateTimeFormatter.RFC_1123_DATE_TIME.format(modified.atZone(ZoneOffset.UTC))),
        () -> complete(StatusCodes.OK, body, JsonSupport.marshaller()));
  }

  private static Instant latest(Instant... instants) {
    Instant latest = Instant.EPOCH;
    for (Instant instant : instants) {
      if (instant != null && instant.isAfter(latest)) {
        latest = instant;
      }
    }
    return latest;
  }

  private static Optional<Instant> httpDate(String value) {
    try {
      return Optional.of(
          ZonedDateTime.parse(value.strip(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant());
    } catch (DateTimeParseException e) {
      return Optional.empty();
    }
  }

  private Route patchConfig(DeviceIdentity device, Contact contact) {
    return entity(
        JsonSupport.unmarshaller(ConfigPatch.class),
        patch -> {
          if (patch.files() == null || patch.files().isEmpty()) {
            return Errors.badRequest("files must list at least one file");
          }
          List<ConfigFile> files = new ArrayList<>();
          for (ConfigPatch.File file : patch.files()) {
            if (file == null) {
              return Errors.badRequest("files must not contain null");
            }
            files.add(
                new ConfigFile(file.name(), file.value(), file.unencrypted(), file.onChanged()));
          }
          return ask(
              device,
              replyTo -> new Device.PatchConfig(contact, files, patch.reason(), replyTo),
              summary -> complete(StatusCodes.CREATED));
        });
  }

  private Route hubCreds(DeviceIdentity device, Contact contact) {
    return checkIn(
        device,
        contact,
        summary -> {
          DeviceHubCredentials.Credentials credentials =
              hubCredentials.issue(device.factory(), device.uuid(), contact.at());
          return complete(
              StatusCodes.OK,
              new HubCredentials(credentials.username(), credentials.secret()),
              JsonSupport.marshaller());
        });
  }

  /**
   * The body is the bare URL: fioup parses all of it ({@code url.ParseRequestURI}), so no newline,
   * no JSON.
   */
  private Route appsProxyUrl(DeviceIdentity device, Contact contact, HttpRequest request) {
    return checkIn(
        device,
        contact,
        summary ->
            complete(
                StatusCodes.CREATED,
                HttpEntities.create(
                    ContentTypes.TEXT_PLAIN_UTF8,
                    appsProxy.url(
                        gatewayUrl.apply(request),
                        device.factory(),
                        device.uuid(),
                        contact.at()))));
  }

  private static Route json(Function<JsonNode, Route> inner) {
    return entity(
        Unmarshaller.entityToByteArray(),
        bytes -> {
          JsonNode body;
          try {
            body = JsonSupport.MAPPER.readTree(bytes);
          } catch (JsonProcessingException e) {
            return Errors.badRequest("malformed JSON: " + e.getOriginalMessage());
          } catch (java.io.IOException e) {
            return Errors.badRequest("malformed JSON: " + e.getMessage());
          }
          if (body == null || body.isMissingNode()) {
            return Errors.badRequest("the body is empty");
          }
          return inner.apply(body);
        });
  }
}
