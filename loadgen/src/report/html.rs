//! `report.html`: one self-contained page (inline CSS and SVG, no scripts, nothing fetched), so
//! it opens offline and survives being attached to a ticket: verdict, checks, latency percentile
//! plot, throughput and p95 over time (with the gateway's outage and brownout windows shaded),
//! latency per step, orders, and the violations table (with when each kind happened).

use std::fmt::Write as _;

use super::chart::{Band, Series, line_chart, nice_ceiling};
use super::gateway_windows::{WindowKind, clock_note};
use super::{RunReport, escape_markup as esc};
use crate::latency::StepLatency;
use crate::webhook_delivery::WebhookDelivery;

/// Violations listed in the page (the JSON report has up to a thousand).
const VIOLATIONS_IN_HTML: usize = 200;

const CSS: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}\
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}\
th{background:#f4f4f4}td.l,th.l{text-align:left}.pass{color:#176b2c;font-weight:bold}\
.fail{color:#b00020;font-weight:bold}.badge{padding:4px 12px;border-radius:4px;color:#fff}\
.badge.pass{background:#176b2c}.badge.fail{background:#b00020}svg{background:#fff;border:1px solid #eee}\
details pre{font-size:12px;background:#f8f8f8;padding:6px;overflow-x:auto}";

pub fn render_html(report: &RunReport) -> String {
    let m = &report.meta;
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    let _ = writeln!(
        h,
        "<title>loadgen: {}</title><style>{CSS}</style></head><body>",
        esc(&m.scenario)
    );
    let (class, verdict) = if report.passed {
        ("pass", "PASSED")
    } else {
        ("fail", "FAILED")
    };
    let _ = writeln!(
        h,
        "<h1>loadgen · {} <span class=\"badge {class}\">{verdict}</span></h1>",
        esc(&m.scenario)
    );
    let ratio = if m.target_rate > 0.0 {
        m.achieved_rate / m.target_rate
    } else {
        1.0
    };
    h.push_str("<table>");
    let rows = [
        ("mode", m.mode.as_str().to_owned()),
        ("target", m.target_url.clone()),
        ("seed", m.seed.to_string()),
        ("target rate", format!("{:.1} orders/s", m.target_rate)),
        (
            "achieved rate",
            format!("{:.1} orders/s (ratio {ratio:.3})", m.achieved_rate),
        ),
        ("duration", format!("{:.1} s", m.duration_s)),
        ("users", m.users.to_string()),
        ("orders", report.orders.total.to_string()),
        ("requests", report.requests.to_string()),
        (
            "errors",
            format!("{} ({:.2}%)", report.errors, report.error_rate * 100.0),
        ),
        ("loadgen", report.loadgen_version.clone()),
    ];
    for (k, v) in rows {
        let _ = write!(
            h,
            "<tr><th class=\"l\">{k}</th><td class=\"l\">{}</td></tr>",
            esc(&v)
        );
    }
    h.push_str("</table>\n");

    checks_table(&mut h, report);

    h.push_str("<h2>Latency</h2>\n");
    h.push_str(&percentile_plot(report));
    latency_table(&mut h, report);

    h.push_str("<h2>Over time</h2>\n");
    h.push_str(&throughput_plot(report));
    h.push_str(&p95_plot(report));
    if !report.gateway_windows.is_empty() {
        let note = clock_note(report.gateway_lead_ms);
        let _ = writeln!(h, "<p>{}</p>", esc(&note));
    }

    h.push_str("<h2>Orders</h2>\n<table><tr><th class=\"l\">flow</th><th>orders</th></tr>");
    for (flow, n) in &report.orders.by_flow {
        let _ = write!(h, "<tr><td class=\"l\">{}</td><td>{n}</td></tr>", esc(flow));
    }
    h.push_str("</table><table><tr><th class=\"l\">client result</th><th>orders</th></tr>");
    for (result, n) in &report.orders.by_result {
        let _ = write!(
            h,
            "<tr><td class=\"l\">{}</td><td>{n}</td></tr>",
            esc(result)
        );
    }
    h.push_str("</table>\n");

    violations_table(&mut h, report);
    h.push_str("</body></html>\n");
    h
}

fn checks_table(h: &mut String, report: &RunReport) {
    h.push_str("<h2>Checks</h2>\n<table><tr><th class=\"l\">check</th><th>verdict</th><th>observed</th><th>limit</th><th class=\"l\">detail</th></tr>\n");
    for c in &report.checks {
        let (class, verdict) = if c.passed {
            ("pass", "pass")
        } else {
            ("fail", "FAIL")
        };
        let limit = c.limit.map_or_else(|| "–".to_owned(), |l| l.to_string());
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td class=\"{class}\">{verdict}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
            esc(&c.name),
            c.observed,
            esc(&limit),
            esc(&c.detail)
        );
    }
    h.push_str("</table>\n");
}

fn latency_table(h: &mut String, report: &RunReport) {
    h.push_str("<table><tr><th class=\"l\">step</th><th class=\"l\"></th><th>count</th><th>errors</th><th>p50 ms</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th><th>mean</th></tr>\n");
    let mut row = |name: &str, l: &StepLatency| {
        for (label, p) in [("corrected", &l.corrected), ("uncorrected", &l.uncorrected)] {
            let _ = writeln!(
                h,
                "<tr><td class=\"l\">{}</td><td class=\"l\">{label}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td></tr>",
                esc(name),
                l.count,
                l.errors,
                p.p50_ms,
                p.p90_ms,
                p.p95_ms,
                p.p99_ms,
                p.p999_ms,
                p.max_ms,
                p.mean_ms
            );
        }
    };
    row("overall", &report.latency.overall);
    for (step, l) in &report.latency.steps {
        row(step, l);
    }
    h.push_str("</table>\n<p>Corrected latency counts from the time the open-model schedule meant to send the request (coordinated omission corrected); uncorrected from when it was actually sent.</p>\n");
}

fn violations_table(h: &mut String, report: &RunReport) {
    let money = &report.money;
    h.push_str("<h2>Money</h2>\n");
    if !money.checked {
        h.push_str("<p class=\"fail\">Not checked: the ledger could not be read.</p>\n");
        return;
    }
    let c = &money.counts;
    let _ = writeln!(
        h,
        "<table><tr><th class=\"l\">ledger entries</th><th>double charges</th><th>lost charges</th><th>orphan charges</th><th>amount mismatches</th><th>unresolved</th><th>unknown charges</th></tr>\
         <tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>",
        money.ledger_entries,
        c.double_charges,
        c.lost_charges,
        c.orphan_charges,
        c.amount_mismatches,
        c.unresolved,
        c.unknown_charges
    );
    if let Some(m) = &c.merchant {
        let _ = writeln!(
            h,
            "<table><tr><th class=\"l\">merchant views</th><th>unreadable</th><th>double fulfilments</th><th>paid not charged</th><th>charged not paid</th><th>state regressions</th><th>refund mismatches</th></tr>\
             <tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>",
            m.views,
            m.unreadable,
            m.double_fulfilments,
            m.paid_not_charged,
            m.charged_not_paid,
            m.state_regressions,
            m.refund_mismatches
        );
    }
    if money.violations.is_empty() {
        h.push_str("<p>No violations: every order's money matches what its client was told.</p>\n");
        return;
    }
    h.push_str(&super::kind_times_table(&money.by_kind));
    let shown = money.violations.len().min(VIOLATIONS_IN_HTML);
    let _ = writeln!(
        h,
        "<p>{} violations; the first {shown} below (report.json lists up to {}).</p>",
        money.violations_total,
        super::VIOLATIONS_IN_REPORT
    );
    h.push_str("<table><tr><th class=\"l\">kind</th><th class=\"l\">order</th><th class=\"l\">flow</th><th class=\"l\">client</th><th>amount</th><th>captured</th><th>captures</th><th>refunded</th><th class=\"l\">idempotency keys</th><th class=\"l\">payments</th><th class=\"l\">detail, ledger and webhooks</th></tr>\n");
    for v in money.violations.iter().take(shown) {
        let ledger: String = v
            .ledger
            .iter()
            .map(|e| serde_json::to_string(e).unwrap_or_default() + "\n")
            .collect();
        let _ = writeln!(
            h,
            "<tr><td class=\"l fail\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td>\
             <td class=\"l\"><details><summary>{}</summary><pre>{}</pre></details>{}</td></tr>",
            v.kind.as_str(),
            esc(&v.order_id),
            esc(&v.flow),
            v.result.as_str(),
            v.amount,
            esc(&v.currency),
            v.captured,
            v.captures,
            v.refunded,
            esc(&v.idempotency_keys.join(" ")),
            esc(&v.payment_ids.join(" ")),
            esc(&v.detail),
            esc(&ledger),
            deliveries_table(&v.deliveries)
        );
    }
    h.push_str("</table>\n");
}

/// The webhook deliveries of a merchant-view violation's order, folded under a count (empty
/// when there are none): the line that shows why the merchant fulfilled twice or never saw
/// the payment.
fn deliveries_table(deliveries: &[WebhookDelivery]) -> String {
    if deliveries.is_empty() {
        return String::new();
    }
    let mut t = format!(
        "<details><summary>{} webhook deliveries</summary><table><tr><th class=\"l\">event</th><th class=\"l\">type</th><th>attempt</th><th class=\"l\">outcome</th><th>status</th><th class=\"l\">faults</th></tr>",
        deliveries.len()
    );
    for d in deliveries {
        let status = d.status.map_or_else(|| "–".to_owned(), |s| s.to_string());
        let _ = write!(
            t,
            "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td class=\"l\">{}</td><td>{status}</td><td class=\"l\">{}</td></tr>",
            esc(&d.event_id),
            esc(&d.event_type),
            d.attempt,
            esc(&d.outcome),
            esc(&d.faults.join(", "))
        );
    }
    t.push_str("</table></details>");
    t
}

/// The classic HdrHistogram percentile plot: x is log10(1 / (1 - percentile)), so 90%, 99%,
/// 99.9% ... are evenly spaced and the tail gets the room it deserves.
fn percentile_plot(report: &RunReport) -> String {
    const X_MAX: f64 = 6.0; // where 100% (the max) is drawn
    let x_of = |percentile: f64| {
        let rest = 1.0 - percentile / 100.0;
        if rest <= 1e-6 {
            X_MAX
        } else {
            (1.0 / rest).log10().min(X_MAX)
        }
    };
    let curve = &report.latency.curve;
    let ticks: Vec<(f64, String)> = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "max"]
        .iter()
        .enumerate()
        .map(|(i, l)| (i as f64, (*l).to_owned()))
        .collect();
    line_chart(
        "Latency by percentile (all steps)",
        "ms",
        (0.0, X_MAX),
        &ticks,
        &[
            Series {
                name: "corrected (from intended send)",
                color: "#c0392b",
                dashed: false,
                points: curve
                    .iter()
                    .map(|p| (x_of(p.percentile), p.corrected_ms))
                    .collect(),
            },
            Series {
                name: "uncorrected (from actual send)",
                color: "#2c7fb8",
                dashed: true,
                points: curve
                    .iter()
                    .map(|p| (x_of(p.percentile), p.uncorrected_ms))
                    .collect(),
            },
        ],
        &[],
    )
}

fn time_ticks(report: &RunReport) -> ((f64, f64), Vec<(f64, String)>) {
    let last = report
        .timeline
        .last()
        .map_or(1.0, |s| s.second as f64 + 1.0);
    let step = nice_ceiling(last / 8.0).max(1.0);
    let mut ticks = Vec::new();
    let mut t = 0.0;
    while t <= last {
        ticks.push((t, format!("{t}s")));
        t += step;
    }
    ((0.0, last), ticks)
}

fn throughput_plot(report: &RunReport) -> String {
    let (range, ticks) = time_ticks(report);
    let at_mid = |second: u64| second as f64 + 0.5;
    line_chart(
        "Requests completed per second",
        "requests/s",
        range,
        &ticks,
        &[
            Series {
                name: "completed",
                color: "#2c7fb8",
                dashed: false,
                points: report
                    .timeline
                    .iter()
                    .map(|s| (at_mid(s.second), s.count as f64))
                    .collect(),
            },
            Series {
                name: "errors",
                color: "#c0392b",
                dashed: false,
                points: report
                    .timeline
                    .iter()
                    .map(|s| (at_mid(s.second), s.errors as f64))
                    .collect(),
            },
        ],
        &window_bands(report),
    )
}

fn p95_plot(report: &RunReport) -> String {
    let (range, ticks) = time_ticks(report);
    let at_mid = |second: u64| second as f64 + 0.5;
    line_chart(
        "Latency over time (corrected, all steps)",
        "ms",
        range,
        &ticks,
        &[
            Series {
                name: "p95",
                color: "#e67e22",
                dashed: false,
                points: report
                    .timeline
                    .iter()
                    .map(|s| (at_mid(s.second), s.p95_ms))
                    .collect(),
            },
            Series {
                name: "p99",
                color: "#8e44ad",
                dashed: true,
                points: report
                    .timeline
                    .iter()
                    .map(|s| (at_mid(s.second), s.p99_ms))
                    .collect(),
            },
        ],
        &window_bands(report),
    )
}

/// The gateway's windows as bands on the over-time charts (whose x is seconds since the run's
/// start, as the windows' times are).
fn window_bands(report: &RunReport) -> Vec<Band<'_>> {
    report
        .gateway_windows
        .iter()
        .map(|w| Band {
            from: w.from_s,
            until: w.until_s.unwrap_or(f64::INFINITY),
            label: &w.label,
            color: match w.kind {
                WindowKind::Outage => "#c0392b",
                WindowKind::Brownout => "#e67e22",
                WindowKind::WebhookOutage => "#8e44ad",
            },
        })
        .collect()
}
