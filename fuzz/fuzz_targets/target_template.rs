//! loadgen's `[target]` request template: `{{placeholder}}` parsing and filling, header names
//! and values, and the promise that an accepted body fills in to JSON for every order.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    method: &'a str,
    path: &'a str,
    header_name: &'a str,
    header_value: &'a str,
    body: Option<&'a str>,
    order: u64,
    amount: i64,
}

fuzz_target!(|input: Input<'_>| {
    loadgen::fuzzing::template(input.path);
    loadgen::fuzzing::target_template(
        input.method,
        input.path,
        (input.header_name, input.header_value),
        input.body,
        input.order,
        input.amount,
    );
});
