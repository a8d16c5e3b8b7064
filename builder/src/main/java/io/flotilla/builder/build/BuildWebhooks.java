package io.flotilla.builder.build;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.core.persistence.Database;
import io.flotilla.core.webhook.WebhookKinds;
import io.flotilla.core.webhook.WebhookOutbox;
import io.flotilla.core.webhook.WebhookOutbox.Notification;
import java.util.List;
import org.apache.pekko.actor.typed.ActorSystem;

/** What builds tell webhooks: a build finished (succeeded, failed or canceled). */
public final class BuildWebhooks {

  public static final String OUTBOX = "webhook-outbox-build";

  private BuildWebhooks() {}

  public static void start(ActorSystem<?> system, Database database) {
    WebhookOutbox.start(system, database, OUTBOX, Build.TAG, BuildWebhooks::notifications);
  }

  static List<Notification> notifications(Build.Event event) {
    ObjectNode payload = WebhookOutbox.payload().put("number", event.number());
    if (event instanceof Build.Succeeded s) {
      payload.put("result", "succeeded");
      ArrayNode targets = payload.putArray("targets");
      s.targets().forEach(targets::add);
      ObjectNode apps = payload.putObject("apps");
      s.apps().forEach(apps::put);
    } else if (event instanceof Build.Failed f) {
      payload.put("result", "failed").put("reason", f.reason());
    } else if (event instanceof Build.Canceled c) {
      payload.put("result", "canceled").put("by", c.by());
    } else {
      return List.of();
    }
    return List.of(new Notification(event.factory(), WebhookKinds.BUILD_FINISHED, payload));
  }
}
