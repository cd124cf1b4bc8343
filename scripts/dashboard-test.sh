#!/usr/bin/env bash
# The dashboard (/_sim/ui) and a Stripe Checkout session's hosted page (checkout.test.js: a
# merchant in the test creates a session, the buyer pays in the browser, the signed
# checkout.session.completed webhook arrives) in headless Chromium: tests/dashboard drives the
# release gateway-sim binary with playwright-core (pinned in its package.json, locked in its
# package-lock.json). Chromium is Debian's, installed with apt-get when missing and run as
# root; playwright-core downloads no browser.
#
#   scripts/dashboard-test.sh
#   DASHBOARD_SCREENSHOT=docs/dashboard.png scripts/dashboard-test.sh   # refresh the README's
#
# The screenshot goes to $CARGO_TARGET_DIR/dashboard.png by default, so a run leaves the
# tracked one alone.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=${CARGO_TARGET_DIR:-target}
CHROMIUM_BIN=${CHROMIUM_BIN:-/usr/bin/chromium}

if [ ! -x "$CHROMIUM_BIN" ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "scripts/dashboard-test.sh: needs Chromium at $CHROMIUM_BIN (Debian: apt-get install chromium, as root), or CHROMIUM_BIN=/path/to/chromium" >&2
        exit 1
    fi
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
    else
        echo "scripts/dashboard-test.sh: needs node and npm (Debian: apt-get install nodejs npm)" >&2
        exit 1
    fi
fi

# The workspace's feature set, as scripts/test.sh builds it: a no-op after its tests. (`-p
# gateway-sim` alone resolves other features and rebuilt the simulator, 1.5 minutes on 2 cores.)
cargo build --release --quiet --workspace --all-targets
# Absolute paths: the test runs from tests/dashboard.
target=$(cd "$TARGET" && pwd)
screenshot=${DASHBOARD_SCREENSHOT:-$target/dashboard.png}
case $screenshot in /*) ;; *) screenshot=$PWD/$screenshot ;; esac

cd tests/dashboard
npm ci --no-audit --no-fund --silent
CARGO_TARGET_DIR=$target CHROMIUM_BIN=$CHROMIUM_BIN DASHBOARD_SCREENSHOT=$screenshot node --test
echo "scripts/dashboard-test.sh: passed; screenshot in $screenshot"
