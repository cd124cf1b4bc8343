//! A scenario file as both tools read it: gateway-sim's `[gateway]` table (parsed, validated,
//! and round-tripped through the JSON `GET /_sim/config` answers and `PUT /_sim/config`
//! takes) and loadgen's whole file (`[load]`, `[checks]`, `[target]`, `[capacity]`, with an
//! accepted `[target]` filled in for a few orders). Seeded from `scenarios/*.toml`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    gateway_sim::fuzzing::scenario_toml(text);
    loadgen::fuzzing::scenario_toml(text);
});
