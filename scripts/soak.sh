#!/usr/bin/env bash
# soak.sh: does gateway-sim's memory stay flat in a long run with --retain? (issue 16)
#
# Starts gateway-sim with --retain (and --data-dir with DATA_DIR=1), drives it with
# `loadgen run --target` at RATE orders/s for DURATION, and every INTERVAL prints the gateway's
# RSS (VmRSS from /proc/PID/status) with the payments held and retired (GET /_sim/stats,
# `retention`). At the end it compares the RSS after warm-up (the first sample at or after
# WARMUP, by default twice the retention window: by then payments leave as fast as they come)
# with the last one, and prints a verdict: flat when it grew by at most TOLERANCE percent.
#
# A benchmark, not CI: 30 minutes by default. DURATION=3m RETAIN=30s is a short check.
#
# Usage: scripts/soak.sh
# Environment (all optional):
#   DURATION=30m        how long loadgen sends orders (s, m or h: 90s, 3m, 1h)
#   RATE=2000           orders per second
#   RETAIN=2m           gateway-sim's --retain window (simulator time; real time runs it)
#   KEY_TTL=$RETAIN     gateway-sim's --idempotency-ttl: keys keep their own TTL, and at 24 h
#                       (gateway-sim's default) they would be the memory that grows
#   INTERVAL=60         seconds between memory samples
#   WARMUP=2*RETAIN     seconds after which memory should stop growing
#   TOLERANCE=10        percent the RSS may grow from warm-up to the end and still be flat
#   USERS=128           loadgen's concurrent users
#   SCENARIO=scenarios/happy-path.toml   the mix and the gateway's behaviour
#   DATA_DIR=           1: journal to a temporary --data-dir (deleted at the end); a path:
#                       journal there (kept)
#   SKIP_BUILD=1        use the existing release binaries
#
# Bounded: loadgen stops after DURATION, the script waits for it at most DURATION + 10 min
# (loadgen's check after the load reads the retained ledger), and the processes it started
# are stopped on exit (also on Ctrl-C or failure). loadgen's money check is not the point
# here and cannot pass: the ledger in memory starts at the retention window, so the check
# misses the charges of retired orders; its exit status is printed, not judged.

set -euo pipefail

DURATION=${DURATION:-30m}
RATE=${RATE:-2000}
RETAIN=${RETAIN:-2m}
KEY_TTL=${KEY_TTL:-$RETAIN}
INTERVAL=${INTERVAL:-60}
TOLERANCE=${TOLERANCE:-10}
USERS=${USERS:-128}
DATA_DIR=${DATA_DIR:-}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCENARIO=${SCENARIO:-$ROOT/scenarios/happy-path.toml}
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
GATEWAY="$TARGET_DIR/release/gateway-sim"
LOADGEN="$TARGET_DIR/release/loadgen"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/soak.XXXXXX")
SERVER_PID=""
LOAD_PID=""

log() { printf '[soak] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Seconds in a duration written 90, 90s, 3m or 1h.
seconds() {
  local text=$1
  case "$text" in
    *[!0-9smh]* | "" ) die "not a duration (s, m or h): $text" ;;
    *h) echo $(( ${text%h} * 3600 )) ;;
    *m) echo $(( ${text%m} * 60 )) ;;
    *s) echo $(( ${text%s} )) ;;
    *) echo $(( text )) ;;
  esac
}

stop() {
  local pid=$1
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}

cleanup() {
  stop "$LOAD_PID"
  stop "$SERVER_PID"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

DURATION_S=$(seconds "$DURATION")
RETAIN_S=$(seconds "$RETAIN")
WARMUP=${WARMUP:-$(( 2 * RETAIN_S ))}
case "$RATE$INTERVAL$TOLERANCE$USERS$WARMUP" in
  *[!0-9]*) die "RATE, INTERVAL, TOLERANCE, USERS and WARMUP must be whole numbers" ;;
esac
(( INTERVAL >= 1 && DURATION_S >= INTERVAL )) || die "need 1 <= INTERVAL <= DURATION"
(( WARMUP < DURATION_S )) || die "WARMUP (${WARMUP}s) must be shorter than DURATION (${DURATION_S}s)"
command -v jq >/dev/null || die "jq is needed to read /_sim/stats"

if [[ -z "${SKIP_BUILD:-}" ]]; then
  log "building release binaries"
  (cd "$ROOT" && cargo build --release -q -p gateway-sim -p loadgen)
