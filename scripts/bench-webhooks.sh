#!/usr/bin/env bash
# bench-webhooks.sh: what webhook delivery costs the API (issue 11, "Delivery").
#
# The same wrk command as scripts/bench-gateway.sh (POST /v1/payments, unique keys, no
# injected latency) against gateway-sim three ways, one after the other in one run:
#   off      no webhook endpoint
#   fast     every payment's `payment.succeeded` delivered to nginx answering 204
#   hanging  the same, to a receiver that accepts connections and never answers
#            (every attempt waits out its timeout; the queue fills, then refuses)
# and prints requests/s, p99 and the deliveries made, with the ratios against `off`.
#
# Usage: scripts/bench-webhooks.sh
# Environment (all optional): DURATION=15s CONNECTIONS=64 THREADS=1 SKIP_BUILD=1
# Needs wrk, nginx, jq, curl, python3 (wrk and nginx are installed from Debian if missing).
# Bounded: each wrk run has a duration, and every server started here is stopped on exit.

set -euo pipefail

DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LUA="$ROOT/scripts/bench/unique-payments.lua"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/gateway-sim"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-webhooks.XXXXXX")
PIDS=()

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
cleanup() {
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  [[ -f "$WORK/nginx.pid" ]] && kill -QUIT "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

install_if_missing() {
  local tool=$1 package=$2
  command -v "$tool" >/dev/null && return
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  log "installing $package"
  $sudo apt-get install -y "$package" >/dev/null 2>&1 ||
    { $sudo apt-get update >/dev/null 2>&1 && $sudo apt-get install -y "$package" >/dev/null 2>&1; } ||
    die "could not install $package"
}
install_if_missing wrk wrk
[[ -x /usr/sbin/nginx ]] || install_if_missing nginx nginx
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

if [[ -z "${SKIP_BUILD:-}" ]]; then
  log "building gateway-sim (release)"
  (cd "$ROOT" && cargo build --release -q -p gateway-sim)
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The fast receiver: nginx answering 204 to every POST, no logs.
FAST_PORT=$(free_port)
cat >"$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK;
  server { listen 127.0.0.1:$FAST_PORT; location / { return 204; } }
}
CONF
"$NGINX" -c "$WORK/nginx.conf" -p "$WORK" || die "nginx did not start"

# The hanging receiver: accepts and never answers (keeps every socket open).
HANG_PORT=$(free_port)
python3 - "$HANG_PORT" <<'PY' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4096)
held = []
while True:
    conn, _ = s.accept(); held.append(conn)
PY
PIDS+=($!); disown $!

# Runs gateway-sim with extra args, wrk against it; prints "rps p99_ms delivered overflow".
measure() {
  local out="$WORK/server.out"
  : >"$out"
  RUST_LOG=error "$BIN" --listen 127.0.0.1:0 "$@" >"$out" 2>"$WORK/server.err" &
  local pid=$!
  PIDS+=($pid)
  local url=""
  for _ in $(seq 1 100); do
    url=$(sed -n 's/^gateway-sim listening on \(http:[^ ]*\).*/\1/p' "$out")
    [[ -n "$url" ]] && break
    sleep 0.1
  done
  [[ -n "$url" ]] || die "gateway-sim did not start: $(cat "$WORK/server.err")"
  BENCH_RUN="warm-$RANDOM" wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -s "$LUA" "$url" >/dev/null
  BENCH_RUN="run-$RANDOM" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$LUA" "$url" >"$WORK/wrk.txt"
  local rps p99 stats
  rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$WORK/wrk.txt")
  p99=$(awk '$1 == "99%" { v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; printf "%.2f", v }' "$WORK/wrk.txt")
  stats=$(curl -sf "$url/_sim/stats")
  echo "$rps $p99 $(jq -r '.webhooks.delivered' <<<"$stats") $(jq -r '.webhooks.overflow' <<<"$stats")"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

log "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, POST /v1/payments, unique keys"
read -r off_rps off_p99 _ _ < <(measure)
# One native endpoint: one delivery (`payment.succeeded`) per payment.
endpoint() {
  printf '[[gateway.webhooks.endpoints]]\nurl = "http://127.0.0.1:%s/hooks"\ndialect = "native"\n' "$1" >"$WORK/$2.toml"
  echo "$WORK/$2.toml"
}
read -r fast_rps fast_p99 fast_delivered fast_overflow < <(measure --scenario "$(endpoint "$FAST_PORT" fast)")
read -r hang_rps hang_p99 hang_delivered hang_overflow < <(measure --scenario "$(endpoint "$HANG_PORT" hanging)")

printf '\n%-10s %12s %10s %12s %10s %10s\n' "webhooks" "requests/s" "p99 ms" "vs off" "delivered" "overflow"
printf '%-10s %12s %10s %12s %10s %10s\n' "off" "$off_rps" "$off_p99" "1.00" "-" "-"
printf '%-10s %12s %10s %12s %10s %10s\n' "fast" "$fast_rps" "$fast_p99" "$(awk -v a="$fast_rps" -v b="$off_rps" 'BEGIN{printf "%.2f", a/b}')" "$fast_delivered" "$fast_overflow"
printf '%-10s %12s %10s %12s %10s %10s\n' "hanging" "$hang_rps" "$hang_p99" "$(awk -v a="$hang_rps" -v b="$off_rps" 'BEGIN{printf "%.2f", a/b}')" "$hang_delivered" "$hang_overflow"
