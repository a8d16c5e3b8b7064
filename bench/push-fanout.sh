#!/usr/bin/env bash
# Benchmark 4: push fan-out. N simulated devices keep a WebSocket open (GET /ws over mTLS); a target is published
# through the API; measured is the time from the API's answer to the moment the last pushed device has fetched the
# new targets.json (each over a new TLS connection, as a woken-up device does).
# Usage: bench/push-fanout.sh [devices=15000] [ramp-seconds=60]   (extra simulator flags: SIM_FLAGS=--tls-resumption)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
N=${1:-15000}; RAMP=${2:-60}
WORK=$(mktemp -d /tmp/bench-push.XXXXXX)
trap 'cleanup; rm -rf "$WORK"' EXIT
build
start_server "$WORK/server"
seed_factory push
publish_target push main
# registration first (its own run), so the measured run only connects
simulate push "$WORK/fleet" "https://127.0.0.1:$DEVICE_PORT" --devices "$N" --duration 1s --poll 600s --register-concurrency 32 \
  > "$WORK/register.log" 2>&1 || true
grep -E "registered [0-9]+ devices in" "$WORK/register.log" || { tail -5 "$WORK/register.log" >&2; exit 1; }
DURATION=$((RAMP + 60))
simulate push "$WORK/fleet" "https://127.0.0.1:$DEVICE_PORT" --devices "$N" ${SIM_FLAGS:-} --websocket-fraction 1 --ramp "${RAMP}s" --poll 3600s \
  --start-current --duration "${DURATION}s" --progress 2s --timeout 60s --report-json "$WORK/report.json" > "$WORK/sim.log" 2>&1 &
SIM=$!
PIDS+=("$SIM")
for _ in $(seq 1 $((DURATION * 2))); do
  grep -q "websockets=$N\b" "$WORK/sim.log" && break
  sleep 0.5
done
grep -q "websockets=$N\b" "$WORK/sim.log" || { echo "only $(grep -o 'websockets=[0-9]*' "$WORK/sim.log" | tail -1) opened" >&2; }
sleep 2
PUBLISHED=$(python3 -c 'import time; print(int(time.time()*1000))')
publish_target push main
wait "$SIM" || true
python3 - "$WORK/report.json" "$PUBLISHED" "$N" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); published = int(sys.argv[2]); n = int(sys.argv[3])
pushes = [p for p in r["pushes"] if p["devicesPushed"] > 0]
print("| devices with WebSocket | pushed | fetched new targets.json | publish -> first push ms | publish -> last fetch ms | errors |")
print("|---|---|---|---|---|---|")
for p in pushes:
    print(f"| {r['peakWebSockets']} | {p['devicesPushed']} | {p['devicesFetched']} | {p['firstPushEpochMs'] - published} | {p['lastFetchEpochMs'] - published} | {sum(r['errors'].values())} {r['errors'] or ''} |")
if not pushes:
    print(f"no push arrived; errors {r['errors']}")
print(f"\ntarget: <= 2000 ms for 15000 devices")
PY
machine
