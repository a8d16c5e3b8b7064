package io.flotilla.gateway.device;

import static org.apache.pekko.http.javadsl.server.Directives.handleWebSocketMessages;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.flotilla.core.FlotillaCore;
import io.flotilla.core.device.Device;
import io.flotilla.core.target.Targets;
import io.flotilla.gateway.http.JsonSupport;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * {@code GET /ws} (§8): the devices connected to this node, by (factory, tag), told of every change of their
 * tag's targets. Each node subscribes to the cluster-wide {@link Targets.TargetsChanged} topic, so a device is
 * pushed to wherever it is connected. The tag is the one the device had when it connected.
 */
final class DevicePush {

  /** Pushes are tiny and rare; a device that does not read them loses the oldest, it will poll anyway. */
  private static final int BUFFER = 8;

  private record Key(String factory, String tag) {}

  private final FlotillaCore core;
  private final ConcurrentHashMap<Key, Set<BoundedSourceQueue<Message>>> connected = new ConcurrentHashMap<>();

  private DevicePush(FlotillaCore core) {
    this.core = core;
  }

  static DevicePush start(FlotillaCore core) {
    DevicePush push = new DevicePush(core);
    ActorRef<Targets.TargetsChanged> listener =
        core.system()
            .systemActorOf(
                Behaviors.receive(Targets.TargetsChanged.class)
                    .onMessage(
                        Targets.TargetsChanged.class,
                        change -> {
                          push.announce(change);
                          return Behaviors.same();
                        })
                    .build(),
                "device-push",
                Props.empty());
    core.targetsTopic().tell(Topic.subscribe(listener));
    return push;
  }

  int connections() {
    return connected.values().stream().mapToInt(Set::size).sum();
  }

  Route route(Device.Summary device) {
    Key key = new Key(device.factory(), device.tag() == null ? "" : device.tag());
    Source<Message, NotUsed> pushes =
        Source.<Message>queue(BUFFER)
            .watchTermination(
                (queue, done) -> {
                  connected.computeIfAbsent(key, k -> ConcurrentHashMap.newKeySet()).add(queue);
                  done.whenComplete((ignored, failure) -> forget(key, queue));
                  return NotUsed.getInstance();
                });
    return handleWebSocketMessages(Flow.fromSinkAndSourceCoupled(Sink.ignore(), pushes));
  }

  private void forget(Key key, BoundedSourceQueue<Message> queue) {
    connected.computeIfPresent(
        key,
        (k, queues) -> {
          queues.remove(queue);
          return queues.isEmpty() ? null : queues;
        });
  }

  /** The version pushed is the tag's {@code signed.version}, asked of the entity that just published the change. */
  private void announce(Targets.TargetsChanged change) {
    for (String tag : change.tags()) {
      Set<BoundedSourceQueue<Message>> queues = connected.get(new Key(change.factory(), tag));
      if (queues == null || queues.isEmpty()) {
        continue;
      }
      core.targets(change.factory())
          .<Targets.TargetList>ask(replyTo -> new Targets.ListTargets(tag, replyTo), core.askTimeout())
          .thenAccept(
              list -> {
                Message message = TextMessage.create(json(new DeviceWire.TargetsChanged(tag, list.tagVersion() + 1)));
                queues.forEach(queue -> queue.offer(message));
              })
          .exceptionally(
              failure -> {
                core.system().log().warn("cannot push the targets change of {}/{}: {}", change.factory(), tag, failure.getMessage());
                return null;
              });
    }
  }

  private static String json(Object value) {
    try {
      return JsonSupport.MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("push messages are plain records", e);
    }
  }
}
