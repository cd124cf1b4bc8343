//! The control plane: `/_sim/*` (ledger, stats, config, reset, clock) and
//! `/metrics`. This is how tests and loadgen look inside the simulator.
//!
//! An optional admin token guards `/_sim/*` (health excepted, so probes work);
//! send it as `Authorization: Bearer <token>` or `X-Admin-Token: <token>`.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Frame;
use serde::{Deserialize, Serialize};

use crate::api::{ApiError, Reply};
use crate::behaviour::{self, BehaviourConfig};
use crate::engine::Engine;
use crate::server::{Body, full};
use crate::state::SimState;

/// Ledger entries rendered per chunk of the NDJSON stream.
const LEDGER_CHUNK: u64 = 4096;

/// Whether `path` belongs to the control plane rather than a front door.
pub fn owns(path: &str) -> bool {
    path.starts_with("/_sim/") || path == "/_sim" || path == "/metrics"
}

pub async fn handle(
    state: &SimState,
    parts: &http::request::Parts,
    body: &Bytes,
) -> Response<Body> {
    let path = parts.uri.path().trim_end_matches('/');
    let method = &parts.method;
    if path != "/_sim/health" && path != "/metrics" && !authorized(state, &parts.headers) {
        return reply(ApiError::unauthorized_admin().into_reply());
    }
    let allowed =
        |allow: &'static str| reply(ApiError::method_not_allowed(method, path, allow).into_reply());
    match path {
        "/_sim/health" => match *method {
            Method::GET => json(StatusCode::OK, &Health { status: "ok" }),
            _ => allowed("GET"),
        },
        "/_sim/stats" => match *method {
            Method::GET => json(StatusCode::OK, &stats(state)),
            _ => allowed("GET"),
        },
        "/_sim/ledger" => match *method {
            Method::GET => ledger(state.engine(), parts.uri.query()),
            _ => allowed("GET"),
        },
        "/_sim/config" => match *method {
            Method::GET => json(StatusCode::OK, &current_config(state)),
            Method::PUT => put_config(state, &parts.headers, body),
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
        "/_sim/clock/advance" => match *method {
            Method::POST => advance_clock(state, body),
            _ => allowed("POST"),
        },
        "/metrics" => match *method {
            Method::GET => {
                let mut r = Response::new(full(Bytes::from(metrics(state))));
                r.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                );
                r
            }
            _ => allowed("GET"),
        },
        _ => reply(ApiError::unknown_route(method, path).into_reply()),
    }
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

fn reply(r: Reply) -> Response<Body> {
    let mut response = Response::new(full(r.body));
    *response.status_mut() = r.status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(allow) = r.allow {
        response
            .headers_mut()
            .insert(http::header::ALLOW, HeaderValue::from_static(allow));
    }
    response
}

fn json(status: StatusCode, value: &impl Serialize) -> Response<Body> {
    reply(Reply::json(
        status,
        Bytes::from(serde_json::to_vec(value).unwrap_or_default()),
    ))
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
}

/// `GET /_sim/stats`.
#[derive(Serialize)]
pub struct Stats {
    pub ledger: crate::engine::LedgerStats,
    pub requests: u64,
    pub rate_limited: u64,
    /// Injected faults by kind.
    pub faults: std::collections::BTreeMap<&'static str, u64>,
    pub uptime_ms: u64,
    pub sim_time_ms: u64,
}

pub fn stats(state: &SimState) -> Stats {
    let counters = state.counters();
    Stats {
        ledger: state.engine().stats(),
        requests: counters.requests.load(std::sync::atomic::Ordering::Relaxed),
        rate_limited: counters
            .rate_limited
            .load(std::sync::atomic::Ordering::Relaxed),
        faults: counters.faults(),
        uptime_ms: state.uptime().as_millis() as u64,
        sim_time_ms: state.engine().clock().now_ms(),
    }
}

#[derive(Serialize)]
struct ConfigView {
    seed: u64,
    gateway: BehaviourConfig,
}

fn current_config(state: &SimState) -> ConfigView {
    ConfigView {
        seed: state.seed(),
        gateway: state.live().behaviour.config().clone(),
    }
}

/// Replaces the behaviour: a JSON `[gateway]` table, or (with a TOML content type)
/// a scenario file. Invalid input names the field at fault and changes nothing.
fn put_config(state: &SimState, headers: &http::HeaderMap, body: &Bytes) -> Response<Body> {
    let is_toml = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("toml"));
    let parsed = if is_toml {
        match std::str::from_utf8(body) {
            Ok(text) => behaviour::parse_scenario_gateway(text),
            Err(_) => {
                return reply(
                    ApiError::invalid("invalid_config", "The TOML body is not UTF-8.").into_reply(),
                );
            }
        }
    } else {
        match std::str::from_utf8(body) {
            Ok(text) => BehaviourConfig::from_json(text),
            Err(_) => {
                return reply(
                    ApiError::invalid("invalid_config", "The JSON body is not UTF-8.").into_reply(),
                );
            }
        }
    };
    let applied = parsed.and_then(|config| state.set_behaviour(config));
    match applied {
        Ok(()) => {
            tracing::info!("behaviour replaced through PUT /_sim/config");
            json(StatusCode::OK, &current_config(state))
        }
        Err(e) => reply(
            ApiError::invalid("invalid_config", format!("{}: {}", e.field, e.message))
                .with_param(e.field)
                .into_reply(),
        ),
    }
}

