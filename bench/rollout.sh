#!/usr/bin/env bash
# Benchmark: staged rollouts with the fleet simulator. N devices on tag wave run target 1. A rollout 1% -> 10% -> 100%
# of target 2, which fails on 30% of the devices, must halt in its first phase with no device outside that phase ever
# reporting target 2, and (rollback) every device must be back on target 1; the time from the error threshold crossed
# (when the server received the failure that crossed it) to the halt is reported. Then a rollout of a good target 3
# completes, with the time each phase took.
# Usage: bench/rollout.sh [devices=20000] [poll seconds=5]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
DEVICES=${1:-20000}; POLL=${2:-5}
work_dir rollout
build
start_server "$WORK/server"
seed_factory bench
publish_target bench wave            # amd64-linux-1
F=/api/v1/factories/bench
simulate bench "$WORK/fleet" "https://127.0.0.1:$DEVICE_PORT" --devices "$DEVICES" --poll "${POLL}s" --tag wave \
  --start-current --ramp "${POLL}s" --duration 3600s --progress 30s --register-concurrency 32 \
  --fail-target amd64-linux-2 --fail-share 0.3 > "$WORK/sim.log" 2>&1 &
SIM=$!
# the simulator's java is a child of the subshell that runs the function: stop both on exit
sleep 1; PIDS+=("$SIM" $(pgrep -P "$SIM" java || true))

count() { # QUERY: devices listed (walks the pages)
  python3 - "$HTTP_PORT" "$ADMIN" "$1" <<'PY'
import json, sys, urllib.request
port, token, query = sys.argv[1:]
n, cursor = 0, None
while True:
    url = f"http://127.0.0.1:{port}/api/v1/factories/bench/devices?limit=1000&{query}" + (f"&cursor={cursor}" if cursor else "")
    r = json.load(urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})))
    n += len(r["devices"]); cursor = r.get("nextCursor")
    if not cursor: break
print(n)
PY
}
wait_for() { # SECONDS CONDITION-COMMAND...
  local limit=$1; shift
  for _ in $(seq 1 "$limit"); do "$@" && return 0; kill -0 "$SIM" || { tail -20 "$WORK/sim.log" >&2; exit 1; }; sleep 1; done
  echo "timed out: $*" >&2; return 1
}
on_v1() { [[ $(count "tag=wave&target=amd64-linux-1") -ge $DEVICES ]]; }
start=$(date +%s)
wait_for 3600 on_v1
echo "fleet: $DEVICES devices on tag wave, target 1, after $(( $(date +%s) - start )) s"

status() { api GET "$F/rollouts/$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['status'])"; }
is() { [[ $(status "$1") == "$2" ]]; }

api POST "$F/rollouts" '{"id":"bad","tag":"wave","version":2,"growth":[1,10,100],"errorShare":0.2,
  "successShare":0.95,"successWithinSeconds":600,"rollback":true}' > /dev/null
publish_target bench wave            # amd64-linux-2
wait_for 600 is bad halted
api GET "$F/rollouts/bad" > "$WORK/bad.json"
on_v1_again() { [[ $(count "target=amd64-linux-2") -eq 0 ]]; }
halted=$(date +%s)
wait_for 600 on_v1_again
back=$(( $(date +%s) - halted ))
python3 - "$WORK/bad.json" "$back" <<'PY'
import json, sys
from datetime import datetime
r = json.load(open(sys.argv[1]))
t = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))
phases = r["progress"]["phases"]
print(f"bad target: status {r['status']}, phases started {r['startedPhases']}, reason: {r['haltReason']}")
for p in phases:
    print(f"  {p['name']}: targeted {p['targeted']} updated {p['updated']} failed {p['failed']} pending {p['pending']}")
outside = sum(p["updated"] + p["failed"] for p in phases[r["startedPhases"]:])
print(f"  halted in phase {r['startedPhases']}; devices outside the started phases that reported target 2: {outside}")
print(f"  threshold crossed -> halted: {(t(r['haltedAt']) - t(r['thresholdCrossedAt'])).total_seconds() * 1000:.0f} ms")
print(f"  every device back on target 1 {sys.argv[2]} s after the halt was seen (rollback; devices poll)")
PY

api POST "$F/rollouts" '{"id":"good","tag":"wave","version":3,"growth":[1,10,100],"errorShare":0.2,
  "successShare":0.95,"successWithinSeconds":600}' > /dev/null
publish_target bench wave            # amd64-linux-3
wait_for 1800 is good completed
api GET "$F/rollouts/good/events" > "$WORK/good-events.json"
python3 - "$WORK/good-events.json" <<'PY'
import json, sys
from datetime import datetime
events = json.load(open(sys.argv[1]))["events"]
t = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))
marks = [(e["type"], e["event"].get("index"), t(e["at"])) for e in events if e["type"] in ("PhaseStarted", "Completed")]
print("good target: completed")
for (kind, index, at), (_, _, end) in zip(marks, marks[1:]):
    print(f"  phase {index + 1}: {(end - at).total_seconds():.1f} s")
PY
machine
