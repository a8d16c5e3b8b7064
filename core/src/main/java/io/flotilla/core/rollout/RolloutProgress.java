package io.flotilla.core.rollout;

import io.flotilla.core.CborSerializable;
import io.flotilla.core.rollout.RolloutQueries.Member;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A rollout's counts, computed from the read side's rows of its tag's devices.
 *
 * @param reached devices in started phases (those that may see the target)
 * @param failed of those, the ones whose update to the target failed or whose apps are unhealthy
 * @param thresholdCrossedAt when the server received the failure that crossed the error threshold,
 *     null while it is not crossed
 */
public record RolloutProgress(
    List<PhaseProgress> phases, long reached, long failed, Instant thresholdCrossedAt)
    implements CborSerializable {

  /**
   * {@code pending}: targeted, neither updated nor failed yet. {@code state}: pending, started,
   * succeeded, halted, canceled.
   */
  public record PhaseProgress(
      String name, String state, long targeted, long updated, long failed, long pending)
      implements CborSerializable {}

  public static RolloutProgress of(Gate gate, RolloutPlan plan, List<Member> members) {
    List<RolloutPlan.Phase> phases = plan.phases();
    int started = gate.limits().size();
    long[] targeted = new long[phases.size()];
    long[] updated = new long[phases.size()];
    long[] failed = new long[phases.size()];
    List<Long> limits = displayLimits(gate);
    Gate shown =
        new Gate(
            gate.factory(),
            gate.id(),
            gate.tag(),
            gate.version(),
            gate.status(),
            phases,
            limits,
            gate.rolledBack(),
            gate.revision());
    List<Instant> failures = new ArrayList<>();
    long reached = 0;
    long reachedFailed = 0;
    for (Member member : members) {
      int phase = shown.phaseOf(member.uuid(), member.group(), member.labels(), phases.size());
      if (phase < 0) {
        continue;
      }
      targeted[phase]++;
      if (member.failed()) {
        failed[phase]++;
      } else if (member.updated()) {
        updated[phase]++;
      }
      if (phase < started) {
        reached++;
        if (member.failed()) {
          reachedFailed++;
          failures.add(member.failedAt() == null ? Instant.MAX : member.failedAt());
        }
      }
    }
    List<PhaseProgress> progress = new ArrayList<>();
    for (int i = 0; i < phases.size(); i++) {
      progress.add(
          new PhaseProgress(
              phases.get(i).name(),
              phaseState(gate, i),
              targeted[i],
              updated[i],
              failed[i],
              targeted[i] - updated[i] - failed[i]));
    }
    long threshold = errorThreshold(plan, reached);
    Instant crossed = null;
    if (reachedFailed >= threshold) {
      failures.sort(null);
      Instant at = failures.get((int) threshold - 1);
      crossed = at.equals(Instant.MAX) ? Instant.now() : at;
    }
    return new RolloutProgress(List.copyOf(progress), reached, reachedFailed, crossed);
  }

  /** The number of failed devices at which the rollout halts; at least 1. */
  static long errorThreshold(RolloutPlan plan, long reached) {
    long threshold = Long.MAX_VALUE;
    if (plan.errorCount() != null) {
      threshold = plan.errorCount();
    }
    double share =
        plan.errorShare() != null
            ? plan.errorShare()
            : plan.errorCount() == null ? RolloutPlan.DEFAULT_ERROR_SHARE : 2;
    if (share <= 1) {
      threshold = Math.min(threshold, (long) Math.ceil(share * reached));
    }
    return Math.max(1, threshold);
  }

  /** Started phases keep their bounds; a percent phase not started yet shows what it will reach. */
  private static List<Long> displayLimits(Gate gate) {
    List<Long> limits = new ArrayList<>(gate.limits());
    List<RolloutPlan.Phase> phases = gate.phases();
    for (int i = limits.size(); i < phases.size(); i++) {
      Double percent = phases.get(i).percent();
      limits.add(percent == null ? 0L : RolloutPlan.percentLimit(percent));
    }
    return limits;
  }

  private static String phaseState(Gate gate, int index) {
    int started = gate.limits().size();
    if (gate.status() == Rollout.Status.COMPLETED || index < started - 1) {
      return "succeeded";
    }
    if (index >= started) {
      return "pending";
    }
    return switch (gate.status()) {
      case HALTED -> "halted";
      case CANCELED -> "canceled";
      default -> "started";
    };
  }
}
