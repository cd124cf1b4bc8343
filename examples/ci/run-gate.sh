#!/usr/bin/env bash
# The correctness-under-load gate, locally, in one command:
#   gateway-sim (faults from a scenario) ← merchant-service ← loadgen --service
# loadgen drives the merchant service, then checks gateway-sim's ledger against
# what every order was told, and exits 0 (pass), 1 (money or SLO broke) or 2 (usage).
#
#   examples/ci/run-gate.sh                       # the fixed service: passes
#   IDEMPOTENCY=off examples/ci/run-gate.sh       # the double-charge bug: fails, lists the orders
#   SCENARIO=scenarios/brownout.toml RATE=500 DURATION=30s examples/ci/run-gate.sh
#
# Replace merchant-service with your own service (it must pass the order id to
# the gateway as `reference`) and describe its endpoint in the scenario's [target].
set -euo pipefail
cd "$(dirname "$0")/../.."

SCENARIO=${SCENARIO:-scenarios/flaky-network.toml}
IDEMPOTENCY=${IDEMPOTENCY:-on}
RATE=${RATE:-1000}
DURATION=${DURATION:-10s}
REPORT_DIR=${REPORT_DIR:-reports/gate-$(basename "$SCENARIO" .toml)-idempotency-$IDEMPOTENCY}

cargo build --release -q -p gateway-sim -p loadgen -p payments-e2e --bins
BIN=target/release
# start NAME CMD...: runs a server in the background and sets URL (stopped on exit).
source examples/ci/servers.sh

start gateway-sim "$BIN/gateway-sim" --scenario "$SCENARIO" --listen 127.0.0.1:0
GATEWAY=$URL
start merchant-service "$BIN/merchant-service" --gateway-url "$GATEWAY" \
    --idempotency "$IDEMPOTENCY" --listen 127.0.0.1:0
SERVICE=$URL
echo "gateway-sim $GATEWAY · merchant-service $SERVICE (idempotency $IDEMPOTENCY) · $SCENARIO"

set +e
"$BIN/loadgen" run --scenario "$SCENARIO" --service "$SERVICE" --gateway "$GATEWAY" \
    --rate "$RATE" --duration "$DURATION" --report-dir "$REPORT_DIR"
code=$?
set -e
echo "loadgen exited $code; reports in $REPORT_DIR (report.html, junit.xml, report.json)"
exit $code
