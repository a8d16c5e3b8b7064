#!/usr/bin/env bash
# What durable commits cost on H2: target POSTs/s and device events/s with H2's old commit delay (WRITE_DELAY
# 500 ms: a commit returns before it is written, and a killed process loses it) against the node's setting (0: each
# commit written before the answer). Each round starts a fresh server; the two settings alternate.
# Usage: bench/durability-cost.sh [seconds=20] [rounds=1] [connections=16]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SECS=${1:-20}; ROUNDS=${2:-1}; CONNS=${3:-16}
work_dir durability-cost
build

# post_targets SECONDS CONNECTIONS: POST /targets over keep-alive connections for SECONDS; prints the 201s per second.
post_targets() {
  python3 - "$HTTP_PORT" "$ADMIN" "$1" "$2" <<'PY'
import http.client, json, sys, threading, time
port, token, secs, conns = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
body = json.dumps({"tags": ["main"], "apps": {"app": "127.0.0.1/cost/app@sha256:" + "ab" * 32}})
headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
done = [0] * conns
end = time.monotonic() + secs
def run(i):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.monotonic() < end:
        c.request("POST", "/api/v1/factories/cost/targets", body, headers)
        r = c.getresponse(); r.read()
        if r.status == 201:
            done[i] += 1
threads = [threading.Thread(target=run, args=(i,)) for i in range(conns)]
[t.start() for t in threads]; [t.join() for t in threads]
print(f"{sum(done) / secs:.1f}")
PY
}

declare -A TARGETS EVENTS
for round in $(seq 1 "$ROUNDS"); do
  for delay in 500ms 0ms; do
    dir="$WORK/$delay-$round"
    SERVER_JAVA_OPTS="-Dflotilla.db.h2-write-delay=$delay" start_server "$dir"
    seed_factory cost
    t=$(post_targets "$SECS" "$CONNS")
    simulate cost "$dir/fleet" "https://127.0.0.1:$DEVICE_PORT" --devices "$CONNS" --scenario events --poll 0 \
      --connections keepalive --duration 10s > "$dir/warm.log" 2>&1 || true
    simulate cost "$dir/fleet" "https://127.0.0.1:$DEVICE_PORT" --devices "$CONNS" --scenario events --poll 0 \
      --connections keepalive --duration "${SECS}s" --report-json "$dir/report.json" > "$dir/sim.log" 2>&1 || true
    e=$(json "$dir/report.json" "round(r['events'] / r['durationSeconds'], 1)")
    stop_server
    TARGETS[$delay]+="$t "; EVENTS[$delay]+="$e "
    echo "round $round, H2 write delay $delay: $t target POSTs/s, $e device events/s" >&2
  done
done
best() { tr ' ' '\n' | grep -v '^$' | sort -g | tail -1; }
echo "| H2 commit write delay | target POSTs/s (best of $ROUNDS, $CONNS connections) | device events/s (best of $ROUNDS, $CONNS devices) |"
echo "|---|---|---|"
for delay in 500ms 0ms; do
  echo "| $delay$([[ $delay == 0ms ]] && echo ' (the node'"'"'s setting)' || echo ' (H2 default, loses writes on kill)') | $(echo "${TARGETS[$delay]}" | best) | $(echo "${EVENTS[$delay]}" | best) |"
done
machine
