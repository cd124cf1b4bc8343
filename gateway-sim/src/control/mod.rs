//! The control plane: `/_sim/*` (ledger, stats, config, scenarios, payments, reset, clock, the
//! dashboard) and `/metrics`. This is how tests, loadgen and people look inside the simulator.
//!
//! An optional admin token guards `/_sim/*` (health excepted, so probes work, and the
//! dashboard's own files, which hold no data); send it as `Authorization: Bearer <token>` or
//! `X-Admin-Token: <token>`.
//!
//! `mod.rs` routes a control request to its handler; each resource of the control plane has
//! its own file: `stats.rs`, `config.rs` (the live behaviour), `clock.rs`, `snapshot.rs` (the whole state to a file, for `--restore`), `ledger.rs` (the
//! NDJSON stream), `webhooks.rs` (deliveries and resends) and `metrics.rs` (Prometheus text);
//! `scenarios.rs` (the scenario files given at start, switched by name), `payments.rs` (any
//! merchant's payment by id or order, with `history.rs`: what every store knows of it) and
//! `ui.rs` (the dashboard page, its files in `ui/`, served without the token it asks for);
//! `reports/` the settlement reports (the payout reconciliation CSV, the bank statement, the
//! discrepancies' answer key).
//!
//! `openapi.rs` serves `GET /openapi.json`, the API's OpenAPI document; like health and
//! `/metrics`, it never needs the admin token.
//!
//! `three_ds.rs` serves `/_sim/3ds/{id}`, the 3-D Secure challenge page a buyer's browser
//! opens, and `checkout.rs` `/_sim/checkout/{id}`, a checkout session's hosted payment page;
//! they never need the admin token either (a browser has none to send).

mod checkout;
mod clock;
mod config;
mod history;
mod ledger;
mod metrics;
mod openapi;
mod payments;
mod reports;
mod scenarios;
mod snapshot;
mod stats;
mod three_ds;
mod ui;
mod webhooks;

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use serde::Serialize;

use crate::api::{ApiError, Reply};
use crate::response::{Body, into_response};
use crate::state::SimState;

pub use stats::{Stats, stats};

/// Whether `path` belongs to the control plane rather than a front door.
pub fn owns(path: &str) -> bool {
    path.starts_with("/_sim/") || path == "/_sim" || path == "/metrics" || path == "/openapi.json"
}