fn advance_clock(state: &SimState, body: &Bytes) -> Response<Body> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Advance {
        seconds: u64,
    }
    match serde_json::from_slice::<Advance>(body) {
        Ok(a) => {
            state.engine().advance_clock(Duration::from_secs(a.seconds));
            json(StatusCode::OK, &stats(state))
        }
        Err(e) => reply(
            ApiError::invalid(
                "parameter_invalid",
                format!("Send {{\"seconds\": n}} with n a whole number: {e}"),
            )
            .with_param("seconds")
            .into_reply(),
        ),
    }
}

/// `GET /_sim/ledger[?from=N]`: the ledger as NDJSON, streamed in chunks. It
/// covers the entries that existed when the request arrived.
fn ledger(engine: &Engine, query: Option<&str>) -> Response<Body> {
    let from = crate::api::query_param(query, "from")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1)
        .max(1);
    let stream = LedgerStream {
        engine: engine.clone(),
        next: from,
        end: engine.ledger_len(),
    };
    let mut r = Response::new(stream.boxed());
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    r
}

struct LedgerStream {
    engine: Engine,
    next: u64,
    end: u64,
}

impl hyper::body::Body for LedgerStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.next > this.end {
            return Poll::Ready(None);
        }
        let to = (this.next + LEDGER_CHUNK - 1).min(this.end);
        let entries = this.engine.ledger_range(this.next, to);
        if entries.is_empty() {
            // The ledger was reset under us: end the stream where it stands.
            return Poll::Ready(None);
        }
        let mut buf = Vec::with_capacity(entries.len() * 220);
        for entry in &entries {
            if serde_json::to_writer(&mut buf, entry).is_ok() {
                buf.push(b'\n');
            }
        }
        this.next = to + 1;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(buf)))))
    }
}

/// `/metrics` in Prometheus' text format.
fn metrics(state: &SimState) -> String {
    let s = stats(state);
    let l = &s.ledger;
    let mut out = String::with_capacity(2048);
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, i64)]| {
        let _ = writeln!(
            out,
            "# HELP gateway_sim_{name} {help}\n# TYPE gateway_sim_{name} {kind}"
        );
        for (labels, value) in samples {
            let _ = writeln!(out, "gateway_sim_{name}{labels} {value}");
        }
    };
    metric(
        "requests_total",
        "counter",
        "API requests received.",
        &[("", s.requests as i64)],
    );
    metric(
        "payments",
        "gauge",
        "Payments by status.",
        &[
            ("{status=\"requires_capture\"}", l.requires_capture as i64),
            ("{status=\"succeeded\"}", l.succeeded as i64),
            ("{status=\"canceled\"}", l.canceled as i64),
            ("{status=\"failed\"}", l.failed as i64),
            (
                "{status=\"requires_payment_method\"}",
                l.requires_payment_method as i64,
            ),
            (
                "{status=\"requires_confirmation\"}",
                l.requires_confirmation as i64,
            ),
        ],
    );
    metric(
        "amount_total",
        "counter",
        "Money moved, minor units, by ledger entry kind.",
        &[
            ("{kind=\"authorization\"}", l.authorized_amount),
            ("{kind=\"capture\"}", l.captured_amount),
            ("{kind=\"release\"}", l.released_amount),
            ("{kind=\"refund\"}", l.refunded_amount),
        ],
    );
    metric(
        "ledger_entries",
        "gauge",
        "Entries in the ledger.",
        &[("", l.ledger_entries as i64)],
    );
    metric(
        "idempotency_total",
        "counter",
        "Idempotency key outcomes other than first use.",
        &[
            ("{outcome=\"replayed\"}", l.replays as i64),
            ("{outcome=\"mismatch\"}", l.key_mismatches as i64),
            ("{outcome=\"in_use\"}", l.key_in_use_conflicts as i64),
        ],
    );
    metric(
        "rate_limited_total",
        "counter",
        "Requests refused with 429.",
        &[("", s.rate_limited as i64)],
    );
    let faults: Vec<(String, i64)> = s
        .faults
        .iter()
        .map(|(kind, n)| (format!("{{kind=\"{kind}\"}}"), *n as i64))
        .collect();
    let faults: Vec<(&str, i64)> = faults.iter().map(|(l, n)| (l.as_str(), *n)).collect();
    metric(
        "injected_faults_total",
        "counter",
        "Faults injected on purpose, by kind.",
        &faults,
    );
    out
}
