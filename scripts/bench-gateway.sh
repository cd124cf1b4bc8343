#!/usr/bin/env bash
# bench-gateway.sh: gateway-sim's throughput and memory benchmarks (issue 2, "Done when").
#
#   1. throughput: wrk on loopback against POST /v1/payments, a unique Idempotency-Key and
#      reference per request, no injected latency; prints requests/s and P99.
#   2. memory: a fresh gateway-sim stores PAYMENTS payments with unique keys; prints the RSS
#      growth (VmRSS from /proc/PID/status) per stored payment.
#
# Targets from the issue: >= 30,000 requests/s on a 2-core machine shared with the load tool,
# and < 1 KiB per stored payment at 1,000,000 payments.
#
# Usage: scripts/bench-gateway.sh
# Environment (all optional):
#   DURATION=20s        wrk measuring time for the throughput run (wrk syntax: 20s, 1m)
#   WARMUP=3s           wrk warm-up before it (not reported; 0 to skip)
#   CONNECTIONS=64      wrk connections (both runs)
#   THREADS=1           wrk threads (both runs); 1 leaves the most CPU to the server
#   PAYMENTS=1000000    payments to store for the memory run (0 to skip the memory run)
#   MEMORY_TIMEOUT=300  seconds the memory run may take at most
#   SKIP_BUILD=1        use the existing release binary
#   GATEWAY_ARGS=...    more gateway-sim flags, split on spaces (scripts/bench-journal.sh
#                       passes --data-dir DIR --fsync batch here)
#
# Bounded: every wrk run has a duration, the memory run stops at PAYMENTS or MEMORY_TIMEOUT,
# and the servers this script starts are stopped on exit (also on Ctrl-C or failure).

set -euo pipefail

DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-3s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
PAYMENTS=${PAYMENTS:-1000000}
MEMORY_TIMEOUT=${MEMORY_TIMEOUT:-300}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LUA="$ROOT/scripts/bench/unique-payments.lua"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/gateway-sim"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-gateway.XXXXXX")
SERVER_PID=""
WRK_PID=""

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    # The server drains for a few seconds at most; do not wait on it forever.
    for _ in $(seq 1 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}

cleanup() {
  if [[ -n "$WRK_PID" ]]; then
    kill -KILL "$WRK_PID" 2>/dev/null || true
  fi
  stop_server
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

case "$CONNECTIONS$THREADS$PAYMENTS$MEMORY_TIMEOUT" in
  *[!0-9]*) die "CONNECTIONS, THREADS, PAYMENTS and MEMORY_TIMEOUT must be whole numbers" ;;
esac
(( THREADS >= 1 && CONNECTIONS >= THREADS )) || die "need THREADS >= 1 and CONNECTIONS >= THREADS"

ensure_wrk() {
  command -v wrk >/dev/null && return
  local sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "wrk is missing and installing it needs root (apt-get install wrk)"
    sudo="sudo"
  fi
  log "installing wrk"
  $sudo apt-get install -y wrk >/dev/null 2>&1 ||
    { $sudo apt-get update >/dev/null 2>&1 && $sudo apt-get install -y wrk >/dev/null 2>&1; } ||
    die "could not install wrk"
}

# Starts a gateway-sim on a free loopback port; sets SERVER_PID and URL.
start_server() {
  local out="$WORK/server.out"
  : >"$out"
  # Logs at warn: info lines per request would measure the terminal, not the gateway.
  # shellcheck disable=SC2086 # GATEWAY_ARGS is a list of flags, split on purpose.
  RUST_LOG=warn "$BIN" --listen 127.0.0.1:0 ${GATEWAY_ARGS:-} >"$out" 2>"$WORK/server.err" &
  SERVER_PID=$!
  URL=""
  for _ in $(seq 1 100); do
    URL=$(sed -n 's/^gateway-sim listening on \(http:[^ ]*\).*/\1/p' "$out")
    [[ -n "$URL" ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || die "gateway-sim exited: $(cat "$WORK/server.err")"
    sleep 0.1
  done
  [[ -n "$URL" ]] || die "gateway-sim did not print its address within 10 s"
}

# utime + stime of the server, in clock ticks (fields 14 and 15 of /proc/PID/stat, counted after
# the ")" that ends the command name).
cpu_ticks() { sed 's/.*) //' "/proc/$SERVER_PID/stat" | awk '{ print $12 + $13 }'; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$SERVER_PID/status"; }
stored_payments() { curl -sf "$URL/_sim/stats" | jq -r '.ledger.payments'; }

# Latency percentile from wrk --latency output, normalised to milliseconds.
wrk_percentile_ms() {
  awk -v p="$1" '$1 == p {
    v = $2
    if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v) }
    else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 }
    printf "%.2f", v; exit }' "$2"
}

# ---------------------------------------------------------------------------------------------
command -v curl >/dev/null || die "curl is needed"
command -v jq >/dev/null || die "jq is needed"
ensure_wrk
if [[ -z "${SKIP_BUILD:-}" ]]; then
  log "building gateway-sim (release)"
  (cd "$ROOT" && cargo build --release -p gateway-sim --quiet)
fi
[[ -x "$BIN" ]] || die "no binary at $BIN"

RUN_TAG="r$(date +%s)"
CORES=$(nproc)

# --- 1. throughput ---------------------------------------------------------------------------
start_server
log "throughput: $URL, wrk -t$THREADS -c$CONNECTIONS -d$DURATION (warm-up $WARMUP)"
if [[ "$WARMUP" != "0" && "$WARMUP" != "0s" ]]; then
  BENCH_RUN="$RUN_TAG-warm" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s "$LUA" "$URL" >/dev/null
