#!/usr/bin/env bash
# Benchmark: does the server see what the device runs after the agent is SIGKILLed at random points of real updates,
# and after updates that end while the device gateway is unreachable? Runs AgentCrashTest (the real server in-process,
# podman's Docker API, the agent CLI in its own JVM; see docs/agent.md "Tests") for N trials (default 50) in one test
# JVM, whose surefire limit is raised to fit them, and prints its result line (and any trial that went wrong).
# BENCH_WORK=<dir> keeps the work dir, whose result.txt grows by a line per trial while the run goes on.
# Usage: bench/agent-crash.sh [trials=50]   (CRASH_SEED=S repeats a run's random choices)
# Needs podman and docker-compose, as CI has. The mvn build before the test is not part of the times.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
work_dir agent-crash
TRIALS=${1:-50}
echo "bench: $TRIALS trials (mvn -o test of AgentCrashTest, compiling what changed first)..." >&2
status=0
(cd "$REPO" && CI=true mvn -B -o -q -pl gateway -am test -Dtest=AgentCrashTest -Dsurefire.failIfNoSpecifiedTests=false \
    -Dsurefire.timeout=$(( 900 + TRIALS * 240 )) -Dagent.crash.trials="$TRIALS" -Dagent.crash.report="$WORK/result.txt" \
    ${CRASH_SEED:+-Dcrash.seed=$CRASH_SEED}) > "$WORK/mvn.log" 2>&1 || status=$?
grep -v ': consistent' "$WORK/result.txt" >&2 || true
if ! grep -q '^agent-crash:' "$WORK/result.txt"; then
  echo "the run ended early (mvn exit $status): $(grep -c ': consistent' "$WORK/result.txt" || true) trials consistent so far" >&2
  grep -v ' WARN ' "$WORK/mvn.log" | tail -40 >&2
  exit 1
fi
grep '^agent-crash:' "$WORK/result.txt"
machine
exit "$status"
