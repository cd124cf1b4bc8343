#!/usr/bin/env bash
# The webhook gate, locally, in one command:
#   gateway-sim (webhook-storm: duplicated, late, reordered, dropped webhooks)
#     → signed webhooks → merchant-service --mode webhooks ← loadgen --service
# loadgen places orders at the service (each answered "pending"), waits for the gateway's
# webhook backlog to drain, reads every order back (GET /orders/{id}, the scenario's
# [target.order]) and checks the merchant's books against gateway-sim's ledger: double
# fulfilment, charged but never marked paid, a state that went backwards, refunds that
# disagree. Exits 0 (pass), 1 (money, the books or an SLO broke) or 2 (usage).
#
#   examples/ci/run-webhook-gate.sh                    # the fixed service: passes
#   DEDUPE=off examples/ci/run-webhook-gate.sh         # duplicates ship twice: fails, lists the orders
#   EVENT_ORDER=trust examples/ci/run-webhook-gate.sh  # a late event undoes a payment: fails
#   RECONCILE=off examples/ci/run-webhook-gate.sh      # dropped webhooks never recovered: fails
#   RATE=100 DURATION=60s examples/ci/run-webhook-gate.sh   # the whole storm, outage and flush
#
# Replace merchant-service with your own webhook-driven service: it must pass the order id to
# the gateway as `reference`, and the scenario's [target] and [target.order] say how to place
# an order and read it back.
set -euo pipefail
cd "$(dirname "$0")/../.."

SCENARIO=${SCENARIO:-scenarios/webhook-storm.toml}
DEDUPE=${DEDUPE:-on}
EVENT_ORDER=${EVENT_ORDER:-current}
RECONCILE=${RECONCILE:-on}
RATE=${RATE:-500}
DURATION=${DURATION:-10s}
SECRET=${SECRET:-whsec_webhook_gate_0123456789abcdef}
REPORT_DIR=${REPORT_DIR:-reports/webhook-gate-dedupe-$DEDUPE-order-$EVENT_ORDER-reconcile-$RECONCILE}

cargo build --release -q -p gateway-sim -p loadgen -p payments-e2e --bins
BIN=target/release
# start NAME CMD...: runs a server in the background and sets URL (stopped on exit).
source examples/ci/servers.sh

# The gateway must know the service's webhook URL when it starts, and the service the
# gateway's URL: pick a free port for the service first (nothing answers on it yet).
free_port() {
    for _ in $(seq 50); do
        local port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
    done
    echo "no free port found" >&2; exit 2
}
SERVICE_PORT=${SERVICE_PORT:-$(free_port)}

start gateway-sim "$BIN/gateway-sim" --scenario "$SCENARIO" --listen 127.0.0.1:0 \
    --webhook "native:http://127.0.0.1:$SERVICE_PORT/webhooks" --webhook-secret "$SECRET"
GATEWAY=$URL
# A reconciliation pass every second: the run's settle time and the webhook drain give the
# last pass time to recover what was dropped near the end of the load.
start merchant-service "$BIN/merchant-service" --mode webhooks \
    --listen "127.0.0.1:$SERVICE_PORT" --gateway-url "$GATEWAY" --webhook-secret "$SECRET" \
    --webhook-dedupe "$DEDUPE" --event-order "$EVENT_ORDER" --reconcile "$RECONCILE" \
    --reconcile-every-secs 1
SERVICE=$URL
echo "gateway-sim $GATEWAY · merchant-service $SERVICE (dedupe $DEDUPE, event order $EVENT_ORDER, reconcile $RECONCILE) · $SCENARIO"

set +e
"$BIN/loadgen" run --scenario "$SCENARIO" --service "$SERVICE" --gateway "$GATEWAY" \
    --rate "$RATE" --duration "$DURATION" --report-dir "$REPORT_DIR"
code=$?
set -e
echo "loadgen exited $code; reports in $REPORT_DIR (report.html, junit.xml, report.json, merchant-views.ndjson)"
exit $code
