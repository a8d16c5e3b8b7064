package io.flotilla.core.device;

import java.lang.ref.WeakReference;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * One shared instance per distinct value for what many device entities hold alike (factory, tag,
 * target name, app list, projection tag): each entity's state arrives from its own deserialized
 * events or request headers, so without this a node keeps one copy per device. Values are held
 * weakly, so one that no device uses any more is collected; a device can report any value, so a
 * strong cache would grow without bound.
 */
final class Canonical {

  /**
   * Keys and values are the same objects; the value is a weak reference so that it does not keep
   * its key alive.
   */
  private static final Map<Object, WeakReference<Object>> VALUES = new WeakHashMap<>();

  private Canonical() {}

  /**
   * The shared instance equal to {@code value}, which becomes it when there is none; null stays
   * null.
   */
  @SuppressWarnings("unchecked")
  static <T> T of(T value) {
    if (value == null) {
      return null;
    }
    synchronized (VALUES) {
      WeakReference<Object> known = VALUES.get(value);
      Object shared = known == null ? null : known.get();
      if (shared != null) {
        return (T) shared;
      }
      VALUES.put(value, new WeakReference<>(value));
      return value;
    }
  }
}
