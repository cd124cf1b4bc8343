//! Entry points for the fuzz targets in `fuzz/` and for the regression tests that replay what
//! they found (`tests/api/fuzz_regressions.rs`). Not part of the library's surface: hidden from
//! the docs, and nothing here is stable.
//!
//! Each function takes raw input, runs one parser the way a request or a scenario file would
//! reach it, and panics only when a property every user relies on breaks: bad input is a 4xx
//! answer with a JSON body, never a panic, never a 5xx. The panics are the point: a fuzzer
//! reports them as crashes.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};

use crate::api::{self, Incoming};
use crate::behaviour::parse_scenario_gateway;
use crate::engine::Engine;

/// One request as a fuzzer assembles it: the parts a client controls.
pub struct FuzzRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    /// Header name and value pairs; pairs that are not valid HTTP are skipped, as hyper would
    /// refuse them before any parser saw them.
    pub headers: &'a [(&'a str, &'a [u8])],
    pub body: &'a [u8],
}

/// Routes `request` through the front doors (path matching, API key, idempotency key, the
/// Stripe form or JSON parameters, the native JSON body, every validation rule) without
/// running the operation. Returns the status of the answer an invalid request gets, or 200
/// when the request would reach the engine.
///
/// # Panics
/// When an invalid request is answered with anything but a 4xx, or its body is not JSON.
pub fn route_request(request: &FuzzRequest<'_>) -> u16 {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    let engine = ENGINE.get_or_init(|| Engine::new(Duration::from_secs(24 * 3600)));
    let Ok(method) = Method::from_bytes(request.method.as_bytes()) else {
        return 400;
    };
    let mut headers = HeaderMap::new();
    for (name, value) in request.headers {
        let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    let body = Bytes::copy_from_slice(request.body);
    let incoming = Incoming {
        method: &method,
        path: request.path,
        query: request.query,
        headers: &headers,
        body: &body,
    };
    match api::route(engine, &incoming) {
        Ok(_) => 200,
        Err(reply) => {
            let status = reply.status.as_u16();
            assert!(
                (400..500).contains(&status),
                "{} {} answered {status}: {}",
                request.method,
                request.path,
                String::from_utf8_lossy(&reply.body)
            );
            assert!(
                serde_json::from_slice::<serde_json::Value>(&reply.body).is_ok(),
                "{} {} answered a body that is not JSON: {:?}",
                request.method,
                request.path,
                String::from_utf8_lossy(&reply.body)
            );
            status
        }
    }
}

/// Reads `text` as a scenario file's `[gateway]` table, then checks it, as `--scenario` does.
/// Returns whether the simulator would start with it.
///
/// # Panics
/// Never on purpose: any panic is a parser or validator bug.
pub fn scenario_toml(text: &str) -> bool {
    match parse_scenario_gateway(text) {
        Ok(config) => {
            // parse_scenario_gateway validates; a config it accepts must also survive the
            // round trip `GET /_sim/config` then `PUT /_sim/config` makes.
            let json = serde_json::to_string(&config).expect("a parsed config serialises");
            let again = crate::behaviour::BehaviourConfig::from_json(&json);
            match again {
                Ok(again) => assert!(
                    again == config,
                    "the JSON round trip changed the config:\n{config:?}\n{again:?}"
                ),
                Err(e) => {
                    panic!("a config the TOML reader accepted is refused as JSON: {e}\n{json}")
                }
            }
            true
        }
        Err(_) => false,
    }
}