pub async fn handle(
    state: &SimState,
    parts: &http::request::Parts,
    body: &Bytes,
) -> Response<Body> {
    let path = parts.uri.path().trim_end_matches('/');
    let method = &parts.method;
    let public = path == "/_sim/health"
        || path == "/metrics"
        || path == "/openapi.json"
        || path.starts_with(three_ds::PREFIX)
        || path.starts_with(checkout::PREFIX)
        || ui::is_page(path);
    if !public && !authorized(state, &parts.headers) {
        return answer(ApiError::unauthorized_admin().into_reply());
    }
    let allowed = |allow: &'static str| {
        answer(ApiError::method_not_allowed(method, path, allow).into_reply())
    };
    match path {
        "/_sim/health" => match *method {
            Method::GET => json(StatusCode::OK, &Health { status: "ok" }),
            _ => allowed("GET"),
        },
        "/_sim/stats" => match *method {
            Method::GET => json(StatusCode::OK, &stats::stats(state)),
            _ => allowed("GET"),
        },
        "/_sim/ledger" => match *method {
            Method::GET => ledger::stream(state.engine(), parts.uri.query()),
            _ => allowed("GET"),
        },
        "/_sim/config" => match *method {
            Method::GET => json(StatusCode::OK, &config::current(state)),
            Method::PUT => config::replace(state, &parts.headers, body),
            _ => allowed("GET, PUT"),
        },
        "/_sim/reset" => match *method {
            Method::POST => {
                state.reset();
                tracing::info!("simulator reset: ledger, payments and keys forgotten");
                json(StatusCode::OK, &Health { status: "reset" })
            }
            _ => allowed("POST"),
        },
        "/_sim/snapshot" => match *method {
            Method::POST => snapshot::take(state, body).await,
            _ => allowed("POST"),
        },
        "/_sim/clock/advance" => match *method {
            Method::POST => clock::advance(state, body),
            _ => allowed("POST"),
        },
        "/_sim/reports/payout_reconciliation" => match *method {
            Method::GET => reports::payout_reconciliation(state, parts.uri.query()),
            _ => allowed("GET"),
        },
        "/_sim/reports/bank_statement" => match *method {
            Method::GET => reports::bank_statement(state, parts.uri.query()),
            _ => allowed("GET"),
        },
        "/_sim/reports/discrepancies" => match *method {
            Method::GET => reports::answer_key(state),
            _ => allowed("GET"),
        },
        "/_sim/webhooks/deliveries" => match *method {
            Method::GET => webhooks::deliveries(state, parts.uri.query()),
            _ => allowed("GET"),
        },
        _ if path.starts_with("/_sim/webhooks/resend/") => match *method {
            Method::POST => match crate::api::path_segment(&path["/_sim/webhooks/resend/".len()..])
            {
                Ok(event_id) => webhooks::resend(state, &event_id),
                Err(e) => answer(e.with_param("event_id").into_reply()),
            },
            _ => allowed("POST"),
        },
        _ if path.starts_with("/_sim/3ds/") => {
            let id = &path[three_ds::PREFIX.len()..];
            match *method {
                Method::GET => three_ds::page(state, parts, id),
                Method::POST => three_ds::answer_challenge(state, parts, id, body).await,
                _ => allowed("GET, POST"),
            }
        }
        _ if path.starts_with("/_sim/checkout/") && path.ends_with("/pay") => match *method {
            Method::POST => checkout::pay(state, parts, checkout_id(path, "/pay"), body).await,
            _ => allowed("POST"),
        },
        _ if path.starts_with("/_sim/checkout/") && path.ends_with("/return") => match *method {
            Method::GET => checkout::returned(state, checkout_id(path, "/return")),
            _ => allowed("GET"),
        },
        _ if path.starts_with("/_sim/checkout/") => match *method {
            Method::GET => checkout::page(state, checkout_id(path, "")),
            _ => allowed("GET"),
        },
        "/metrics" => match *method {
            Method::GET => metrics::response(state),
            _ => allowed("GET"),
        },
        "/openapi.json" => match *method {
            Method::GET => openapi::response(),
            _ => allowed("GET"),
        },
        "/_sim/scenarios" => match *method {
            Method::GET => scenarios::list(state),
            _ => allowed("GET"),
        },
        _ if path.starts_with("/_sim/scenarios/") && path.ends_with("/activate") => match *method {
            Method::POST => scenarios::activate(state, path),
            _ => allowed("POST"),
        },
        "/_sim/payments" => match *method {
            Method::GET => payments::by_reference(state, parts.uri.query()),
            _ => allowed("GET"),
        },
        _ if path.starts_with("/_sim/payments/") => match *method {
            Method::GET => payments::by_id(state, path),
            _ => allowed("GET"),
        },
        "/_sim/ui" | "/_sim/ui/app.js" | "/_sim/ui/style.css" => match *method {
            Method::GET => ui::asset(method, path),
            _ => allowed("GET"),
        },
        _ => answer(ApiError::unknown_route(method, path).into_reply()),
    }
}

/// The session id in `/_sim/checkout/{id}{suffix}`.
fn checkout_id<'a>(path: &'a str, suffix: &str) -> &'a str {
    path[checkout::PREFIX.len()..]
        .strip_suffix(suffix)
        .unwrap_or_default()
}

fn authorized(state: &SimState, headers: &http::HeaderMap) -> bool {
    let Some(token) = state.admin_token() else {
        return true;
    };
    let given = headers
        .get("x-admin-token")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .or_else(|| crate::api::bearer_api_key(headers));
    given == Some(token)
}

/// An answer of the control plane (always JSON, never a replay).
fn answer(reply: Reply) -> Response<Body> {
    into_response(reply)
}

fn json(status: StatusCode, value: &impl Serialize) -> Response<Body> {
    answer(Reply::json(
        status,
        Bytes::from(serde_json::to_vec(value).unwrap_or_default()),
    ))
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
}
