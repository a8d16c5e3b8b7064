package io.flotilla.core.device;

import io.flotilla.core.CborSerializable;

/**
 * Published cluster-wide when the operator changes what a device's {@code GET /config} serves, so
 * that a device holding a WebSocket on any node fetches it at once instead of at its next poll.
 *
 * <p>With a {@code uuid}: that device's own files or its group changed, and {@code group} is its
 * group now (null: none). Without: a layer changed, the group's ({@code group}) or the factory-wide
 * one ({@code group} null).
 */
public record ConfigPublished(String factory, String uuid, String group)
    implements CborSerializable {

  public static final String TOPIC_NAME = "flotilla-device-config";

  public static ConfigPublished device(String factory, String uuid, String group) {
    return new ConfigPublished(factory, uuid, group);
  }

  public static ConfigPublished layer(String factory, String group) {
    return new ConfigPublished(factory, null, group);
  }
}
