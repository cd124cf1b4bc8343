#!/usr/bin/env bash
# The project's test command (the README names it; .ci/run calls it).
# Installs what the tests need, then runs every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

# Release mode: the end-to-end tests drive real load, and an unoptimised build
# would measure the compiler instead of the system under test.
cargo test --workspace --release "$@"
