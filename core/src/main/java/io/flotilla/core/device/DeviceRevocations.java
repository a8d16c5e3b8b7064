package io.flotilla.core.device;

import io.flotilla.core.pki.RevocationCheck;
import java.math.BigInteger;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;

/**
 * This node's set of decommissioned devices, which the device port's TLS handshake consults: it
 * must answer from memory, never by asking an entity. Filled from the read side at start and kept
 * current by the {@link Device.Revoked} topic, to which every Device publishes right after
 * persisting its decommission.
 *
 * <p>Until the start-up load has finished a decommissioned device can pass the handshake; its
 * Device entity still refuses every request (403), so the set is a fast path, not the only guard.
 */
public final class DeviceRevocations implements RevocationCheck {

  private final Set<String> revoked = ConcurrentHashMap.newKeySet();

  private DeviceRevocations() {}

  public static DeviceRevocations start(
      ActorSystem<?> system, ActorRef<Topic.Command<Device.Revoked>> topic, DeviceQueries queries) {
    DeviceRevocations revocations = new DeviceRevocations();
    ActorRef<Device.Revoked> listener =
        system.systemActorOf(
            Behaviors.receive(Device.Revoked.class)
                .onMessage(
                    Device.Revoked.class,
                    r -> {
                      revocations.add(r);
                      return Behaviors.same();
                    })
                .build(),
            "device-revocations",
            Props.empty());
    topic.tell(Topic.subscribe(listener));
    queries
        .decommissioned()
        .whenComplete(
            (list, failure) -> {
              if (failure != null) {
                system
                    .log()
                    .error(
                        "cannot load decommissioned devices; their entities still refuse them",
                        failure);
              } else {
                list.forEach(revocations::add);
              }
            });
    return revocations;
  }

  private void add(Device.Revoked device) {
    revoked.add(key(device.factory(), device.uuid()));
  }

  @Override
  public boolean isRevoked(String factory, String uuid, BigInteger serial) {
    return revoked.contains(key(factory, uuid));
  }

  private static String key(String factory, String uuid) {
    return factory + "/" + uuid;
  }
}
