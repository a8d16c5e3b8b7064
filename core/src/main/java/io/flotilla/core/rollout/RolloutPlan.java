package io.flotilla.core.rollout;

import io.flotilla.core.CborSerializable;
import io.flotilla.core.Limits;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What a rollout does: its phases in order, when a phase has succeeded, when the whole rollout
 * halts, and whether a halt takes the target back from the devices that got it.
 *
 * @param errorCount halt once this many reached devices failed (null: no count bound)
 * @param errorShare halt once this share of the reached devices failed (null: no share bound)
 * @param rollback on a halt, offer every reached device its previous target again
 */
public record RolloutPlan(
    List<Phase> phases, Integer errorCount, Double errorShare, boolean rollback)
    implements CborSerializable {

  /**
   * One phase. Exactly one selector is set: {@code group}, {@code labels} (all must match), {@code
   * uuids}, {@code count} (that many more devices of the tag), or {@code percent} (of the tag's
   * devices, counted from the start of the rollout, so 1 then 10 reaches 10% in all).
   *
   * @param successShare the share of the phase's devices that must report the install completed
   *     with healthy apps for the next phase to start
   * @param successWithinSeconds the phase halts the rollout when that share is not reached in time
   */
  public record Phase(
      String name,
      String group,
      Map<String, String> labels,
      List<String> uuids,
      Integer count,
      Double percent,
      double successShare,
      long successWithinSeconds)
      implements CborSerializable {

    public Phase {
      labels = labels == null ? null : Map.copyOf(labels);
      uuids = uuids == null ? null : List.copyOf(uuids);
    }

    public boolean byBucket() {
      return count != null || percent != null;
    }

    /**
     * Whether a device is in this phase. {@code limit} is the phase's bucket bound, fixed when it
     * started (see {@link Gate#bucket}); it only matters for count and percent phases.
     */
    public boolean matches(
        String uuid,
        String deviceGroup,
        Map<String, String> deviceLabels,
        long bucket,
        long limit) {
      if (group != null) {
        return group.equals(deviceGroup);
      }
      if (labels != null) {
        if (deviceLabels == null) {
          return false;
        }
        for (Map.Entry<String, String> label : labels.entrySet()) {
          if (!label.getValue().equals(deviceLabels.get(label.getKey()))) {
            return false;
          }
        }
        return true;
      }
      if (uuids != null) {
        return uuids.contains(uuid);
      }
      return bucket < limit;
    }
  }

  public static final double DEFAULT_SUCCESS_SHARE = 0.95;
  public static final long DEFAULT_SUCCESS_WITHIN_SECONDS = 3600;
  public static final double DEFAULT_ERROR_SHARE = 0.1;
  public static final long MAX_SUCCESS_WITHIN_SECONDS = 30L * 24 * 3600;

  /** The bucket bound of a percent phase. */
  public static long percentLimit(double percent) {
    return (long) Math.floor(percent / 100.0 * Gate.BUCKETS);
  }

  public boolean needsLabels() {
    return phases.stream().anyMatch(p -> p.labels() != null);
  }

  /** The plan's problem, or null when it is well-formed and within {@link Limits}. */
  public String problem() {
    if (phases == null || phases.isEmpty()) {
      return "a rollout needs at least one phase (phases, or growth as a list of percentages)";
    }
    if (phases.size() > Limits.ROLLOUT_PHASES) {
      return "a rollout has at most " + Limits.ROLLOUT_PHASES + " phases";
    }
    if (errorCount != null && errorCount < 1) {
      return "errorCount must be at least 1";
    }
    if (errorShare != null && !(errorShare > 0 && errorShare <= 1)) {
      return "errorShare must be above 0 and at most 1";
    }
    List<String> names = new ArrayList<>();
    double lastPercent = 0;
    for (int i = 0; i < phases.size(); i++) {
      Phase phase = phases.get(i);
      String at = "phase " + (i + 1) + ": ";
      if (phase == null) {
        return at + "must be an object";
      }
      if (phase.name() == null || !Limits.GROUP.matcher(phase.name()).matches()) {
        return at + "name must match " + Limits.GROUP.pattern();
      }
      if (names.contains(phase.name())) {
        return at + "name " + phase.name() + " is used twice";
      }
      names.add(phase.name());
      int selectors =
          (phase.group() != null ? 1 : 0)
              + (phase.labels() != null ? 1 : 0)
              + (phase.uuids() != null ? 1 : 0)
              + (phase.count() != null ? 1 : 0)
              + (phase.percent() != null ? 1 : 0);
      if (selectors != 1) {
        return at + "give exactly one of group, labels, uuids, count, percent";
      }
      if (phase.group() != null && !Limits.GROUP.matcher(phase.group()).matches()) {
        return at + "group must match " + Limits.GROUP.pattern();
      }
      if (phase.labels() != null) {
        String problem = Limits.labelsProblem(phase.labels());
        if (problem != null) {
          return at + problem;
        }
        if (phase.labels().isEmpty()) {
          return at + "labels must name at least one label";
        }
      }
      if (phase.uuids() != null) {
        String problem =
            Limits.listProblem(
                "uuids", phase.uuids(), Limits.ROLLOUT_PHASE_UUIDS, Limits.DEVICE_UUID);
        if (problem != null) {
          return at + problem;
        }
      }
      if (phase.count() != null && phase.count() < 1) {
        return at + "count must be at least 1";
      }
      if (phase.percent() != null) {
        if (!(phase.percent() > lastPercent && phase.percent() <= 100)) {
          return at
              + "percent must be above the previous percent phase's ("
              + lastPercent
              + ") and at most 100";
        }
        lastPercent = phase.percent();
      }
      if (!(phase.successShare() > 0 && phase.successShare() <= 1)) {
        return at + "successShare must be above 0 and at most 1";
      }
      if (phase.successWithinSeconds() < 1
          || phase.successWithinSeconds() > MAX_SUCCESS_WITHIN_SECONDS) {
        return at + "successWithinSeconds must be from 1 to " + MAX_SUCCESS_WITHIN_SECONDS;
      }
    }
    return null;
  }
}
