#!/usr/bin/env bash
# bench-loadgen.sh: loadgen's throughput benchmark (issue 4, "Done when"): loadgen drives an
# in-process gateway-sim at RATE orders/s for DURATION on this machine (both share its cores),
# then prints the achieved rate, achieved/target, the p95 latency (corrected for
# coordinated omission, and uncorrected), and the CPU time per request of the process (steadier
# than the rate on a busy machine, so a regression shows there first).
#
# Targets (issues 4 and 15), achieved/target >= 0.98 on a 2-core machine:
#   scripts/bench-loadgen.sh                                   10,000 purchases/s
#   RATE=20000 USERS=512 scripts/bench-loadgen.sh              20,000 purchases/s
#   SCENARIO=scenarios/happy-path.toml RATE=10000 USERS=512 scripts/bench-loadgen.sh
#                                                              its own mix, p95 < 50 ms too
#   SCENARIO=scenarios/black-friday.toml scripts/bench-loadgen.sh   its 11,600 orders/s
#
# Usage: scripts/bench-loadgen.sh
# Environment (all optional):
#   RATE=10000          target arrival rate, orders/s (open model)
#   DURATION=15s        how long orders are sent
#   USERS=256           goose users (connections); must exceed rate x latency
#   MIX="purchase = 1"  the [load.mix] lines (TOML); purchase is one request per order
#   SCENARIO=FILE       run this scenario instead (its gateway, mix, rate and checks); RATE and
#                       USERS, when given, override its [load]; DURATION and MIX are ignored
#   REPORT_DIR=...      where the reports go [default: reports/bench-loadgen-<unix time>]
#   SKIP_BUILD=1        use the existing release binary
#
# Exit status: loadgen's (0 every check passed, including achieved/target >= 0.98).
# Bounded: the run stops sending after DURATION; loadgen exits when the last order finishes.

set -euo pipefail

SCENARIO=${SCENARIO:-}
if [[ -n "$SCENARIO" ]]; then
  overrides=()
  [[ -n "${RATE:-}" ]] && overrides+=(--rate "$RATE")
  [[ -n "${USERS:-}" ]] && overrides+=(--users "$USERS")
fi
RATE=${RATE:-10000}
DURATION=${DURATION:-15s}
USERS=${USERS:-256}
MIX=${MIX:-"purchase = 1"}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/loadgen"
REPORT_DIR=${REPORT_DIR:-"$ROOT/reports/bench-loadgen-$(date +%s)"}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-loadgen.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

log() { printf '[bench] %s\n' "$*" >&2; }

case "$USERS" in
  '' | *[!0-9]*) log "error: USERS must be a whole number"; exit 2 ;;
esac

if [[ -z "${SKIP_BUILD:-}" ]]; then
  log "building loadgen (release)"
  cargo build --release --quiet -p loadgen --manifest-path "$ROOT/Cargo.toml"
fi
[[ -x "$BIN" ]] || { log "error: $BIN missing (unset SKIP_BUILD)"; exit 2; }

status=0
if [[ -n "$SCENARIO" ]]; then
  [[ -f "$SCENARIO" ]] || { log "error: $SCENARIO: no such scenario file"; exit 2; }
  log "loadgen: $SCENARIO ${overrides[*]}"
  "$BIN" run --scenario "$SCENARIO" "${overrides[@]}" --report-dir "$REPORT_DIR" || status=$?
else
GENERATED="$WORK/bench-loadgen.toml"
cat >"$GENERATED" <<EOF
# The loadgen throughput benchmark: a happy gateway (no injected latency or faults).
[gateway]
seed = 1

[load]
rate = $RATE
duration = "$DURATION"
users = $USERS
seed = 1
timeout = "2s"
settle = "500ms"
[load.mix]
$MIX

[checks]
min_achieved_rate_ratio = 0.98
EOF

log "loadgen: $RATE orders/s for $DURATION, $USERS users, mix: $MIX"
"$BIN" run --scenario "$GENERATED" --report-dir "$REPORT_DIR" || status=$?
fi

JSON="$REPORT_DIR/report.json"
if [[ ! -f "$JSON" ]]; then
  log "error: no report written (loadgen exit $status)"
  exit "$status"
fi

summary() {
  if command -v jq >/dev/null; then
    jq -r '
      "target rate      \(.target_rate) orders/s",
      "achieved rate    \(.achieved_rate | . * 10 | round / 10) orders/s",
      "achieved/target  \(.achieved_rate / .target_rate | . * 1000 | round / 1000)",
      "orders           \(.orders.total) over \(.duration_s | . * 10 | round / 10) s, \(.requests) requests, \(.errors) errors",
      "p95 corrected    \(.latency.overall.corrected.p95_ms | . * 100 | round / 100) ms (from the intended send time)",
      "p95 uncorrected  \(.latency.overall.uncorrected.p95_ms | . * 100 | round / 100) ms (from the actual send time)",
      "p99 corrected    \(.latency.overall.corrected.p99_ms | . * 100 | round / 100) ms",
      (if .cpu_seconds then "cpu per request  \(.cpu_seconds / .requests * 1e7 | round / 10) µs (loadgen and the embedded gateway: one process, user + system)" else empty end),
      "money            double \(.money.counts.double_charges), lost \(.money.counts.lost_charges), orphan \(.money.counts.orphan_charges)"' "$JSON"
  else
    python3 - "$JSON" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
o = r["latency"]["overall"]
print(f"target rate      {r['target_rate']} orders/s")
print(f"achieved rate    {r['achieved_rate']:.1f} orders/s")
print(f"achieved/target  {r['achieved_rate'] / r['target_rate']:.3f}")
print(f"orders           {r['orders']['total']} over {r['duration_s']:.1f} s, {r['requests']} requests, {r['errors']} errors")
print(f"p95 corrected    {o['corrected']['p95_ms']:.2f} ms (from the intended send time)")
print(f"p95 uncorrected  {o['uncorrected']['p95_ms']:.2f} ms (from the actual send time)")
print(f"p99 corrected    {o['corrected']['p99_ms']:.2f} ms")
if r.get("cpu_seconds") and r["requests"]:
    print(f"cpu per request  {r['cpu_seconds'] / r['requests'] * 1e6:.1f} µs (loadgen and the embedded gateway: one process, user + system)")
c = r["money"]["counts"]
print(f"money            double {c['double_charges']}, lost {c['lost_charges']}, orphan {c['orphan_charges']}")
PY
  fi
}

echo
echo "== loadgen benchmark ($(nproc) cores, $(date -u +%Y-%m-%dT%H:%M:%SZ)) =="
summary
echo "reports          $REPORT_DIR"
exit "$status"
