#!/usr/bin/env bash
# The long chaos run: three nodes on PostgreSQL behind HAProxy (bin/flotilla-cluster), a simulated fleet checking in
# through the load balancer, and probe writers publishing targets to PROBES factories (their Targets entities spread
# over every node's shards). Phases:
#   kill:      kill -9 of a node (1, 2, 3, 1, ...) every 30 s for KILL_MINUTES, restarted after each;
#   rolling:   restart-node 3, 2, 1 (drain in HAProxy, SIGTERM, start);
#   postgres:  PostgreSQL stopped for 10 s and started again.
# For each kill it reports the failover gap: from the kill until a write to every probe factory succeeded again.
# Afterwards every acknowledged probe write must be listed, and every entity's journal gap-free (one writer).
# Usage: bench/chaos.sh [devices=5000] [kill-minutes=5]
# SBR_STABLE_AFTER, when set, replaces the nodes' split-brain resolver stable-after (5s); the gap includes it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
N=${1:-5000}; KILL_MINUTES=${2:-5}; PROBES=${PROBES:-12}
work_dir chaos
# PostgreSQL runs as the postgres user when this runs as root: it must reach its directory inside the work dir
chmod 755 "$WORK"
build
CLUSTER="$REPO/bin/flotilla-cluster"
export FLOTILLA_JAVA_OPTS="-Xmx1g${SBR_STABLE_AFTER:+ -Dpekko.cluster.split-brain-resolver.stable-after=$SBR_STABLE_AFTER}"
cleanup_cluster() { "$CLUSTER" stop --dir "$WORK/cluster" >/dev/null 2>&1 || true; cleanup; }
trap 'cleanup_cluster; [[ -z "${BENCH_WORK:-}" ]] && rm -rf "$WORK"' EXIT
"$CLUSTER" start --dir "$WORK/cluster" >&2
HTTP_PORT=8080; DEVICE_PORT=8443; ADMIN=$(cat "$WORK/cluster/shared/admin-token")
seed_factory fleet
publish_target fleet main
for p in $(seq 1 "$PROBES"); do seed_factory "probe-$p"; done
ACKED="$WORK/acked.txt"; : > "$ACKED"
probe_write() { # FACTORY -> 0 when acknowledged
  local out
  out=$(curl -s --max-time 10 -o - -w '\n%{http_code}' -X POST -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    "http://127.0.0.1:$HTTP_PORT/api/v1/factories/$1/targets" \
    -d "{\"tags\":[\"main\"],\"apps\":{\"shellhttpd\":\"127.0.0.1:$HTTP_PORT/$1/shellhttpd@sha256:$(printf 'a%.0s' $(seq 1 64))\"}}") || return 1
  [[ "${out##*$'\n'}" == 201 ]] || return 1
  python3 -c 'import json,sys; [print(sys.argv[1], t["version"]) for t in json.loads(sys.stdin.read())["targets"]]' "$1" <<<"${out%$'\n'*}" >> "$ACKED"
}
all_probes_write() { local p ok=0; for p in $(seq 1 "$PROBES"); do probe_write "probe-$p" || ok=1; done; return $ok; }
now() { date +%s.%N; }

echo "bench: registering $N devices through HAProxy" >&2
simulate fleet "$WORK/fleet" "https://127.0.0.1:$DEVICE_PORT" --devices "$N" --duration 1s --poll 3600s --register-concurrency 16 \
  > "$WORK/register.log" 2>&1 || true
grep -E "registered [0-9]+ devices in" "$WORK/register.log" >&2 || true
TOTAL=$((KILL_MINUTES * 60 + 300))
simulate fleet "$WORK/fleet" "https://127.0.0.1:$DEVICE_PORT" --devices "$N" --poll 60s --start-current --duration "${TOTAL}s" \
  --timeout 10s --report-json "$WORK/sim.json" > "$WORK/sim.log" 2>&1 &
SIM=$!; PIDS+=("$SIM")
( while kill -0 "$SIM" 2>/dev/null; do all_probes_write || true; sleep 0.5; done ) & PIDS+=($!)
sleep 20

echo "| phase | event | gap until every probe entity wrote again (s) |"
echo "|---|---|---|"
GAPS=()
end=$(( $(date +%s) + KILL_MINUTES * 60 )); node=1
while (( $(date +%s) < end )); do
  pid=$(cat "$WORK/cluster/node-$node.pid"); t0=$(now)
  kill -9 "$pid"; rm -f "$WORK/cluster/node-$node.pid"
  until all_probes_write; do sleep 0.2; done
  gap=$(python3 -c "print(f'{$(now) - $t0:.1f}')"); GAPS+=("$gap")
  echo "| kill | kill -9 node $node | $gap |"
  "$CLUSTER" restart-node "$node" --dir "$WORK/cluster" >/dev/null 2>&1 || "$CLUSTER" start --dir "$WORK/cluster" >/dev/null
  node=$(( node % 3 + 1 ))
  sleep $(( 30 - $(python3 -c "print(int($gap) % 30)") ))
done
for n in 3 2 1; do
  t0=$(now); "$CLUSTER" restart-node "$n" --dir "$WORK/cluster" >/dev/null
  echo "| rolling | restart-node $n | took $(python3 -c "print(f'{$(now) - $t0:.1f}')") |"
done
pg="$WORK/cluster/postgres"; pgbin=/usr/lib/postgresql/15/bin
t0=$(now); runuser -u postgres -- "$pgbin/pg_ctl" -D "$pg" -m fast -w stop >/dev/null
sleep 10; runuser -u postgres -- "$pgbin/pg_ctl" -D "$pg" -l "$pg/postgres.log" -w -o "-p 55432 -k $pg -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
t1=$(now); until all_probes_write; do sleep 0.2; done
echo "| postgres | stopped 10 s | every probe entity wrote again $(python3 -c "print(f'{$(now) - $t1:.1f}')") s after its return |"
wait "$SIM" || true
python3 - "$WORK/sim.json" "${GAPS[@]}" <<'PY'
import json, sys, statistics
r = json.load(open(sys.argv[1])); gaps = sorted(float(g) for g in sys.argv[2:])
def pct(p): return gaps[min(len(gaps) - 1, int(round(p / 100 * (len(gaps) - 1))))] if gaps else float('nan')
errors = sum(r['errors'].values())
print(f"\nkills: {len(gaps)}, failover gap p50 {pct(50):.1f} s, p99 {pct(99):.1f} s, max {max(gaps or [0]):.1f} s")
print(f"devices: {r['devices']}, check-ins {r.get('checkIns', r.get('requests', '?'))}, errors {errors} {r['errors'] or ''}")
PY
sleep 10 # the read side catches up
# every acknowledged probe write is listed, and every journal has one writer
lost=0
for p in $(seq 1 "$PROBES"); do
  listed=$(api GET "/api/v1/factories/probe-$p/targets" | python3 -c 'import json,sys; print(" ".join(str(t["version"]) for t in json.load(sys.stdin)["targets"]))')
  for v in $(awk -v f="probe-$p" '$1 == f {print $2}' "$ACKED"); do [[ " $listed " == *" $v "* ]] || lost=$((lost + 1)); done
done
broken=$(runuser -u postgres -- "$pgbin/psql" -h 127.0.0.1 -p 55432 -U flotilla flotilla -tAc \
  "SELECT count(*) FROM (SELECT persistence_id FROM event_journal GROUP BY persistence_id HAVING MIN(sequence_number) <> 1 OR MAX(sequence_number) <> COUNT(*)) b")
echo "acknowledged probe writes: $(wc -l < "$ACKED"), lost: $lost; entities whose journal has a gap: $broken"
