#!/usr/bin/env bash
# bench-journal.sh: what durability costs (issue 16, "No lost state"): gateway-sim's throughput
# with --data-dir and --fsync batch against in memory, measured by scripts/bench-gateway.sh's
# wrk run (POST /v1/payments, a unique Idempotency-Key each), alternating the two ROUNDS times
# in one session so both see the same machine. Target: journal / memory >= 0.7.
#
# Usage: scripts/bench-journal.sh
# Environment (all optional; the rest as in scripts/bench-gateway.sh):
#   ROUNDS=2            alternations (memory, journal) to run
#   FSYNC=batch         the --fsync policy of the journal runs (always, batch, off)
#   DURATION=10s WARMUP=2s CONNECTIONS=64 THREADS=1 SKIP_BUILD=1
#
# Bounded: ROUNDS x 2 runs of WARMUP + DURATION each; every journal lives in a temporary
# folder removed on exit.

set -euo pipefail

ROUNDS=${ROUNDS:-2}
FSYNC=${FSYNC:-batch}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-journal.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export DURATION=${DURATION:-10s} WARMUP=${WARMUP:-2s} PAYMENTS=0

case "$ROUNDS" in *[!0-9]* | "") echo "ROUNDS must be a whole number" >&2; exit 1 ;; esac
if [[ -z "${SKIP_BUILD:-}" ]]; then
  (cd "$ROOT" && cargo build --release -p gateway-sim --quiet)
fi
export SKIP_BUILD=1

# One bench-gateway.sh run; prints "requests/s server-us-per-request".
run() {
  local out="$WORK/run.txt"
  GATEWAY_ARGS="$1" "$ROOT/scripts/bench-gateway.sh" >"$out" 2>"$WORK/run.err" ||
    { cat "$WORK/run.err" >&2; exit 1; }
  awk '/throughput :/ {rps = $3} /CPU\/request:/ {us = $3} END {print rps, us}' "$out"
}

memory=() journal=() memory_us=() journal_us=()
for round in $(seq 1 "$ROUNDS"); do
  read -r rps us < <(run "")
  memory+=("$rps"); memory_us+=("$us")
  echo "[bench-journal] round $round: in memory       $rps requests/s (server ${us} us/request)" >&2
  dir="$WORK/data-$round"
  read -r rps us < <(run "--data-dir $dir --fsync $FSYNC")
  journal+=("$rps"); journal_us+=("$us")
  echo "[bench-journal] round $round: --data-dir $FSYNC $rps requests/s (server ${us} us/request), journal $(du -h "$dir/journal.log" | cut -f1)" >&2
done

mean() { printf '%s\n' "$@" | awk '{ s += $1; n++ } END { if (n) printf "%.0f", s / n }'; }
mean1() { printf '%s\n' "$@" | awk '{ s += $1; n++ } END { if (n) printf "%.1f", s / n }'; }
M=$(mean "${memory[@]}"); J=$(mean "${journal[@]}")
RATIO=$(awk -v j="$J" -v m="$M" 'BEGIN { if (m > 0) printf "%.2f", j / m }')
VERDICT=$(awk -v r="$RATIO" 'BEGIN { print (r >= 0.7) ? "meets target" : "BELOW target" }')
cat <<OUT

==== gateway-sim journal benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)) ====
POST /v1/payments, unique Idempotency-Key per request, wrk -t${THREADS:-1} -c${CONNECTIONS:-64} -d$DURATION, $ROUNDS alternations
  in memory          : $M requests/s (runs: ${memory[*]}), server $(mean1 "${memory_us[@]}") us/request
  --data-dir $FSYNC : $J requests/s (runs: ${journal[*]}), server $(mean1 "${journal_us[@]}") us/request
  ratio              : $RATIO   [target >= 0.7: $VERDICT]
OUT
