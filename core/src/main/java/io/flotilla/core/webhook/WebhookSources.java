package io.flotilla.core.webhook;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.core.device.Device;
import io.flotilla.core.rollout.Rollout;
import io.flotilla.core.target.Target;
import io.flotilla.core.target.Targets;
import io.flotilla.core.webhook.WebhookOutbox.Notification;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What core's events tell webhooks: a target added, an update a device reported failed, and every
 * change of a rollout. (Builds are the builder's: {@code builder/build/BuildWebhooks}.)
 */
public final class WebhookSources {

  private WebhookSources() {}

  public static final String TARGETS_OUTBOX = "webhook-outbox-targets";
  public static final String DEVICE_OUTBOX = "webhook-outbox-device";
  public static final String ROLLOUT_OUTBOX = "webhook-outbox-rollout";

  public static List<Notification> targets(Targets.Event event) {
    if (!(event instanceof Targets.TargetAdded added)) {
      return List.of();
    }
    Target target = added.target();
    ObjectNode payload =
        WebhookOutbox.payload()
            .put("name", target.name())
            .put("hardwareId", target.hardwareId())
            .put("version", target.version())
            .put("containersSha", target.containersSha());
    ArrayNode tags = payload.putArray("tags");
    target.tags().forEach(tags::add);
    ObjectNode apps = payload.putObject("apps");
    target.apps().forEach(apps::put);
    return List.of(new Notification(added.factory(), WebhookKinds.TARGET_PUBLISHED, payload));
  }

  /** One notification per update of the report in which a step reported {@code success: false}. */
  public static List<Notification> device(Device.Event event) {
    if (!(event instanceof Device.UpdateEventsReported reported)) {
      return List.of();
    }
    Map<String, List<Device.UpdateEvent>> byUpdate = new LinkedHashMap<>();
    for (Device.UpdateEvent e : reported.events()) {
      if (!Device.isMetadataEvent(e)) {
        byUpdate.computeIfAbsent(e.correlationId(), k -> new ArrayList<>()).add(e);
      }
    }
    List<Notification> notifications = new ArrayList<>();
    byUpdate.forEach(
        (correlationId, events) -> {
          Device.Failure failure = Device.failureOf(correlationId, null, events, reported.at());
          if (failure != null) {
            String version = null;
            for (Device.UpdateEvent e : events) {
              version = e.version() != null ? e.version() : version;
            }
            notifications.add(
                new Notification(
                    reported.factory(),
                    WebhookKinds.DEVICE_UPDATE_FAILED,
                    WebhookOutbox.payload()
                        .put("uuid", reported.uuid())
                        .put("correlationId", correlationId)
                        .put("targetName", failure.targetName())
                        .put("version", version)
                        .put("step", failure.step())
                        .put("reason", failure.reason())));
          }
        });
    return notifications;
  }

  /**
   * {@code change}: the event's name ({@code created}, {@code phase-started}, {@code halted}...).
   */
  public static List<Notification> rollout(Rollout.Event event) {
    ObjectNode payload =
        WebhookOutbox.payload()
            .put("id", event.id())
            .put("change", change(event))
            .put("by", event.by());
    if (event instanceof Rollout.Created c) {
      payload.put("status", Rollout.Status.RUNNING.wireName());
      payload.put("tag", c.tag()).put("version", c.version());
    } else if (event instanceof Rollout.PhaseStarted p) {
      payload.put("status", Rollout.Status.RUNNING.wireName()).put("phase", p.index());
    } else if (event instanceof Rollout.Paused) {
      payload.put("status", Rollout.Status.PAUSED.wireName());
    } else if (event instanceof Rollout.Resumed) {
      payload.put("status", Rollout.Status.RUNNING.wireName());
    } else if (event instanceof Rollout.Canceled) {
      payload.put("status", Rollout.Status.CANCELED.wireName());
    } else if (event instanceof Rollout.Halted h) {
      payload
          .put("status", Rollout.Status.HALTED.wireName())
          .put("reason", h.reason())
          .put("rolledBack", h.rolledBack());
    } else if (event instanceof Rollout.Completed) {
      payload.put("status", Rollout.Status.COMPLETED.wireName());
    }
    return List.of(new Notification(event.factory(), WebhookKinds.ROLLOUT_CHANGED, payload));
  }

  private static String change(Rollout.Event event) {
    return event.getClass().getSimpleName().replaceAll("([a-z])([A-Z])", "$1-$2").toLowerCase();
  }
}
