#!/usr/bin/env bash
# Benchmark 2: a fleet on one node. N simulated devices poll targets.json, each check-in on a new mutual-TLS
# connection (a real device polling every 300 s finds its previous connection closed). The check-in rate is raised
# step by step (shorter polling interval over the same registered devices) until p99 > 100 ms or errors appear.
# 1,000,000 devices polling every 300 s is 3,333 check-ins/s; the table gives each step's devices-every-300-s
# equivalent. The simulator runs on the same 2 cores as the server and takes its share of the CPU.
# Usage: bench/fleet-one-node.sh [devices=15000] [seconds-per-step=60] [rates="500 1000 1500 2000 2500 3333"]
# TLS_RESUMPTION=off|on|both (default both) picks how the devices connect; with both, every rate runs off then on:
#   off: every check-in is a full TLS handshake (the worst case: a device that keeps no TLS session, e.g. fioup
#        started per check or an agent just restarted);
#   on:  each device resumes its previous TLS 1.3 session (a long-running agent, whose HTTP client keeps its
#        sessions); the step first warms up for one polling interval (at least 30 s) so every device holds a
#        session ticket.
# A mode stops at its first step with p99 > 100 ms or errors; the other goes on. Server CPU is sampled over the
# measured part only. Extra simulator flags through SIM_FLAGS. BENCH_WORK=DIR keeps and reuses the server data and
# the registered devices between runs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
N=${1:-15000}; STEP=${2:-60}; RATES=${3:-"500 1000 1500 2000 2500 3333"}
case ${TLS_RESUMPTION:-both} in
  off) MODES=(off) ;; on) MODES=(on) ;; both) MODES=(off on) ;;
  *) echo "TLS_RESUMPTION must be off, on or both" >&2; exit 2 ;;
esac
work_dir fleet
build
start_server "$WORK/server"
seed_factory fleet
api GET /api/v1/factories/fleet/targets | grep -q amd64-linux || publish_target fleet main
simulate fleet "$WORK/fleet" "https://127.0.0.1:$DEVICE_PORT" --devices "$N" --duration 1s --poll 3600s --register-concurrency 32 \
  --progress 30s > "$WORK/register.log" 2>&1 || true
grep -E "registered [0-9]+ devices in" "$WORK/register.log" || true
# two warm-up passes: every device entity exists, and the JIT has compiled the handshake's EC arithmetic (a cold
# JVM answers its first few thousand handshakes several times slower)
for pass in 1 2; do
  simulate fleet "$WORK/fleet" "https://127.0.0.1:$DEVICE_PORT" --devices "$N" --ramp "$((N / 50))s" --poll 3600s --start-current \
    --duration "$((N / 50 + 10))s" > "$WORK/warm-$pass.log" 2>&1 || true
done
echo "| resumption | check-ins/s intended | achieved | devices | poll s | = devices at 300 s | p50 ms | p99 ms | p99.9 ms | handshakes full / resumed | errors | server CPU % | server CPU ms per check-in |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
declare -A STOPPED=()
for rate in $RATES; do
  for mode in "${MODES[@]}"; do
    [[ -n "${STOPPED[$mode]:-}" ]] && continue
    poll=$(python3 -c "print(max(1, round($N / $rate)))")
    flags=()
    # at least 30 s: a fresh simulator JVM makes each device's first (full) handshake cold, which at short polling
    # intervals spills into the measured window otherwise
    [[ $mode == on ]] && flags=(--tls-resumption --warm-up "$(( poll > 30 ? poll : 30 ))s")
    log="$WORK/step-$rate-$mode.log"; report="$WORK/step-$rate-$mode.json"
    simulate fleet "$WORK/fleet" "https://127.0.0.1:$DEVICE_PORT" --devices "$N" --poll "${poll}s" --start-current \
      --duration "${STEP}s" --timeout 10s "${flags[@]}" ${SIM_FLAGS:-} --report-json "$report" > "$log" 2>&1 &
    sim=$!
    PIDS+=("$sim")
    until grep -q "^measuring for" "$log" 2>/dev/null || ! kill -0 "$sim" 2>/dev/null; do sleep 0.2; done
    cpu0=$(awk '{print $14+$15}' /proc/$SERVER_PID/stat)
    sleep "$STEP"
    cpu1=$(awk '{print $14+$15}' /proc/$SERVER_PID/stat)
    wait "$sim" || true
    ticks=$((cpu1 - cpu0))
    line=$(json "$report" "f\"{r['intendedRatePerSecond']:.0f} | {r['achievedRatePerSecond']:.0f} | {r['devices']} | {r['pollSeconds']:.0f} | {r['achievedRatePerSecond']*300:,.0f} | {r['latency']['p50Ms']:.1f} | {r['latency']['p99Ms']:.1f} | {r['latency']['p999Ms']:.1f} | {r['fullHandshakes']} / {r['resumedHandshakes']} | {sum(r['errors'].values())} {r['errors'] or ''} | {$ticks / $STEP:.0f} | {$ticks * 10 / max(1, r['achievedRatePerSecond'] * $STEP):.1f}\"")
    echo "| $mode | $line |"
    if json "$report" "'stop' if r['latency']['p99Ms'] > 100 or sum(r['errors'].values()) > 0 else 'go'" | grep -q stop; then
      echo "(resumption $mode stopped: p99 > 100 ms or errors at $rate/s)"
      STOPPED[$mode]=1
    fi
  done
  [[ ${#STOPPED[@]} -eq ${#MODES[@]} ]] && break
done
machine
