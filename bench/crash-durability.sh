#!/usr/bin/env bash
# The crash test for longer: the real server in a child JVM takes every kind of write at once (device events over
# mTLS, registrations, targets, factory tokens, git pushes, registry blobs and manifests), is SIGKILLed at a random
# moment, restarted on the same data dir, and every acknowledged write is looked for. Prints a line per trial and a
# summary; fails if any acknowledged write is lost. Runs CrashDurabilityOn{H2,Postgres}Test through Maven.
# Usage: bench/crash-durability.sh [trials=200] [h2|postgres=h2]
#   CRASH_SEED=N repeats a run's kill moments; CRASH_H2_WRITE_DELAY=500ms runs H2 with its old commit delay (loses
#   writes: that is what it shows).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
TRIALS=${1:-200}; DB=${2:-h2}
case "$DB" in
  h2) TEST=CrashDurabilityOnH2Test ;;
  postgres) TEST=CrashDurabilityOnPostgresTest ;;
  *) echo "usage: $0 [trials] [h2|postgres]" >&2; exit 2 ;;
esac
ARGS=(-Dflotilla.crash.trials="$TRIALS" -Dflotilla.crash.progress=true)
[[ -n "${CRASH_SEED:-}" ]] && ARGS+=(-Dflotilla.crash.seed="$CRASH_SEED")
[[ -n "${CRASH_H2_WRITE_DELAY:-}" ]] && ARGS+=(-Dflotilla.crash.h2-write-delay="$CRASH_H2_WRITE_DELAY")
LOG=$(mktemp /tmp/bench-crash.XXXXXX.log)
trap 'rm -f "$LOG"' EXIT
status=0
(cd "$REPO" && mvn -B -o -q -pl gateway -am test -Dtest="$TEST" -Dsurefire.failIfNoSpecifiedTests=false \
  -Dsurefire.timeout=0 "${ARGS[@]}") > "$LOG" 2>&1 || status=$?
grep -E '^crash (trial|durability|check)' "$LOG" || true
if [[ $status -ne 0 ]]; then
  grep -E 'AssertionFailedError|ERROR\]' "$LOG" | head -5 >&2
fi
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(java -version 2>&1 | head -1), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)"
exit $status
