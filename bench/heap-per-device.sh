#!/usr/bin/env bash
# Benchmark 3: heap per active Device entity. Registers N devices (default 100,000), restarts the server so no entity
# is in memory, takes a heap histogram (jcmd GC.class_histogram, which runs a full GC first), lets every device check
# in once over mTLS, takes a second histogram, and divides the growth by N. The active-entity limit is raised
# above N so that no entity is passivated during the measurement.
# Usage: bench/heap-per-device.sh [devices=100000] [check-ins-per-second=1000]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
N=${1:-100000}; RATE=${2:-1000}
WORK=${BENCH_WORK:-$(mktemp -d /tmp/bench-heap.XXXXXX)}
trap 'cleanup' EXIT
build
LIMIT=$((N * 2))
cat > "$WORK/heap.conf" <<CONF
include classpath("application.conf")
flotilla.device.active-entity-limit = $LIMIT
pekko.cluster.sharding.passivation.default-strategy.active-entity-limit = $LIMIT
CONF
start_server "$WORK/server" "$WORK/heap.conf"
seed_factory heap
publish_target heap main
START=$(date +%s)
simulate heap "$WORK/fleet" "https://127.0.0.1:$DEVICE_PORT" --devices "$N" --duration 1s --poll 3600s --register-concurrency 32 \
  --progress 30s > "$WORK/register.log" 2>&1 || true
grep -E "registered [0-9]+ devices in|known from" "$WORK/register.log" | tail -1 || true
stop_server
start_server "$WORK/server" "$WORK/heap.conf"
sleep 5
jcmd "$SERVER_PID" GC.class_histogram > "$WORK/before.txt"
RAMP=$(( (N + RATE - 1) / RATE ))
simulate heap "$WORK/fleet" "https://127.0.0.1:$DEVICE_PORT" --devices "$N" --ramp "${RAMP}s" --poll 3600s --start-current \
  --duration "$((RAMP + 10))s" --progress 10s --report-json "$WORK/report.json" > "$WORK/sim.log" 2>&1 || true
sleep 5
jcmd "$SERVER_PID" GC.class_histogram > "$WORK/after.txt"
python3 - "$WORK" "$N" <<'PY'
import json, re, sys
work, n = sys.argv[1], int(sys.argv[2])
def histogram(path):
    rows, total = {}, 0
    for line in open(path):
        m = re.match(r"\s*\d+:\s+(\d+)\s+(\d+)\s+(\S+)", line)
        if m:
            rows[m.group(3)] = (int(m.group(1)), int(m.group(2)))
        elif line.startswith("Total"):
            total = int(line.split()[2])
    return rows, total
before, tb = histogram(f"{work}/before.txt")
after, ta = histogram(f"{work}/after.txt")
r = json.load(open(f"{work}/report.json"))
print(f"check-ins {r['checkIns']} of {n} devices, errors {r['errors'] or 'none'}")
print(f"| devices checked in | heap before (MiB) | heap after (MiB) | growth per device (bytes) | target |")
print(f"|---|---|---|---|---|")
print(f"| {r['checkIns']} | {tb/1048576:.0f} | {ta/1048576:.0f} | {(ta-tb)/max(1,r['checkIns']):.0f} | <= 2048 |")
growth = sorted(((after.get(k, (0, 0))[1] - before.get(k, (0, 0))[1], after.get(k, (0, 0))[0] - before.get(k, (0, 0))[0], k) for k in after), reverse=True)[:15]
print("\nlargest growth by class (bytes per device, instances per device):")
for bytes_, count, name in growth:
    print(f"  {bytes_/max(1,r['checkIns']):8.1f} B  {count/max(1,r['checkIns']):6.2f}  {name}")
PY
machine
echo "work dir (reusable with BENCH_WORK=$WORK): $WORK"
