package io.flotilla.core.testing;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;

/**
 * An ActorTestKit for EventSourcedBehaviorTestKit with the node's serialization bindings, so
 * commands, events and state are round-tripped through Jackson CBOR as in production.
 */
public final class EntityTestKit {

  private EntityTestKit() {}

  public static ActorTestKit create() {
    Config bindings =
        ConfigFactory.parseString(
            "pekko.actor.serialization-bindings { \"io.flotilla.core.CborSerializable\" = jackson-cbor }");
    return ActorTestKit.create(bindings.withFallback(EventSourcedBehaviorTestKit.config()));
  }
}
