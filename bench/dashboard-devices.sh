#!/usr/bin/env bash
# The dashboard's device table at 100,000 devices: seeds the read side (device_status) of a stopped node's H2
# database with N devices of one factory, restarts the node, signs in with the admin token as a browser does
# (sign-in nonce cookie, session cookie) and times GET /factories/bench/devices for typical queries: each
# query REPEAT times after one warm-up, over loopback; curl's time_starttransfer (request sent to the first byte
# of the answer) is the server's time plus a loopback round trip. Prints the median and p95 of each.
#   bench/dashboard-devices.sh            # 100,000 devices, 20 repeats
#   DEVICES=1000000 REPEAT=10 bench/dashboard-devices.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
DEVICES=${DEVICES:-100000}
REPEAT=${REPEAT:-20}
work_dir dashboard-devices
build

start_server "$WORK/data"
api POST /api/v1/factories '{"name":"bench","platforms":["amd64-linux"]}' >/dev/null
stop_server

echo "bench: seeding $DEVICES devices into device_status..." >&2
cat > "$WORK/seed.sql" <<SQL
INSERT INTO device_status (uuid, factory, name, tag, device_group, hardware_id, production, target_name, apps,
    last_seen, update_correlation_id, update_state, created_at, decommissioned_at)
SELECT 'dev-' || LPAD(CAST(X AS VARCHAR), 7, '0'), 'bench', 'device ' || CAST(X AS VARCHAR),
    CASE WHEN MOD(X, 10) = 0 THEN 'beta' ELSE 'main' END, NULL, 'amd64-linux', FALSE,
    'amd64-linux-' || CAST(MOD(X, 5) + 1 AS VARCHAR), 'shellhttpd',
    DATEADD('SECOND', -MOD(X * 7919, 1209600), CURRENT_TIMESTAMP), 'u-' || CAST(X AS VARCHAR),
    CASE MOD(X, 50) WHEN 0 THEN 'failed' WHEN 1 THEN 'in-progress' ELSE 'succeeded' END,
    DATEADD('SECOND', -X, CURRENT_TIMESTAMP), NULL
FROM SYSTEM_RANGE(1, $DEVICES);
SQL
java -cp "$SERVER_JAR" org.h2.tools.RunScript -url "jdbc:h2:file:$WORK/data/db/flotilla" -user flotilla \
  -script "$WORK/seed.sql"

start_server "$WORK/data"
BASE="http://127.0.0.1:$HTTP_PORT"
JAR="$WORK/cookies"
NONCE=$(curl -sf -c "$JAR" "$BASE/sign-in" | sed -n 's/.*name="nonce" value="\([A-Za-z0-9_-]*\)".*/\1/p')
curl -sf -o /dev/null -b "$JAR" -c "$JAR" --data-urlencode "nonce=$NONCE" --data-urlencode "token=$ADMIN" "$BASE/sign-in"
COUNT=$(curl -sf -b "$JAR" "$BASE/factories/bench/devices" | sed -n 's/.*id="device-count">\([0-9]*\) devices match.*/\1/p')
[[ "$COUNT" == "$DEVICES" ]] || { echo "bench: the table counts '$COUNT' devices, not $DEVICES" >&2; exit 1; }

measure() { # LABEL QUERY
  curl -sf -o /dev/null -b "$JAR" "$BASE/factories/bench/devices$2"
  local times=()
  for _ in $(seq 1 "$REPEAT"); do
    times+=("$(curl -sf -o /dev/null -b "$JAR" -w '%{time_starttransfer}' "$BASE/factories/bench/devices$2")")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v label="$1" '
    { t[NR] = $1 * 1000 }
    END { p50 = t[int((NR + 1) / 2)]; p95 = t[int(NR * 0.95 + 0.5)]
          printf "%-44s median %6.1f ms   p95 %6.1f ms\n", label, p50, p95 }'
}

echo "dashboard devices page, $DEVICES devices in the read side, $REPEAT requests each (H2, one node)"
measure "first page (50, by name)"               ""
measure "page 1000 of 2000 (by name)"            "?page=1000"
measure "by last seen, newest first, 100 a page"  "?sort=last-seen&dir=desc&size=100"
measure "status failed"                          "?status=failed"
measure "status online, tag beta"                "?status=online&tag=beta"
measure "search a name ('device 4242')"          "?q=device+4242"
measure "search a uuid prefix ('dev-00777')"     "?q=dev-00777"
measure "target, not seen for a week"            "?target=amd64-linux-3&seen=not-7d"