fi
SERVER_CPU_BEFORE=$(cpu_ticks)
TIMEFORMAT='%U %S'
{ time BENCH_RUN="$RUN_TAG-tp" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$LUA" "$URL" \
  >"$WORK/throughput.txt" 2>&1; } 2>"$WORK/wrk-time.txt"
SERVER_CPU_AFTER=$(cpu_ticks)
cat "$WORK/throughput.txt" >&2
RPS=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$WORK/throughput.txt")
REQUESTS=$(awk '/ requests in / {print $1; exit}' "$WORK/throughput.txt")
# CPU time per request, for the server and for wrk: unlike requests/s, these hardly depend on
# what else the machine is doing, so they also give the rate the cores could sustain if the
# server and wrk had them to themselves (cores x 1 s / CPU per request).
SERVER_US=$(awk -v t=$(( SERVER_CPU_AFTER - SERVER_CPU_BEFORE )) -v hz="$(getconf CLK_TCK)" -v n="${REQUESTS:-0}" \
  'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n }')
WRK_US=$(awk -v n="${REQUESTS:-0}" '{ if (n > 0) printf "%.1f", ($1 + $2) * 1e6 / n; exit }' "$WORK/wrk-time.txt")
CEILING=$(awk -v a="${SERVER_US:-0}" -v b="${WRK_US:-0}" -v c="$(nproc)" 'BEGIN { if (a + b > 0) printf "%.0f", c * 1e6 / (a + b) }')
P50=$(wrk_percentile_ms 50% "$WORK/throughput.txt")
P99=$(wrk_percentile_ms 99% "$WORK/throughput.txt")
NON2XX=$(awk -F': *' '/Non-2xx or 3xx responses/ {print $2}' "$WORK/throughput.txt")
SOCKET_ERRORS=$(grep -E '^ *Socket errors' "$WORK/throughput.txt" | sed 's/^ *//' || true)
TP_PAYMENTS=$(stored_payments)
stop_server
[[ -n "$RPS" ]] || die "could not read requests/s from wrk's output"

# --- 2. memory per stored payment ------------------------------------------------------------
MEM_LINE="skipped (PAYMENTS=0)"
if (( PAYMENTS > 0 )); then
  start_server
  sleep 0.5
  RSS_BEFORE=$(rss_kib)
  log "memory: storing $PAYMENTS payments in a fresh gateway-sim (RSS now $RSS_BEFORE KiB; at most ${MEMORY_TIMEOUT}s)"
  per_thread=$(( (PAYMENTS + THREADS - 1) / THREADS ))
  # wrk's threads stop themselves at the budget, but wrk's main thread sleeps out the whole -d;
  # so this script also watches the count and ends wrk (SIGINT: it still prints its summary).
  BENCH_RUN="$RUN_TAG-mem" BENCH_MAX="$per_thread" \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${MEMORY_TIMEOUT}s" -s "$LUA" "$URL" >"$WORK/memory.txt" 2>&1 &
  WRK_PID=$!
  started=$SECONDS
  next_note=$(( started + 10 ))
  while kill -0 "$WRK_PID" 2>/dev/null; do
    sleep 1
    count=$(stored_payments || echo 0)
    if (( count >= PAYMENTS )); then
      kill -INT "$WRK_PID" 2>/dev/null || true
      break
    fi
    if (( SECONDS >= next_note )); then
      log "  $count payments stored, RSS $(rss_kib) KiB"
      next_note=$(( SECONDS + 10 ))
    fi
  done
  wait "$WRK_PID" 2>/dev/null || true
  WRK_PID=""
  sleep 0.5 # let the last answers land before reading the count
  STORED=$(stored_payments)
  RSS_AFTER=$(rss_kib)
  HWM=$(hwm_kib)
  FILL_SECS=$(( SECONDS - started ))
  stop_server
  (( STORED > 0 )) || die "the memory run stored no payments"
  BYTES_PER=$(( (RSS_AFTER - RSS_BEFORE) * 1024 / STORED ))
  MEM_LINE="$BYTES_PER B per payment (RSS $RSS_BEFORE -> $RSS_AFTER KiB, peak $HWM KiB, $STORED payments in ${FILL_SECS}s)"
  if (( STORED < PAYMENTS )); then
    MEM_LINE="$MEM_LINE; only $STORED of $PAYMENTS stored before MEMORY_TIMEOUT"
  fi
fi

# --- summary ---------------------------------------------------------------------------------
verdict() { if [[ "$1" == 1 ]]; then echo "meets target"; else echo "BELOW target"; fi; }
cat <<EOF

==== gateway-sim benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $CORES cores, load average $(cut -d' ' -f1-3 /proc/loadavg)) ====
POST /v1/payments, unique Idempotency-Key per request, no injected latency, wrk -t$THREADS -c$CONNECTIONS -d$DURATION on loopback
  throughput : $RPS requests/s   [target >= 30000: $(verdict $(( RPS >= 30000 )))]
  latency    : p50 ${P50:-?} ms, p99 ${P99:-?} ms
  CPU/request: server ${SERVER_US:-?} us, wrk ${WRK_US:-?} us -> about ${CEILING:-?} requests/s if they had the $CORES cores to themselves
  errors     : non-2xx ${NON2XX:-0}${SOCKET_ERRORS:+, $SOCKET_ERRORS}; payments stored (warm-up included): $TP_PAYMENTS
EOF
if (( PAYMENTS > 0 )); then
  echo "  memory     : $MEM_LINE   [target < 1024 B at 1M: $(verdict $(( BYTES_PER < 1024 && STORED >= 1000000 ))); issue 15's <= 600 B: $(verdict $(( BYTES_PER <= 600 && STORED >= 1000000 )))]"
else
  echo "  memory     : $MEM_LINE"
fi
