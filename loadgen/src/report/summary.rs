//! The plain-text summary printed at the end of a run: rates, orders, latency per step
//! (corrected beside uncorrected), money, and every check's verdict.

use std::fmt::Write as _;

use super::{RunMeta, RunMode, RunReport};
use crate::latency::StepLatency;

/// How many violations the summary quotes (the reports list more).
const VIOLATIONS_SHOWN: usize = 5;

pub fn render_summary(report: &RunReport) -> String {
    let m = &report.meta;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "loadgen {} · scenario {} · {} {} · seed {}",
        report.loadgen_version,
        m.scenario,
        m.mode.as_str(),
        m.target_url,
        m.seed
    );
    let ratio = if m.target_rate > 0.0 {
        m.achieved_rate / m.target_rate
    } else {
        1.0
    };
    let _ = writeln!(
        s,
        "rate      target {:.1}/s, achieved {:.1}/s (ratio {ratio:.3}) over {:.1} s with {} users",
        m.target_rate, m.achieved_rate, m.duration_s, m.users
    );
    let results: Vec<String> = report
        .orders
        .by_result
        .iter()
        .map(|(result, n)| format!("{result} {n}"))
        .collect();
    let _ = writeln!(
        s,
        "orders    {} ({})",
        report.orders.total,
        results.join(", ")
    );
    let flows: Vec<String> = report
        .orders
        .by_flow
        .iter()
        .map(|(flow, n)| format!("{flow} {n}"))
        .collect();
    let _ = writeln!(s, "flows     {}", flows.join(", "));
    let _ = writeln!(
        s,
        "requests  {}, errors {} ({:.2}%)",
        report.requests,
        report.errors,
        report.error_rate * 100.0
    );
    if let Some(line) = cpu_line(m, report.requests) {
        let _ = writeln!(s, "{line}");
    }

    s.push('\n');
    let _ = writeln!(
        s,
        "{:<22} {:>9} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "latency ms (corrected)", "count", "errors", "p50", "p90", "p95", "p99", "p99.9", "max"
    );
    latency_row(&mut s, "overall", &report.latency.overall, false);
    for (step, l) in &report.latency.steps {
        latency_row(&mut s, &format!("  {step}"), l, false);
    }
    let _ = writeln!(s, "{:<22}", "uncorrected (from send)");
    latency_row(&mut s, "overall", &report.latency.overall, true);
    for (step, l) in &report.latency.steps {
        latency_row(&mut s, &format!("  {step}"), l, true);
    }

    s.push('\n');
    let money = &report.money;
    if money.checked {
        let c = &money.counts;
        let _ = writeln!(
            s,
            "money     {} ledger entries: double charges {}, lost {}, orphan {}, amount mismatches {}, unresolved {}, unknown charges {}",
            money.ledger_entries,
            c.double_charges,
            c.lost_charges,
            c.orphan_charges,
            c.amount_mismatches,
            c.unresolved,
            c.unknown_charges
        );
        if let Some(m) = &c.merchant {
            let _ = writeln!(s, "merchant  {}", merchant_counts(m));
        }
        if !money.disputes.is_empty() {
            let d = &money.disputes;
            let _ = writeln!(
                s,
                "disputes  won {}, open or lost {} (not violations)",
                d.won, d.open_or_lost
            );
        }
        if !money.challenges.is_empty() {
            let c = &money.challenges;
            let _ = writeln!(
                s,
                "3-D Secure  completed {}, abandoned {}, failed {}, unknown {} (any money kept by an abandoned or failed one is an orphan charge)",
                c.completed, c.abandoned, c.failed, c.unknown
            );
        }
        for v in money.violations.iter().take(VIOLATIONS_SHOWN) {
            let _ = writeln!(
                s,
                "  {} order {} ({}), keys [{}]: {}",
                v.kind.as_str(),
                v.order_id,
                v.flow,
                v.idempotency_keys.join(", "),
                v.detail
            );
        }
        if money.violations_total > VIOLATIONS_SHOWN as u64 {
            let _ = writeln!(
                s,
                "  … {} more in report.json / report.html",
                money.violations_total - VIOLATIONS_SHOWN as u64
            );
        }
    } else {
        let _ = writeln!(s, "money     not checked (the ledger could not be read)");
    }

    s.push('\n');
    let _ = writeln!(s, "checks");
    for c in &report.checks {
        let verdict = if c.passed { "PASS" } else { "FAIL" };
        let _ = writeln!(s, "  {verdict}  {:<20} {}", c.name, c.detail);
    }
    let failed = report.checks.iter().filter(|c| !c.passed).count();
    if report.passed {
        let _ = writeln!(s, "result    PASSED ({} checks)", report.checks.len());
    } else {
        let _ = writeln!(
            s,
            "result    FAILED ({failed} of {} checks)",
            report.checks.len()
        );
    }
    s
}

/// CPU per request: what a run costs this machine, steadier than the rate it reached when
/// other work shares the cores.
fn cpu_line(m: &RunMeta, requests: u64) -> Option<String> {
    let seconds = m.cpu_seconds?;
    if requests == 0 {
        return None;
    }
    let whose = match m.mode {
        RunMode::Embedded => "loadgen and its embedded gateway, one process",
        RunMode::Target | RunMode::Service => "loadgen's process; the gateway's is its own",
    };
    Some(format!(
        "cpu       {:.1} µs per request ({whose}): {seconds:.1} s over {requests} requests",
        seconds * 1e6 / requests as f64
    ))
}

fn latency_row(s: &mut String, name: &str, l: &StepLatency, uncorrected: bool) {
    let p = if uncorrected {
        &l.uncorrected
    } else {
        &l.corrected
    };
    let _ = writeln!(
        s,
        "{name:<22} {:>9} {:>7} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
        l.count, l.errors, p.p50_ms, p.p90_ms, p.p95_ms, p.p99_ms, p.p999_ms, p.max_ms
    );
}

/// The merchant-books counts in one line, as the run's summary and `loadgen check` print them.
pub fn merchant_counts(m: &crate::reconcile::MerchantViewCounts) -> String {
    format!(
        "{} views ({} unreadable): double fulfilments {}, paid not charged {}, charged not paid {}, state regressions {}, refund mismatches {}",
        m.views,
        m.unreadable,
        m.double_fulfilments,
        m.paid_not_charged,
        m.charged_not_paid,
        m.state_regressions,
        m.refund_mismatches
    )
}
