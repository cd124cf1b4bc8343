//! The native API's request parsing: path, API key, idempotency key and the JSON bodies of
//! every operation, without running it. A crash is a request that panics or is refused with
//! anything but a 4xx and a JSON body.
#![no_main]

use arbitrary::Arbitrary;
use gateway_sim::fuzzing::{FuzzRequest, route_request};
use libfuzzer_sys::fuzz_target;

/// Path segments a native client sends, so most inputs reach an operation's parser.
const SEGMENTS: &[&str] = &[
    "payments",
    "idempotency-keys",
    "events",
    "disputes",
    "webhook-endpoints",
    "capture",
    "cancel",
    "refunds",
    "evidence",
    "close",
    "pay_0000000000000001",
    "dp_0000000000000001",
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
    content_type: Option<&'a str>,
    idempotency_key: Option<&'a str>,
    body: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    let method = ["GET", "POST", "DELETE", "PUT"][usize::from(input.method % 4)];
    let mut path = String::from("/v1");
    for segment in input.segments.iter().take(4) {
        path.push('/');
        match segment {
            Segment::Known(i) => path.push_str(SEGMENTS[usize::from(*i) % SEGMENTS.len()]),
            Segment::Raw(s) => path.push_str(s),
        }
    }
    let mut headers: Vec<(&str, &[u8])> = vec![
        ("authorization", b"Bearer sk_test_fuzz"),
        (
            "content-type",
            input.content_type.unwrap_or("application/json").as_bytes(),
        ),
    ];
    if let Some(key) = input.idempotency_key {
        headers.push(("idempotency-key", key.as_bytes()));
    }
    route_request(&FuzzRequest {
        method,
        path: &path,
        query: input.query,
        headers: &headers,
        body: input.body,
    });
});
