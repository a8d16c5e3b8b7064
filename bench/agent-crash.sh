#!/usr/bin/env bash
# Benchmark: does the server see what the device runs after the agent is SIGKILLed at random points of real updates,
# and after updates that end while the device gateway is unreachable? Runs AgentCrashTest (the real server in-process,
# podman's Docker API, the agent CLI in its own JVM; see docs/agent.md "Tests") for N trials in all (default 50), in
# rounds of at most 12 trials (each round is one test JVM, under surefire's 20-minute fork limit, with its own
# server, podman and device), and sums the rounds' result lines.
# Each round compiles what changed first (mvn -o test); the times are the trials' own.
# Usage: bench/agent-crash.sh [trials=50]   (CRASH_SEED=S repeats a run's random choices, round by round)
# Needs podman and docker-compose, as CI has.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
work_dir agent-crash
TRIALS=${1:-50}
ROUND=12
total=0; consistent=0; outages=0; killed=0; seconds=0; round=0
while (( total < TRIALS )); do
  n=$(( TRIALS - total < ROUND ? TRIALS - total : ROUND ))
  round=$(( round + 1 ))
  echo "bench: round $round, $n trials..." >&2
  status=0
  (cd "$REPO" && CI=true mvn -B -o -q -pl gateway -am test -Dtest=AgentCrashTest -Dsurefire.failIfNoSpecifiedTests=false \
      -Dagent.crash.trials="$n" -Dagent.crash.report="$WORK/round-$round.txt" ${CRASH_SEED:+-Dcrash.seed=$((CRASH_SEED + round))}) \
      > "$WORK/round-$round.log" 2>&1 || status=$?
  if [[ ! -s "$WORK/round-$round.txt" ]]; then
    echo "round $round ended without a result (mvn exit $status):" >&2
    grep -v ' WARN ' "$WORK/round-$round.log" | tail -40 >&2
    exit 1
  fi
  line=$(head -1 "$WORK/round-$round.txt")
  echo "  $line" >&2
  tail -n +2 "$WORK/round-$round.txt" | sed 's/^/  /' >&2
  field() { sed -E "s/.* $1=([0-9]+).*/\1/" <<< "$line"; }
  total=$(( total + $(field trials) )); consistent=$(( consistent + $(field consistent) ))
  outages=$(( outages + $(field outages) )); killed=$(( killed + $(field killed) )); seconds=$(( seconds + $(field seconds) ))
done
echo "agent-crash: trials=$total consistent=$consistent outages=$outages killed=$killed trial-seconds=$seconds rounds=$round"
machine
[[ $consistent == "$total" ]]
