#!/usr/bin/env bash
# Fuzzes the parsers that read what clients and users send, each target for a bounded time.
#
#   scripts/fuzz.sh                      # every target, 60 s each
#   FUZZ_SECONDS=600 scripts/fuzz.sh     # 10 minutes each (what a release is checked with)
#   scripts/fuzz.sh stripe_request       # one target
#
# Targets (fuzz/fuzz_targets/):
#   stripe_request   the Stripe dialect: path, form/JSON parameters, every resource's rules
#   native_request   the native API: path, headers, JSON bodies
#   scenario_toml    scenario files as gateway-sim and loadgen read them (seeded from scenarios/)
#   target_template  loadgen's [target] request template, filled in for real orders
#
# A crash is a panic, or a property broken: bad input answered with anything but a 4xx and a
# JSON body; a config that does not survive GET/PUT /_sim/config; a [target] loadgen accepts
# but cannot send. Crashes land in fuzz/artifacts/<target>/; the script prints how to replay
# one, and exits 1. Turn each into a test in gateway-sim/tests/api/fuzz_regressions.rs or
# loadgen/tests/integration/fuzz_regressions.rs once fixed.
#
# Needs a nightly toolchain and cargo-fuzz; installs both when missing (rustup, crates.io).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(stripe_request native_request scenario_toml target_template)
fi

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# Every scenario file is a good start for the scenario reader.
mkdir -p fuzz/corpus/scenario_toml
cp scenarios/*.toml fuzz/corpus/scenario_toml/

echo "== building the fuzz targets (nightly, optimised, with sanitizer instrumentation)"
cargo +nightly fuzz build -O

summary=()
failed=0
for target in "${targets[@]}"; do
    echo "== $target for ${seconds}s"
    log=$(mktemp)
    mkdir -p "fuzz/corpus/$target"
    # -timeout: one input taking 10 s is a hang worth reporting. It is wall-clock time, so on a
    # machine busy with other work (or under nice) a starved process can trip it: replay the
    # artifact before believing a timeout.
    if cargo +nightly fuzz run -O "$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -dict="fuzz/dictionaries/$target.dict" \
        -print_final_stats=1 >"$log" 2>&1; then
        verdict=ok
    else
        verdict=CRASH
        failed=1
        grep -E "panicked at|^SUMMARY|Test unit written to" "$log" | head -n 5 || true
        artifact=$(grep -o "fuzz/artifacts/$target/[^ ]*" "$log" | head -n 1 || true)
        if [ -n "$artifact" ]; then
            echo "   replay:  cargo +nightly fuzz run -O $target $artifact"
            echo "   read it: cargo +nightly fuzz fmt $target $artifact"
        fi
    fi
    runs=$(grep -o "stat::number_of_executed_units: *[0-9]*" "$log" | grep -o "[0-9]*$" | tail -n 1)
    corpus=$(find "fuzz/corpus/$target" -type f | wc -l)
    line=$(printf '%-16s %-6s %12s executions  %6s/s  corpus %s' \
        "$target" "$verdict" "${runs:-?}" "$(( ${runs:-0} / seconds ))" "$corpus")
    # Printed as each target ends too, so a run stopped early still says what it did.
    echo "   $line"
    summary+=("$line")
    rm -f "$log"
done

echo "== fuzz summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
exit "$failed"
