# Shared by the fleet benchmarks: build once, start a server on free loopback ports, seed a factory, run the simulator.
# Sourced, not run. Every process started here is stopped by the caller's EXIT trap (cleanup).
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVER_JAR="$REPO/gateway/target/flotilla-server.jar"
SIM_JAR="$REPO/fleet-sim/target/flotilla-sim.jar"
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}

# work_dir NAME: sets WORK to $BENCH_WORK, which is kept (its registered fleet serves the next run), or else to a
# scratch directory under /tmp that the EXIT trap removes; the trap also stops every process started here.
work_dir() {
  if [[ -n "${BENCH_WORK:-}" ]]; then
    WORK=$BENCH_WORK; mkdir -p "$WORK"; trap 'cleanup' EXIT
  else
    WORK=$(mktemp -d "/tmp/bench-$1.XXXXXX"); trap 'cleanup; rm -rf "$WORK"' EXIT
  fi
}

build() {
  # always: jars left from an older checkout would measure old code (BENCH_SKIP_BUILD=1 reuses them knowingly)
  if [[ "${BENCH_SKIP_BUILD:-0}" != 1 || ! -f "$SERVER_JAR" || ! -f "$SIM_JAR" ]]; then
    echo "bench: building the server and simulator jars..." >&2
    (cd "$REPO" && mvn -B -q -pl fleet-sim,gateway -am package -DskipTests) >&2
  fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_server DATA_DIR [extra config file] ; sets HTTP_PORT DEVICE_PORT SERVER_PID ADMIN
start_server() {
  local dir=$1 conf=${2:-}
  mkdir -p "$dir"
  HTTP_PORT=$(free_port); DEVICE_PORT=$(free_port)
  local args=(server --data-dir "$dir" --http-port "$HTTP_PORT" --device-port "$DEVICE_PORT")
  [[ -n "$conf" ]] && args+=(--config "$conf")
  FLOTILLA_DEVICE_PUBLIC_URL="https://127.0.0.1:$DEVICE_PORT" \
    java -Dpekko.remote.artery.canonical.port=0 ${SERVER_JAVA_OPTS:-} -jar "$SERVER_JAR" "${args[@]}" > "$dir/server.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 1 240); do
    curl -sf "http://127.0.0.1:$HTTP_PORT/health/ready" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server died:" >&2; tail -20 "$dir/server.log" >&2; exit 1; }
    sleep 0.5
  done
  ADMIN=$(cat "$dir/admin-token")
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
}

api() { # METHOD PATH [JSON]
  curl -sf -X "$1" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' "http://127.0.0.1:$HTTP_PORT$2" ${3:+-d "$3"}
}

# seed_factory NAME: a factory on amd64-linux (no error when it exists already)
seed_factory() {
  api POST /api/v1/factories "{\"name\":\"$1\",\"platforms\":[\"amd64-linux\"]}" >/dev/null || true
}

# publish_target FACTORY TAG: one more target for the tag, with one app
publish_target() {
  api POST "/api/v1/factories/$1/targets" \
    "{\"tags\":[\"$2\"],\"apps\":{\"shellhttpd\":\"127.0.0.1:$HTTP_PORT/$1/shellhttpd@sha256:$(printf 'a%.0s' $(seq 1 64))\"}}" >/dev/null
}

# simulate FACTORY WORKDIR SERVER_URL [simulator options...]
# The simulator offers only an X25519 key share, as Go's TLS client (fioup) does: a JDK client otherwise also makes a
# P-256 key pair per handshake that the server never uses (it picks X25519), and the simulator shares the cores.
simulate() {
  local factory=$1 work=$2 url=$3; shift 3
  java ${SIM_JAVA_OPTS:--Xmx2g -Djdk.tls.namedGroups=x25519} -jar "$SIM_JAR" --server "$url" --api "http://127.0.0.1:$HTTP_PORT" \
    --token "$ADMIN" --factory "$factory" --hardware-id amd64-linux --work-dir "$work" "$@"
}

json() { # FILE PYTHON-EXPRESSION over r
  python3 -c "import json,sys; r=json.load(open('$1')); print($2)"
}

machine() {
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(java -version 2>&1 | head -1), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)"
}
