#!/usr/bin/env bash
# Benchmark 5: update-event ingest through POST /events on PostgreSQL against plain JDBC inserts of the same journal
# rows into the same database. Starts Debian's PostgreSQL (initdb in a temp dir, run as the postgres user), the
# server on it, and the simulator in its "events" scenario: every cycle posts one full update sequence (7 events).
# Usage: bench/event-ingest.sh [connections=32] [seconds=30]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
CONNS=${1:-32}; SECS=${2:-30}
WORK=$(mktemp -d /tmp/bench-ingest.XXXXXX)
chmod 755 "$WORK"
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PG_PORT=$(free_port)
trap 'cleanup; runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pg" -m fast stop >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
build
mkdir -p "$WORK/pg" && chown postgres "$WORK/pg"
runuser -u postgres -- "$PG_BIN/initdb" -D "$WORK/pg" -U flotilla --auth=trust >/dev/null
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pg" -o "-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1" -l "$WORK/pg/server.log" start >/dev/null
psql -h 127.0.0.1 -p "$PG_PORT" -U flotilla -d postgres -qc "CREATE DATABASE flotilla" >/dev/null
export FLOTILLA_DB_URL="jdbc:postgresql://127.0.0.1:$PG_PORT/flotilla" FLOTILLA_DB_USER=flotilla
start_server "$WORK/server" "$REPO/conf/postgres.conf"
seed_factory ingest
simulate ingest "$WORK/fleet" "https://127.0.0.1:$DEVICE_PORT" --devices "$CONNS" --scenario events --poll 0 \
  --connections keepalive --duration 10s > "$WORK/warm.log" 2>&1 || true
simulate ingest "$WORK/fleet" "https://127.0.0.1:$DEVICE_PORT" --devices "$CONNS" --scenario events --poll 0 \
  --connections keepalive --duration "${SECS}s" --report-json "$WORK/report.json" > "$WORK/sim.log" 2>&1 || true
FLOTILLA=$(json "$WORK/report.json" "r['events'] / r['durationSeconds']")
stop_server
java -cp "$REPO/gateway/target/test-classes:$SERVER_JAR" io.flotilla.gateway.bench.JournalInsertBench \
  "$FLOTILLA_DB_URL" flotilla "" "$SECS" 8 > "$WORK/jdbc.txt"
python3 - "$WORK/report.json" "$WORK/jdbc.txt" "$FLOTILLA" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); flotilla = float(sys.argv[3])
jdbc = dict(line.split() for line in open(sys.argv[2]) if line.startswith("batch-"))
print(open(sys.argv[2]).readline().strip())
print("| path | journal rows/s | update events/s | p50 ms | p99 ms | errors |")
print("|---|---|---|---|---|---|")
print(f"| POST /events (7 events a request, {r['devices']} keep-alive connections) | {flotilla/7:.0f} | {flotilla:.0f} | {r['latency']['p50Ms']:.1f} | {r['latency']['p99Ms']:.1f} | {sum(r['errors'].values())} |")
for mode, rows in jdbc.items():
    rows = float(rows)
    print(f"| plain JDBC, {mode.replace('-', ' ')} row(s) a transaction, 8 connections | {rows:.0f} | {rows*7:.0f} | | | |")
b100 = float(jdbc["batch-100"]) * 7; b1 = float(jdbc["batch-1"]) * 7
print(f"\nratio vs JDBC batch-100: {flotilla/b100:.2f} (target >= 0.5); vs one row a transaction: {flotilla/b1:.2f}")
PY
machine
