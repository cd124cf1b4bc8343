//! `GET /metrics`: the stats in Prometheus' text format.

use std::fmt::Write as _;

use bytes::Bytes;
use http::{HeaderValue, Response};

use crate::response::{Body, full};
use crate::state::SimState;

pub(super) fn response(state: &SimState) -> Response<Body> {
    let mut r = Response::new(full(Bytes::from(render(state))));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// `/metrics` in Prometheus' text format.
fn render(state: &SimState) -> String {
    let s = super::stats(state);
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
    let faults = by_kind(&s.faults);
    let faults: Vec<(&str, i64)> = faults.iter().map(|(l, n)| (l.as_str(), *n)).collect();
    metric(
        "injected_faults_total",
        "counter",
        "Faults injected on purpose, by kind.",
        &faults,
    );
    let q = &s.queue;
    metric(
        "queue_depth",
        "gauge",
        "Requests waiting for a [gateway.capacity] worker now.",
        &[("", q.depth as i64)],
    );
    metric(
        "queue_depth_max",
        "gauge",
        "The most requests that waited for a worker at once.",
        &[("", q.max_depth as i64)],
    );
    metric(
        "queue_rejected_total",
        "counter",
        "Requests refused with 503 because the worker queue was full.",
        &[("", q.rejected as i64)],
    );
    metric(
        "workers_busy",
        "gauge",
        "[gateway.capacity] workers serving a request now.",
        &[("", q.busy_workers as i64)],
    );
    let w = &s.webhooks;
    metric(
        "webhook_deliveries_pending",
        "gauge",
        "Webhook deliveries waiting (not due yet, retries, an outage's backlog) and under way.",
        &[
            ("{state=\"queued\"}", w.pending as i64),
            ("{state=\"in_flight\"}", w.in_flight as i64),
        ],
    );
    metric(
        "webhook_attempts_total",
        "counter",
        "Webhook delivery attempts, by outcome.",
        &[
            ("{outcome=\"delivered\"}", w.delivered as i64),
            ("{outcome=\"failed\"}", w.failed_attempts as i64),
        ],
    );
    metric(
        "webhook_deliveries_lost_total",
        "counter",
        "Webhook deliveries given up: every attempt failed, or the queue was full.",
        &[
            ("{reason=\"exhausted\"}", w.exhausted as i64),
            ("{reason=\"overflow\"}", w.overflow as i64),
        ],
    );
    let webhook_faults = by_kind(&w.faults);
    let webhook_faults: Vec<(&str, i64)> = webhook_faults
        .iter()
        .map(|(l, n)| (l.as_str(), *n))
        .collect();
    metric(
        "webhook_faults_total",
        "counter",
        "Webhook delivery faults applied on purpose, by kind.",
        &webhook_faults,
    );
    out
}

/// Counts by kind as Prometheus samples: `{kind="..."}` and the count.
fn by_kind(counts: &std::collections::BTreeMap<&'static str, u64>) -> Vec<(String, i64)> {
    counts
        .iter()
        .map(|(kind, n)| (format!("{{kind=\"{kind}\"}}"), *n as i64))
        .collect()
}
