#!/usr/bin/env bash
# Benchmark 4: push fan-out. N simulated devices keep a WebSocket open (GET /ws over mTLS); a target is published
# through the API; measured is the time from the API's answer to the moment the last pushed device has fetched the
# new targets.json (each over a new TLS connection, as a woken-up device does: §8 says it checks at once).
# Usage: bench/push-fanout.sh [devices=15000] [ramp-seconds=60]   (extra simulator flags: SIM_FLAGS=...; BENCH_WORK=DIR
# keeps the server data and the registered devices for the next run; FETCH_SECONDS, below)
# TLS_RESUMPTION=on (default) resumes each device's TLS 1.3 session for its WebSocket and its fetch, as the agent's
# daemon does (one HTTP client, one SSLContext, for the life of the process); TLS_RESUMPTION=off makes every
# connection a full handshake (the worst case).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
N=${1:-15000}; RAMP=${2:-60}
case ${TLS_RESUMPTION:-on} in
  on) RESUME=(--tls-resumption) ;; off) RESUME=() ;;
  *) echo "TLS_RESUMPTION must be on or off" >&2; exit 2 ;;
esac
work_dir push
build
start_server "$WORK/server"
seed_factory push
publish_target push main
# registration first (its own run), so the measured run only connects
simulate push "$WORK/fleet" "https://127.0.0.1:$DEVICE_PORT" --devices "$N" --duration 1s --poll 600s --register-concurrency 32 \
  > "$WORK/register.log" 2>&1 || true
grep -E "registered [0-9]+ devices in|^devices $N " "$WORK/register.log" || { tail -5 "$WORK/register.log" >&2; exit 1; }
# the sockets open by the end of the ramp; the rest is time for the push and the fetches (FETCH_SECONDS, default 90:
# at the ~90 fetches a second this machine serves, 15,000 devices need FETCH_SECONDS=300 to all have fetched)
DURATION=$((RAMP + ${FETCH_SECONDS:-90}))
simulate push "$WORK/fleet" "https://127.0.0.1:$DEVICE_PORT" --devices "$N" "${RESUME[@]}" ${SIM_FLAGS:-} --websocket-fraction 1 --ramp "${RAMP}s" --poll 3600s \
  --start-current --duration "${DURATION}s" --progress 2s --timeout 60s --report-json "$WORK/report.json" > "$WORK/sim.log" 2>&1 &
SIM=$!
PIDS+=("$SIM")
# publish once every socket is open, or 30 s after the ramp at the latest, leaving the fetches a minute
for _ in $(seq 1 $(((RAMP + 30) * 2))); do
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
print(f"\nsimulator: at most {r['connectionLimit']} connections open at once (its descriptor limit), {r['connectionsWaited']} opens waited for a close")
print(f"target: <= 2000 ms for 15000 devices")
PY
machine
