#!/usr/bin/env bash
# Mutual-TLS handshakes per second: Flotilla's device port (one server per TLS provider) against nginx (OpenSSL) with
# the same server key, certificate and device CA, TLS 1.3 + X25519, one client (openssl s_time) presenting a registered
# device's certificate and key. Each connection makes the handshake and closes (no request: s_time's -www waits for the
# server to close, which pekko-http does not do for the openssl provider, see docs/benchmarks.md). "new" makes a full
# handshake per connection, "reuse" offers the first connection's session again; the share of connections that did
# resume (s_time's "r" marks) is printed, as a client that closes before reading the TLS 1.3 ticket has none to offer.
# Endpoints alternate within each round; the ratio to nginx is taken per round. Server CPU per handshake comes from
# /proc/<pid>/stat (utime + stime) read before and after each measurement.
# Usage: bench/tls-handshake.sh [seconds per measurement=10] [rounds=3]
# Env: PROVIDERS (flotilla.device.tls-provider values to measure, default "openssl jdk"); put another JDK first on
# PATH to measure it (PATH=/usr/lib/jvm/temurin-25-jdk-amd64/bin:$PATH).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SECS=${1:-10}; ROUNDS=${2:-3}; PROVIDERS=${PROVIDERS:-openssl jdk}
command -v nginx >/dev/null || { echo "nginx is needed (apt-get install -y nginx-light)" >&2; exit 1; }
work_dir tls-handshake
build

# register DIR: a device of factory "bench" with an openssl-made P-256 key (DIR/dev.key, DIR/dev.crt)
register() {
  local dir=$1 uuid
  uuid=$(python3 -c 'import uuid; print(uuid.uuid4())')
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/dev.key"
  openssl req -new -key "$dir/dev.key" -subj "/CN=$uuid/OU=bench" -out "$dir/dev.csr"
  python3 -c "import json,sys; print(json.dumps({'name': 'tls-bench', 'uuid': '$uuid', 'csr': open('$dir/dev.csr').read()}))" \
    | curl -sf -X POST -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' --data @- \
      "http://127.0.0.1:$HTTP_PORT/ota/devices/" \
    | python3 -c "import json,sys; open('$dir/dev.crt', 'w').write(json.load(sys.stdin)['client.pem'])"
}

declare -A PORT PID DIR
TARGETS=()
for provider in $PROVIDERS; do
  dir="$WORK/flotilla-$provider"
  mkdir -p "$dir"
  echo "flotilla.device.tls-provider = $provider" > "$dir.conf"
  start_server "$dir" "$dir.conf"
  seed_factory bench
  register "$dir"
  PORT[$provider]=$DEVICE_PORT; PID[$provider]=$SERVER_PID; DIR[$provider]=$dir
  TARGETS+=("$provider")
done

# nginx on the first server's key material: its server key and certificate, its factory's device CA
first=${DIR[${TARGETS[0]}]}
awk '/BEGIN PRIVATE KEY/,/END PRIVATE KEY/' "$first/pki/server-tls.pem" > "$WORK/server.key"
awk '/BEGIN CERTIFICATE/,/END CERTIFICATE/' "$first/pki/server-tls.pem" > "$WORK/server.crt"
awk '/BEGIN CERTIFICATE/,/END CERTIFICATE/' "$first/pki/factories/bench/device-ca.pem" > "$WORK/device-ca.crt"
NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT ssl;
    ssl_certificate $WORK/server.crt;
    ssl_certificate_key $WORK/server.key;
    ssl_client_certificate $WORK/device-ca.crt;
    ssl_verify_client optional;
    ssl_protocols TLSv1.3 TLSv1.2;
    ssl_ecdh_curve X25519;
    ssl_session_tickets on;
    location / {
      if (\$ssl_client_verify != SUCCESS) { return 401; }
      return 200 '{}';
    }
  }
}
EOF
nginx -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" &
PIDS+=($!); PID[nginx]=$!; PORT[nginx]=$NGINX_PORT; DIR[nginx]=${DIR[${TARGETS[0]}]}
TARGETS+=(nginx)
for _ in $(seq 1 50); do (echo > "/dev/tcp/127.0.0.1/$NGINX_PORT") 2>/dev/null && break; sleep 0.1; done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# measure TARGET MODE SECONDS: prints "handshakes/s cpu-ms-per-handshake resumed-percent"
measure() {
  local target=$1 mode=$2 secs=$3 dir=${DIR[$1]} t0 t1 c0 c1 out n
  c0=$(cpu_ticks "${PID[$target]}"); t0=$(date +%s.%N)
  out=$(openssl s_time -connect "127.0.0.1:${PORT[$target]}" "-$mode" -cert "$dir/dev.crt" -key "$dir/dev.key" \
    -CAfile "$dir/pki/server-ca.pem" -time "$secs" 2>&1 || true)
  t1=$(date +%s.%N); c1=$(cpu_ticks "${PID[$target]}")
  n=$(sed -n 's/^\([0-9]*\) connections in [0-9]* real seconds.*/\1/p' <<<"$out" | tail -1)
  [[ -n "$n" && "$n" -gt 0 ]] || { echo "s_time failed against $target ($mode): $(tail -3 <<<"$out")" >&2; echo "0 0 0"; return; }
  r=$(grep -E '^[r*]+$' <<<"$out" | tr -d '*\n' | wc -c || true)
  python3 -c "import os; t=os.sysconf('SC_CLK_TCK'); print(f'{$n / ($t1 - $t0):.0f} {($c1 - $c0) * 1000 / t / $n:.2f} {100 * min($r, $n) / $n:.0f}')"
}

# warm-up: the JVMs compile their TLS paths
for target in "${TARGETS[@]}"; do measure "$target" new 5 >/dev/null; measure "$target" reuse 5 >/dev/null; done

echo "| round | mode | endpoint | handshakes/s | server CPU ms per handshake | resumed % | ratio to nginx |"
echo "|---|---|---|---|---|---|---|"
for r in $(seq 1 "$ROUNDS"); do
  for mode in new reuse; do
    declare -A RATE=() CPU=() RES=()
    # nginx first in odd rounds, last in even ones, so neither side always follows the other
    order=("${TARGETS[@]}")
    if (( r % 2 == 1 )); then order=(nginx "${TARGETS[@]:0:${#TARGETS[@]}-1}"); fi
    for target in "${order[@]}"; do
      res=$(measure "$target" "$mode" "$SECS")
      read -r RATE[$target] CPU[$target] RES[$target] <<<"$res"
    done
    for target in "${TARGETS[@]}"; do
      ratio=$(python3 -c "print(f'{${RATE[$target]} / max(${RATE[nginx]}, 1):.2f}')")
      echo "| $r | $mode | $target | ${RATE[$target]} | ${CPU[$target]} | ${RES[$target]} | $ratio |"
    done
  done
done
machine
