package io.flotilla.gateway.device;

import static org.apache.pekko.http.javadsl.server.Directives.handleWebSocketMessages;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.flotilla.core.FlotillaCore;
import io.flotilla.core.device.ConfigPublished;
import io.flotilla.core.device.Device;
import io.flotilla.core.target.Targets;
import io.flotilla.gateway.http.JsonSupport;
import io.flotilla.protocol.device.ConfigChanged;
import io.flotilla.protocol.device.TargetsChanged;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
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
 * {@code GET /ws} (§8): the devices connected to this node, by (factory, tag), told of every change
 * of their tag's targets, and by (factory, uuid), told of every operator change of their config.
 * Each node subscribes to the cluster-wide {@link Targets.TargetsChanged} and {@link
 * ConfigPublished} topics, so a device is pushed to wherever it is connected. The tag is the one
 * the device had when it connected; a new tag comes as a config change, after which the device
 * reconnects.
 */
final class DevicePush {

  /**
   * Pushes are tiny and rare; a device that does not read them loses the oldest, it will poll
   * anyway.
   */
  private static final int BUFFER = 8;

  private record Key(String factory, String tag) {}

  private final FlotillaCore core;
  private static final Message CONFIG_CHANGED = TextMessage.create(json(ConfigChanged.of()));

  private final ConcurrentHashMap<Key, Set<BoundedSourceQueue<Message>>> connected =
      new ConcurrentHashMap<>();

  /** factory → device uuid → its sockets on this node and its group. */
  private final ConcurrentHashMap<String, ConcurrentHashMap<String, Sockets>> devices =
      new ConcurrentHashMap<>();

  /**
   * A device's sockets on this node; its group as of connecting, kept current by the device's own
   * changes.
   */
  private static final class Sockets {
    final Set<BoundedSourceQueue<Message>> queues = ConcurrentHashMap.newKeySet();
    volatile String group;

    Sockets(String group) {
      this.group = group;
    }

    void push(Message message) {
      queues.forEach(queue -> queue.offer(message));
    }
  }

  private DevicePush(FlotillaCore core) {
    this.core = core;
  }

  static DevicePush start(FlotillaCore core) {
    DevicePush push = new DevicePush(core);
    core.targetsTopic()
        .tell(
            Topic.subscribe(
                listener(core, Targets.TargetsChanged.class, "device-push", push::announce)));
    core.deviceConfigTopic()
        .tell(
            Topic.subscribe(
                listener(core, ConfigPublished.class, "device-config-push", push::announce)));
    core.rolloutGates()
        .onChange(
            gate ->
                push.announce(new Targets.TargetsChanged(gate.factory(), Set.of(gate.tag()), 0)));
    return push;
  }

  private static <T> ActorRef<T> listener(
      FlotillaCore core, Class<T> type, String name, Consumer<T> handler) {
    return core.system()
        .systemActorOf(
            Behaviors.receive(type)
                .onMessage(
                    type,
                    message -> {
                      handler.accept(message);
                      return Behaviors.same();
                    })
                .build(),
            name,
            Props.empty());
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
                  devices
                      .computeIfAbsent(device.factory(), f -> new ConcurrentHashMap<>())
                      .computeIfAbsent(device.uuid(), u -> new Sockets(device.group()))
                      .queues
                      .add(queue);
                  done.whenComplete((ignored, failure) -> forget(key, device, queue));
                  return NotUsed.getInstance();
                });
    return handleWebSocketMessages(Flow.fromSinkAndSourceCoupled(Sink.ignore(), pushes));
  }

  private void forget(Key key, Device.Summary device, BoundedSourceQueue<Message> queue) {
    connected.computeIfPresent(
        key,
        (k, queues) -> {
          queues.remove(queue);
          return queues.isEmpty() ? null : queues;
        });
    devices.computeIfPresent(
        device.factory(),
        (f, byUuid) -> {
          byUuid.computeIfPresent(
              device.uuid(),
              (u, sockets) -> {
                sockets.queues.remove(queue);
                return sockets.queues.isEmpty() ? null : sockets;
              });
          return byUuid.isEmpty() ? null : byUuid;
        });
  }

  private void announce(ConfigPublished change) {
    Map<String, Sockets> byUuid = devices.get(change.factory());
    if (byUuid == null) {
      return;
    }
    if (change.uuid() != null) {
      Sockets sockets = byUuid.get(change.uuid());
      if (sockets != null) {
        sockets.group = change.group();
        sockets.push(CONFIG_CHANGED);
      }
      return;
    }
    byUuid.values().stream()
        .filter(sockets -> change.group() == null || change.group().equals(sockets.group))
        .forEach(sockets -> sockets.push(CONFIG_CHANGED));
  }

  /**
   * The version pushed is the tag's {@code signed.version}, asked of the entity that just published
   * the change, plus the revision of the tag's rollouts (as {@link TufRepository} serves it). A
   * rollout's change comes here too: its devices re-read their targets.
   */
  private void announce(Targets.TargetsChanged change) {
    for (String tag : change.tags()) {
      Set<BoundedSourceQueue<Message>> queues = connected.get(new Key(change.factory(), tag));
      if (queues == null || queues.isEmpty()) {
        continue;
      }
      core.targets(change.factory())
          .<Targets.TargetList>ask(
              replyTo -> new Targets.ListTargets(tag, replyTo), core.askTimeout())
          .thenAccept(
              list -> {
                long gates = core.rolloutGates().forTag(change.factory(), tag).revision();
                Message message =
                    TextMessage.create(json(TargetsChanged.of(tag, list.tagVersion() + 1 + gates)));
                queues.forEach(queue -> queue.offer(message));
              })
          .exceptionally(
              failure -> {
                core.system()
                    .log()
                    .warn(
                        "cannot push the targets change of {}/{}: {}",
                        change.factory(),
                        tag,
                        failure.getMessage());
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
