#!/usr/bin/env bash
# Benchmark 1: check-in throughput. GET /repo/targets.json with the device headers over keep-alive mTLS connections,
# closed loop (each simulated device asks again as soon as it has its answer), against the Flotilla device port and
# against a bare pekko-http endpoint with the same TLS setup answering a constant, alternating, same machine.
# Usage: bench/checkin-throughput.sh [connections=32] [seconds=20] [rounds=2]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
CONNS=${1:-32}; SECONDS_PER_RUN=${2:-20}; ROUNDS=${3:-2}
work_dir checkin
build
start_server "$WORK/server"
seed_factory bench
publish_target bench main
BARE_PORT=$(free_port)
java ${BARE_JAVA_OPTS:-} -cp "$SERVER_JAR:$REPO/gateway/target/test-classes" io.flotilla.gateway.bench.BareTlsServer "$WORK/server" "$BARE_PORT" > "$WORK/bare.log" 2>&1 &
PIDS+=($!)
sleep 3

run() { # NAME URL SECONDS REPORT
  simulate bench "$WORK/fleet" "$2" --devices "$CONNS" --poll 0 --connections keepalive --start-current \
    --duration "${3}s" --progress 5s --report-json "$4" > "$WORK/$1.log" 2>&1 || { echo "simulator failed ($1):" >&2; tail -5 "$WORK/$1.log" >&2; }
}
# warm-up (and registration) against both, then measured rounds alternating
run warm-flotilla "https://127.0.0.1:$DEVICE_PORT" 10 "$WORK/warm1.json"
run warm-bare "https://127.0.0.1:$BARE_PORT" 10 "$WORK/warm2.json"
echo "| round | endpoint | check-ins/s | p50 ms | p99 ms | errors |"
echo "|---|---|---|---|---|---|"
for r in $(seq 1 "$ROUNDS"); do
  for target in flotilla bare; do
    port=$DEVICE_PORT; [[ $target == bare ]] && port=$BARE_PORT
    run "$target-$r" "https://127.0.0.1:$port" "$SECONDS_PER_RUN" "$WORK/$target-$r.json"
    echo "| $r | $target | $(json "$WORK/$target-$r.json" "f\"{r['achievedRatePerSecond']:.0f} | {r['latency']['p50Ms']:.2f} | {r['latency']['p99Ms']:.2f} | {sum(r['errors'].values())}\"") |"
  done
done
python3 - "$WORK" "$ROUNDS" <<'PY'
import json, sys
work, rounds = sys.argv[1], int(sys.argv[2])
best = {t: max(json.load(open(f"{work}/{t}-{r}.json"))["achievedRatePerSecond"] for r in range(1, rounds + 1)) for t in ("flotilla", "bare")}
print(f"\nbest flotilla {best['flotilla']:.0f}/s, best bare {best['bare']:.0f}/s, ratio {best['flotilla'] / best['bare']:.2f} (target >= 0.6)")
PY
machine
