#!/usr/bin/env bash
# bench-report.sh: the payout reconciliation report over a million payments (issue 14, "Done
# when": generated within 10 seconds on a 2-core machine).
#
#   1. a fresh gateway-sim stores PAYMENTS captured payments (wrk, unique keys and references);
#   2. POST /_sim/clock/advance 3 days: the books take every capture in (a balance transaction
#      each, with its fee) and the payout runs that fell due pay them out;
#   3. GET /_sim/reports/payout_reconciliation: the streamed CSV, timed to its first byte and to
#      its last, and its rows counted.
#
# Usage: scripts/bench-report.sh
# Environment (all optional):
#   PAYMENTS=1000000    payments to store before settling
#   CONNECTIONS=64      wrk connections for the fill
#   FILL_TIMEOUT=600    seconds the fill may take at most
#   SKIP_BUILD=1        use the existing release binary
#
# Bounded: the fill stops at PAYMENTS or FILL_TIMEOUT, curl has a timeout, and the server this
# script starts is stopped on exit (also on Ctrl-C or failure).

set -euo pipefail

PAYMENTS=${PAYMENTS:-1000000}
CONNECTIONS=${CONNECTIONS:-64}
FILL_TIMEOUT=${FILL_TIMEOUT:-600}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LUA="$ROOT/scripts/bench/unique-payments.lua"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/gateway-sim"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-report.XXXXXX")
SERVER_PID=""
WRK_PID=""

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

cleanup() {
  [[ -n "$WRK_PID" ]] && kill -KILL "$WRK_PID" 2>/dev/null || true
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

case "$PAYMENTS$CONNECTIONS$FILL_TIMEOUT" in
  *[!0-9]*) die "PAYMENTS, CONNECTIONS and FILL_TIMEOUT must be whole numbers" ;;
esac
for tool in curl jq wrk; do
  command -v "$tool" >/dev/null || die "$tool is needed (apt-get install $tool)"
done
if [[ -z "${SKIP_BUILD:-}" ]]; then
  log "building gateway-sim (release)"
  (cd "$ROOT" && cargo build --release -p gateway-sim --quiet)
fi
[[ -x "$BIN" ]] || die "no binary at $BIN"

RUST_LOG=warn "$BIN" --listen 127.0.0.1:0 >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
URL=""
for _ in $(seq 1 100); do
  URL=$(sed -n 's/^gateway-sim listening on \(http:[^ ]*\).*/\1/p' "$WORK/server.out")
  [[ -n "$URL" ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || die "gateway-sim exited: $(cat "$WORK/server.err")"
  sleep 0.1
done
[[ -n "$URL" ]] || die "gateway-sim did not print its address within 10 s"
stored() { curl -sf "$URL/_sim/stats" | jq -r '.ledger.payments'; }

# --- 1. fill ------------------------------------------------------------------------------------
log "storing $PAYMENTS payments in $URL (at most ${FILL_TIMEOUT}s)"
BENCH_RUN="report-$(date +%s)" BENCH_MAX="$PAYMENTS" \
  wrk -t1 -c"$CONNECTIONS" -d"${FILL_TIMEOUT}s" -s "$LUA" "$URL" >"$WORK/fill.txt" 2>&1 &
WRK_PID=$!
started=$SECONDS
while kill -0 "$WRK_PID" 2>/dev/null; do
  sleep 1
  if (( $(stored || echo 0) >= PAYMENTS )); then
    kill -INT "$WRK_PID" 2>/dev/null || true
    break
  fi
done
wait "$WRK_PID" 2>/dev/null || true
WRK_PID=""
sleep 0.5
STORED=$(stored)
log "stored $STORED payments in $(( SECONDS - started ))s"

# --- 2. settle ----------------------------------------------------------------------------------
SETTLE_SECS=$(curl -sf -o /dev/null -w '%{time_total}' -X POST -H 'content-type: application/json' \
  -d '{"seconds": 259200}' "$URL/_sim/clock/advance")

# --- 3. the report ------------------------------------------------------------------------------
read -r FIRST_BYTE TOTAL SIZE < <(curl -sf --max-time 300 -o "$WORK/report.csv" \
  -w '%{time_starttransfer} %{time_total} %{size_download}\n' "$URL/_sim/reports/payout_reconciliation")
ROWS=$(( $(wc -l <"$WORK/report.csv") - 1 ))
PAYOUTS=$(cut -d, -f1 "$WORK/report.csv" | tail -n +2 | sort -u | wc -l)

echo "payments stored:                $STORED"
echo "clock advance (book + pay out): ${SETTLE_SECS}s"
echo "report first byte:              ${FIRST_BYTE}s"
echo "report complete:                ${TOTAL}s ($ROWS rows in $PAYOUTS payout(s), $SIZE bytes)"
