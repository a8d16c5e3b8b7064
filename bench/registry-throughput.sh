#!/usr/bin/env bash
# Blob push and download throughput of the Flotilla registry against nginx serving the same file and the
# Debian docker-registry (distribution 2.8), all on loopback. Prints a Markdown table of MB/s and ratios.
# Usage: bench/registry-throughput.sh [size-MiB=512] [runs=3]
# Needs: curl, nginx, docker-registry, sha256sum, and a built registry module (mvn -pl registry -am test-compile).
set -euo pipefail
SIZE_MIB=${1:-512}
RUNS=${2:-3}
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/registry-bench.XXXXXX)
chmod 755 "$WORK"  # nginx workers run unprivileged
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.2; done; echo "port $1 never opened" >&2; exit 1; }
mbps() { python3 -c "print(f'{$1/1048576:.1f}')"; }

head -c $((SIZE_MIB * 1048576)) /dev/urandom > "$WORK/blob"
DIGEST="sha256:$(sha256sum "$WORK/blob" | cut -d' ' -f1)"

# Flotilla registry
(cd "$REPO" && mvn -B -q -pl registry -am test-compile -DskipTests >/dev/null && \
  mvn -B -q -pl registry dependency:build-classpath -Dmdep.outputFile="$WORK/cp.txt" >/dev/null)
FLOTILLA_PORT=$(free_port)
java -cp "$REPO/registry/target/classes:$REPO/registry/target/test-classes:$(cat "$WORK/cp.txt")" \
  io.flotilla.registry.RegistryBenchServer "$WORK/flotilla" "$FLOTILLA_PORT" > "$WORK/flotilla.log" 2>&1 &
PIDS+=($!)

# Debian docker-registry
DIST_PORT=$(free_port)
cat > "$WORK/distribution.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $WORK/distribution}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$DIST_PORT}
YML
docker-registry serve "$WORK/distribution.yml" > "$WORK/distribution.log" 2>&1 &
PIDS+=($!)

# nginx serving the same file
NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx/www"
ln "$WORK/blob" "$WORK/nginx/www/blob"
cat > "$WORK/nginx/nginx.conf" <<NGX
daemon off; worker_processes 1; pid $WORK/nginx/nginx.pid; error_log $WORK/nginx/error.log;
events {}
http { access_log off; sendfile on; client_body_temp_path $WORK/nginx/body;
       proxy_temp_path $WORK/nginx/proxy; fastcgi_temp_path $WORK/nginx/fcgi; uwsgi_temp_path $WORK/nginx/uwsgi;
       scgi_temp_path $WORK/nginx/scgi;
       server { listen 127.0.0.1:$NGINX_PORT; root $WORK/nginx/www; } }
NGX
nginx -c "$WORK/nginx/nginx.conf" &
PIDS+=($!)

wait_port "$FLOTILLA_PORT"; wait_port "$DIST_PORT"; wait_port "$NGINX_PORT"

# POST a session, PUT the whole blob to it (the flow both registries support); prints bytes/s of the PUT.
push() { # base-url repo auth...
  local base=$1 repo=$2; shift 2
  local location
  location=$(curl -s -D - -o /dev/null "$@" -X POST "$base/v2/$repo/blobs/uploads/" | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
  [[ $location == http* ]] || location="$base$location"
  [[ $location == *\?* ]] && sep='&' || sep='?'
  curl -s -o /dev/null -w '%{speed_upload} %{http_code}\n' "$@" -X PUT -H 'Content-Type: application/octet-stream' \
    -T "$WORK/blob" "$location${sep}digest=$DIGEST"
}
download() {
  local out; out=$(curl -s -o /dev/null -w '%{speed_download} %{http_code}' "$@")
  [[ ${out#* } == 200 ]] || { echo "download $* answered ${out#* }" >&2; exit 1; }
  echo "${out% *}"
}
best() { sort -n | tail -1; }

declare -A R
for i in $(seq 1 "$RUNS"); do
  read -r s c < <(push "http://127.0.0.1:$FLOTILLA_PORT" "bench/run$i" -u bench:bench); [[ $c == 201 ]] || { echo "flotilla push $c" >&2; exit 1; }
  R[fp]+="$s "
  read -r s c < <(push "http://127.0.0.1:$DIST_PORT" "bench/run$i"); [[ $c == 201 ]] || { echo "distribution push $c" >&2; exit 1; }
  R[dp]+="$s "
done
for i in $(seq 1 "$RUNS"); do
  R[fd]+="$(download -u bench:bench "http://127.0.0.1:$FLOTILLA_PORT/v2/bench/run1/blobs/$DIGEST") "
  R[dd]+="$(download -L "http://127.0.0.1:$DIST_PORT/v2/bench/run1/blobs/$DIGEST") "
  R[nd]+="$(download "http://127.0.0.1:$NGINX_PORT/blob") "
done
fp=$(tr ' ' '\n' <<<"${R[fp]}" | best); dp=$(tr ' ' '\n' <<<"${R[dp]}" | best)
fd=$(tr ' ' '\n' <<<"${R[fd]}" | best); dd=$(tr ' ' '\n' <<<"${R[dd]}" | best); nd=$(tr ' ' '\n' <<<"${R[nd]}" | best)
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

echo "| measure (${SIZE_MIB} MiB blob, best of $RUNS) | Flotilla MB/s | docker-registry MB/s | nginx MB/s | Flotilla / docker-registry | Flotilla / nginx |"
echo "|---|---|---|---|---|---|"
echo "| blob download | $(mbps "$fd") | $(mbps "$dd") | $(mbps "$nd") | $(ratio "$fd" "$dd") | $(ratio "$fd" "$nd") |"
echo "| blob push (POST + PUT) | $(mbps "$fp") | $(mbps "$dp") | — | $(ratio "$fp" "$dp") | — |"
