//! The Stripe dialect's request parsing: path, headers, the form (or JSON) parameters with
//! their nested `a[b][c]` keys, and every resource's validation, without running the
//! operation. A crash is a request that panics or is refused with anything but a 4xx and a
//! JSON body.
#![no_main]

use arbitrary::Arbitrary;
use gateway_sim::fuzzing::{FuzzRequest, route_request};
use libfuzzer_sys::fuzz_target;

/// Path segments a Stripe client sends, so most inputs reach a resource's parser.
const SEGMENTS: &[&str] = &[
    "payment_intents",
    "charges",
    "refunds",
    "payment_methods",
    "events",
    "webhook_endpoints",
    "checkout",
    "sessions",
    "disputes",
    "confirm",
    "capture",
    "cancel",
    "close",
    "expire",
    "line_items",
    "search",
    "pi_0000000000000001",
    "ch_0000000000000001",
    "re_0000000000000001",
    "dp_0000000000000001",
    "cs_test_0000000000000001",
    "pm_card_visa",
    "evt_1",
    "we_1",
];

#[derive(Arbitrary, Debug)]
enum Segment<'a> {
    Known(u8),
    Raw(&'a str),
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    method: u8,
    segments: Vec<Segment<'a>>,
    query: Option<&'a str>,
    json: bool,
    idempotency_key: Option<&'a str>,
    stripe_version: Option<&'a str>,
    body: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    let method = ["GET", "POST", "DELETE", "PUT"][usize::from(input.method % 4)];
    let mut path = String::from("/v1");
    for segment in input.segments.iter().take(5) {
        path.push('/');
        match segment {
            Segment::Known(i) => path.push_str(SEGMENTS[usize::from(*i) % SEGMENTS.len()]),
            Segment::Raw(s) => path.push_str(s),
        }
    }
    let content_type: &[u8] = if input.json {
        b"application/json"
    } else {
        b"application/x-www-form-urlencoded"
    };
    let mut headers: Vec<(&str, &[u8])> = vec![
        ("authorization", b"Bearer sk_test_fuzz"),
        ("content-type", content_type),
    ];
    if let Some(key) = input.idempotency_key {
        headers.push(("idempotency-key", key.as_bytes()));
    }
    if let Some(version) = input.stripe_version {
        headers.push(("stripe-version", version.as_bytes()));
    }
    route_request(&FuzzRequest {
        method,
        path: &path,
        query: input.query,
        headers: &headers,
        body: input.body,
    });
});
