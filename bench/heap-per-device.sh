#!/usr/bin/env bash
# Benchmark 3: heap per active Device entity. Registers N devices (default 100,000), restarts the server so no entity
# is in memory, warms it up with the first W devices (default 1,000: a cold JVM's first TLS handshakes time out under
# load, and what the warm-up allocates once is then in both histograms), takes a heap histogram (jcmd
# GC.class_histogram, which runs a full GC first), lets every device check in once over mTLS, takes a second
# histogram, and divides the growth by the number of Device entities it added (counted in the histograms, so devices
# whose check-in timed out do not flatter the figure). The active-entity limit is raised above N so that no entity
# is passivated during the measurement. Then (FLOOR=off skips it) the same number of entities of three types in one
# in-process node (EntityHeapBench): a plain sharded typed actor, the smallest event-sourced entity and the Device
# entity, which shows how much of the figure is Pekko's own cost of an event-sourced sharded entity.
# Usage: bench/heap-per-device.sh [devices=100000] [check-ins-per-second=1000] [warm-up devices=1000]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
N=${1:-100000}; RATE=${2:-1000}; WARMUP=${3:-1000}
work_dir heap
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
if (( WARMUP > 0 )); then
  simulate heap "$WORK/fleet" "https://127.0.0.1:$DEVICE_PORT" --devices "$WARMUP" --ramp "$(( (WARMUP + RATE - 1) / RATE ))s" --poll 3600s \
    --start-current --duration "$(( (WARMUP + RATE - 1) / RATE + 10 ))s" --progress 10s > "$WORK/warmup.log" 2>&1 || true
  sleep 5
fi
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
device = "io.flotilla.core.device.Device"
entities = max(1, after.get(device, (0, 0))[0] - before.get(device, (0, 0))[0])
print(f"check-ins {r['checkIns']} of {n} devices, errors {r['errors'] or 'none'}, Device entities added {entities}")
print(f"| devices checked in | entities added | heap before (MiB) | heap after (MiB) | growth per entity (bytes) | per check-in | target |")
print(f"|---|---|---|---|---|---|---|")
print(f"| {r['checkIns']} | {entities} | {tb/1048576:.0f} | {ta/1048576:.0f} | {(ta-tb)/entities:.0f} | {(ta-tb)/max(1,r['checkIns']):.0f} | <= 2048 |")
growth = sorted(((after.get(k, (0, 0))[1] - before.get(k, (0, 0))[1], after.get(k, (0, 0))[0] - before.get(k, (0, 0))[0], k) for k in after), reverse=True)[:20]
print("\nlargest growth by class (bytes per entity, instances per entity):")
for bytes_, count, name in growth:
    print(f"  {bytes_/entities:8.1f} B  {count/entities:6.2f}  {name}")
PY
if [[ "${FLOOR:-on}" == on ]]; then
  stop_server
  echo
  echo "Pekko's floor: $N entities of each type in one in-process node (EntityHeapBench)"
  rm -rf "$WORK/floor"
  java -Xmx4g -cp "$REPO/gateway/target/test-classes:$SERVER_JAR" io.flotilla.gateway.bench.EntityHeapBench "$WORK/floor" "$N" \
    2> "$WORK/floor.log" | grep -v '^# stop' || { tail -30 "$WORK/floor.log" >&2; exit 1; }
fi
machine
echo "work dir (reusable with BENCH_WORK=$WORK): $WORK"
