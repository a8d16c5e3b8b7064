#!/usr/bin/env bash
# Benchmark 6: recovery time of a Device entity with N journal events (default 10,000) on the embedded H2 database,
# with the entity's snapshots and without them. Runs the server in-process (RecoveryBench) and restarts it.
# Usage: bench/entity-recovery.sh [events=10000] [restarts=3]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
work_dir recovery
build
# the server jar carries every dependency; the bench classes and TestServers come from the test classes
CP="$REPO/gateway/target/test-classes:$SERVER_JAR"
java ${BENCH_JAVA_OPTS:-} -cp "$CP" io.flotilla.gateway.bench.RecoveryBench "$WORK/data" "${1:-10000}" "${2:-3}" 2> "$WORK/recovery.log" \
  | grep -v '^# stop' || { tail -30 "$WORK/recovery.log" >&2; exit 1; }
machine