fi
[[ -x "$GATEWAY" && -x "$LOADGEN" ]] || die "missing $GATEWAY or $LOADGEN (build, or unset SKIP_BUILD)"

gateway_args=(--listen 127.0.0.1:0 --scenario "$SCENARIO" --retain "$RETAIN" --idempotency-ttl "$KEY_TTL")
case "$DATA_DIR" in
  "") ;;
  1) gateway_args+=(--data-dir "$WORK/data") ;;
  *) gateway_args+=(--data-dir "$DATA_DIR") ;;
esac

"$GATEWAY" "${gateway_args[@]}" >"$WORK/gateway.out" 2>"$WORK/gateway.err" &
SERVER_PID=$!
URL=""
for _ in $(seq 1 100); do
  URL=$(sed -n 's/^gateway-sim listening on //p' "$WORK/gateway.out" | head -1)
  [[ -n "$URL" ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/gateway.err" >&2; die "gateway-sim did not start"; }
  sleep 0.1
done
[[ -n "$URL" ]] || die "gateway-sim did not say where it listens"
log "gateway-sim ${gateway_args[*]} at $URL (pid $SERVER_PID)"

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status"; }

sample() {
  local elapsed=$1 rss stats
  rss=$(rss_kib)
  stats=$(curl -fsS "$URL/_sim/stats" || echo '{}')
  printf '%6ss  rss %7.1f MiB  held %9s  retired %10s  ledger %10s (first held %s)\n' \
    "$elapsed" "$(awk -v k="$rss" 'BEGIN {print k / 1024}')" \
    "$(jq -r '.retention.payments_held // "?"' <<<"$stats")" \
    "$(jq -r '.retention.payments_retired // "?"' <<<"$stats")" \
    "$(jq -r '.ledger.ledger_entries // "?"' <<<"$stats")" \
    "$(jq -r '.retention.ledger_first_held // "?"' <<<"$stats")"
  LAST_RSS=$rss
}

log "loadgen: $RATE orders/s for $DURATION ($USERS users, $(basename "$SCENARIO")); a sample every ${INTERVAL}s"
"$LOADGEN" run --scenario "$SCENARIO" --target "$URL" --rate "$RATE" --duration "$DURATION" \
  --users "$USERS" --quiet --report-dir "$WORK/report" >"$WORK/loadgen.out" 2>&1 &
LOAD_PID=$!

START=$(date +%s)
WARM_RSS=""
WARM_AT=""
LAST_RSS=""
sample 0
while (( $(date +%s) - START < DURATION_S )); do
  sleep "$INTERVAL"
  elapsed=$(( $(date +%s) - START ))
  (( elapsed > DURATION_S )) && elapsed=$DURATION_S
  kill -0 "$SERVER_PID" 2>/dev/null || die "gateway-sim exited: $(tail -5 "$WORK/gateway.err")"
  sample "$elapsed"
  if [[ -z "$WARM_RSS" ]] && (( elapsed >= WARMUP )); then
    WARM_RSS=$LAST_RSS
    WARM_AT=$elapsed
  fi
done

deadline=$(( $(date +%s) + 600 ))
while kill -0 "$LOAD_PID" 2>/dev/null && (( $(date +%s) < deadline )); do
  sleep 1
done
load_status=0
if kill -0 "$LOAD_PID" 2>/dev/null; then
  log "loadgen still checking after 10 min; stopping it"
  stop "$LOAD_PID"
  load_status=timeout
else
  wait "$LOAD_PID" || load_status=$?
fi
LOAD_PID=""
grep -E 'achieved|orders' "$WORK/loadgen.out" | head -5 >&2 || true
log "loadgen exited with $load_status (its money check cannot pass with --retain: see the header)"

[[ -n "$WARM_RSS" ]] || die "no sample after warm-up (${WARMUP}s); run longer"
growth=$(awk -v a="$WARM_RSS" -v b="$LAST_RSS" 'BEGIN {printf "%.1f", (b - a) * 100 / a}')
verdict=$(awk -v g="$growth" -v t="$TOLERANCE" 'BEGIN {print (g <= t) ? "flat" : "GREW"}')
printf 'verdict: %s: rss %.1f MiB after warm-up (%ss) -> %.1f MiB at the end (%s%%, tolerance %s%%)\n' \
  "$verdict" "$(awk -v k="$WARM_RSS" 'BEGIN {print k / 1024}')" "$WARM_AT" \
  "$(awk -v k="$LAST_RSS" 'BEGIN {print k / 1024}')" "$growth" "$TOLERANCE"
[[ "$verdict" == flat ]]
