#!/usr/bin/env bash
# The project's test command (the README names it; .ci/run calls it).
# Installs what the tests need, then runs every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

# Release mode: the end-to-end tests drive real load, and an unoptimised build
# would measure the compiler instead of the system under test.
cargo test --workspace --release "$@"

# gateway-sim sharded by merchant behind nginx (installed from Debian's packages
# if missing), two loadgen workers, and the merged money check over both shards.
scripts/shard-test.sh

# The Stripe SDK suite: the official stripe package from PyPI, unpatched, drives the
# release binary (tests/stripe_sdk). Its own virtualenv under target/, so nothing
# is installed system-wide; pinned in tests/stripe_sdk/requirements.txt.
# Built already by the tests above (the same feature set), so this is a no-op there.
cargo build --release --quiet --workspace --all-targets
sdk_env=target/stripe-sdk-venv
if ! "$sdk_env/bin/python" -m pip --version >/dev/null 2>&1; then
    rm -rf "$sdk_env"
    python3 -m venv "$sdk_env" || {
        echo "scripts/test.sh: tests/stripe_sdk needs python3 with venv and pip (Debian: apt-get install python3-venv)" >&2
        exit 1
    }
fi
"$sdk_env/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/stripe_sdk/requirements.txt
PYTHONDONTWRITEBYTECODE=1 "$sdk_env/bin/python" -m pytest tests/stripe_sdk -q

# The Node SDK suite: stripe-node from npm (pinned in tests/stripe_node/package.json,
# locked in its package-lock.json), unpatched, verifies gateway-sim's webhook
# signatures with stripe.webhooks.constructEvent and drives 3-D Secure, authorization
# expiry, disputes and Checkout. Node and npm come from Debian.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        apt-get install -y -qq nodejs npm >/dev/null
    else
        echo "scripts/test.sh: tests/stripe_node needs node and npm (Debian: apt-get install nodejs npm)" >&2
        exit 1
    fi
fi
(cd tests/stripe_node && npm ci --no-audit --no-fund --silent && node --test)

# docs/openapi.json: valid OpenAPI 3.1, and schemathesis (both from PyPI, pinned in
# tests/openapi/requirements.txt) finds no 5xx and no answer the document does not describe
# in a bounded run against the release binary.
scripts/openapi-check.sh

# The dashboard (/_sim/ui) in headless Chromium (Debian's chromium, installed if missing),
# driven by playwright-core from npm (pinned and locked in tests/dashboard).
scripts/dashboard-test.sh
