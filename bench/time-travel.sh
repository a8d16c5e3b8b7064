#!/usr/bin/env bash
# Benchmark: journal time travel and a projection rebuild on one in-process node (embedded H2): N devices with E
# status changes each (snapshots every 50 events), the fleet at a moment (GET /status?at=T's FleetHistory, every
# page) at the end and half-way, then `projections rebuild devices` until caught up (TimeTravelBench).
# Usage: bench/time-travel.sh [devices=1000] [events=60]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
work_dir time-travel
build
CP="$REPO/gateway/target/test-classes:$SERVER_JAR"
java ${BENCH_JAVA_OPTS:-} -cp "$CP" io.flotilla.gateway.bench.TimeTravelBench "$WORK/data" "${1:-1000}" "${2:-60}" 2> "$WORK/time-travel.log" \
  | grep -v '^# stop' || { tail -30 "$WORK/time-travel.log" >&2; exit 1; }
machine
