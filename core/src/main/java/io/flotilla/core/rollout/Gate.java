package io.flotilla.core.rollout;

import io.flotilla.core.CborSerializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Map;

/**
 * What a rollout lets devices see: the target version it gates on its tag, and which devices see
 * it. Every node keeps the gates of all rollouts ({@link RolloutGates}), so a check-in decides from
 * memory.
 *
 * <p>A device sees the target when the rollout completed; never after a halt with rollback;
 * otherwise when it matches a started phase. Membership is decided at each check-in from what the
 * device is then (its group, labels, and its bucket): a device that joins the tag or the group
 * during the rollout is in a phase exactly when it would have been from the start.
 *
 * @param limits the bucket bound of each started phase (0 for phases chosen by group, labels or
 *     uuids)
 * @param revision how many events the rollout has; it only grows, and devices are told their
 *     targets changed whenever it does
 */
public record Gate(
    String factory,
    String id,
    String tag,
    long version,
    Rollout.Status status,
    List<RolloutPlan.Phase> phases,
    List<Long> limits,
    boolean rolledBack,
    long revision)
    implements CborSerializable {

  /** Buckets are in [0, 2^32). */
  public static final long BUCKETS = 1L << 32;

  public boolean shows(String uuid, String group, Map<String, String> labels) {
    if (status == Rollout.Status.COMPLETED) {
      return true;
    }
    if (rolledBack) {
      return false;
    }
    return phaseOf(uuid, group, labels, limits.size()) >= 0;
  }

  /**
   * The first of the first {@code started} phases that the device matches, or -1: a device belongs
   * to one phase, the earliest that selects it.
   */
  public int phaseOf(String uuid, String group, Map<String, String> labels, int started) {
    long bucket = -1;
    for (int i = 0; i < started && i < phases.size(); i++) {
      RolloutPlan.Phase phase = phases.get(i);
      if (phase.byBucket() && bucket < 0) {
        bucket = bucket(id, uuid);
      }
      if (phase.matches(uuid, group, labels, bucket, i < limits.size() ? limits.get(i) : 0)) {
        return i;
      }
    }
    return -1;
  }

  /**
   * A device's place in a rollout's count and percent phases: the first 4 bytes of SHA-256 of the
   * rollout id and the uuid. Uniform, stable across nodes and restarts, and different for each
   * rollout, so the same devices are not always first.
   */
  public static long bucket(String rolloutId, String uuid) {
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256")
              .digest((rolloutId + "/" + uuid).getBytes(StandardCharsets.UTF_8));
      return ((digest[0] & 0xffL) << 24)
          | ((digest[1] & 0xffL) << 16)
          | ((digest[2] & 0xffL) << 8)
          | (digest[3] & 0xffL);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
