//! Tests of the report writers: every file written into a temporary directory and read back.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use gateway_sim::{EntryKind, LedgerEntry};

use super::*;
use crate::outcomes::{Attempt, ClientResult};
use crate::reconcile::{ViolationKind, reconcile};
use crate::thresholds::CheckThresholds;

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        TempDir(std::env::temp_dir().join(format!(
            "loadgen-report-{name}-{}-{nanos}",
            std::process::id()
        )))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn outcome(id: &str, flow: &str, keys: &[&str], result: ClientResult) -> OrderOutcome {
    OrderOutcome {
        order_id: id.to_owned(),
        flow: flow.to_owned(),
        merchant: "sk_test_loadgen_0".to_owned(),
        amount: 1000,
        currency: "usd".to_owned(),
        expected_capture: 1000,
        expected_refund: 0,
        result,
        attempts: keys
            .iter()
            .map(|k| Attempt {
                step: "create".to_owned(),
                idempotency_key: Some((*k).to_owned()),
                status: Some(200),
                payment_id: None,
                error: None,
                latency_us: 2000,
            })
            .collect(),
        first_sent_ms: None,
        challenge: None,
    }
}

fn capture(seq: u64, payment: &str, reference: &str) -> LedgerEntry {
    LedgerEntry {
        seq,
        time_ms: 1_790_000_000_000,
        merchant: "sk_test_loadgen_0".to_owned(),
        payment_id: payment.to_owned(),
        reference: Some(reference.to_owned()),
        idempotency_key: None,
        kind: EntryKind::Capture,
        amount: 1000,
        currency: "usd".to_owned(),
        decline_code: None,
        reason: None,
    }
}

/// A small run: 3 seconds of "create" and "capture" requests, one order charged twice under a
/// name that needs escaping, thresholds that fail the double charge and the p95.
fn sample() -> (RunReport, LatencyRecorder, Vec<OrderOutcome>) {
    let start = Instant::now();
    let recorder = LatencyRecorder::with_start(start);
    for second in 0..3u64 {
        for i in 0..10u64 {
            let done = start + Duration::from_millis(second * 1000 + 100 + i * 10);
            let intended = done - Duration::from_millis(5 + i);
            recorder.record("create", intended, intended, done, i != 9);
            recorder.record(
                "capture",
                done - Duration::from_millis(3),
                done - Duration::from_millis(2),
                done,
                true,
            );
        }
    }
    let outcomes = vec![
        outcome("o-1", "purchase", &["k1"], ClientResult::Succeeded),
        outcome(
            "o-<2>&\"x\"",
            "retry_new_key",
            &["k2a", "k2b"],
            ClientResult::Succeeded,
        ),
        outcome("o-3", "purchase", &["k3"], ClientResult::Unknown),
    ];
    let ledger = vec![
        capture(1, "pay_1", "o-1"),
        capture(2, "pay_2a", "o-<2>&\"x\""),
        capture(3, "pay_2b", "o-<2>&\"x\""),
        capture(4, "pay_3", "o-3"),
    ];
    let rec = reconcile(&outcomes, &ledger);
    let latency = recorder.summary();
    let thresholds = CheckThresholds {
        p95_ms: Some(1.0),
        max_error_rate: Some(0.5),
        ..CheckThresholds::default()
    };
    let checks = thresholds.evaluate(&rec.counts, &latency, 20.0, 19.5, error_rate(&latency));
    let meta = RunMeta {
        scenario: "retry-storm".to_owned(),
        mode: RunMode::Embedded,
        target_url: "http://127.0.0.1:4242".to_owned(),
        seed: 7,
        started_at_unix_ms: 1_790_000_000_000,
        target_rate: 20.0,
        achieved_rate: 19.5,
        duration_s: 3.0,
        users: 4,
        cpu_seconds: None,
    };
    let report = RunReport::new(
        meta,
        latency,
        recorder.timeline(),
        &outcomes,
        Some(&rec),
        checks,
    );
    (report, recorder, outcomes)
}

#[test]
fn report_figures_come_from_the_run() {
    let (report, _, _) = sample();
    assert_eq!(report.schema_version, SCHEMA_VERSION);
    assert_eq!(report.orders.total, 3);
    assert_eq!(report.orders.by_flow.get("purchase"), Some(&2));
    assert_eq!(report.orders.by_result.get("unknown"), Some(&1));
    assert_eq!(report.requests, 60);
    assert_eq!(report.errors, 3);
    assert!((report.error_rate - 0.05).abs() < 1e-12);
    assert_eq!(report.timeline.len(), 3);
    assert_eq!(report.money.violations_total, 1);
    assert_eq!(report.money.counts.unresolved, 1);
    assert!(!report.passed);
    let failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(failed, vec!["double_charges", "p95_ms"]);
}

#[test]
fn violations_beyond_the_cap_are_counted_not_listed() {
    let outcomes: Vec<OrderOutcome> = (0..VIOLATIONS_IN_REPORT + 5)
        .map(|i| {
            outcome(
                &format!("o-{i}"),
                "purchase",
                &["k"],
                ClientResult::Succeeded,
            )
        })
        .collect();
    // No ledger at all: every order is a lost charge.
    let rec = reconcile(&outcomes, &[]);
    let money = MoneySummary::from_reconciliation(&rec);
    assert_eq!(money.violations_total, (VIOLATIONS_IN_REPORT + 5) as u64);
    assert_eq!(money.violations.len(), VIOLATIONS_IN_REPORT);
    assert!(
        money
            .violations
            .iter()
            .all(|v| v.kind == ViolationKind::LostCharge)
    );
}

#[test]
fn every_report_file_is_written_and_reads_back() {
    let (report, recorder, outcomes) = sample();
    let dir = TempDir::new("all");
    let files = match write_report_dir(
        &dir.0.join("nested"),
        &report,
        Some(&recorder),
        Some(&outcomes),
    ) {
        Ok(files) => files,
        Err(e) => panic!("writing the report dir failed: {e}"),
    };

    // report.json: the same report, and the documented top-level fields.
    let back = read_json(&files.json);
    assert_eq!(back.as_ref().ok(), Some(&report), "{back:?}");
    let raw: serde_json::Value =
        match std::fs::read(&files.json).map(|b| serde_json::from_slice(&b)) {
            Ok(Ok(v)) => v,
            other => panic!("report.json unreadable: {other:?}"),
        };
    for field in [
        "schema_version",
        "scenario",
        "mode",
        "target_url",
        "seed",
        "target_rate",
        "achieved_rate",
        "duration_s",
        "users",
        "orders",
        "requests",
        "errors",
        "error_rate",
        "latency",
        "timeline",
        "money",
        "checks",
        "passed",
    ] {
        assert!(raw.get(field).is_some(), "report.json lacks {field}");
    }
    assert_eq!(raw["mode"], "embedded");
    assert_eq!(raw["money"]["violations"][0]["kind"], "double_charge");
    assert_eq!(raw["latency"]["steps"]["create"]["count"], 30);

    // junit.xml: one test case per check, failures carry the order id (escaped) and keys.
    let junit = std::fs::read_to_string(&files.junit).unwrap_or_default();
    assert!(junit.starts_with("<?xml"));
    assert_eq!(junit.matches("<testcase ").count(), report.checks.len());
    assert_eq!(junit.matches("<failure ").count(), 2);
    assert!(junit.contains("tests=\"7\" failures=\"2\""), "{junit}");
    assert!(junit.contains("o-&lt;2&gt;&amp;&quot;x&quot;"), "{junit}");
    assert!(junit.contains("k2a, k2b"));
    assert!(!junit.contains("o-<2>"), "unescaped order id in XML");
    assert_eq!(
        junit.matches("<testsuite ").count(),
        junit.matches("</testsuite>").count()
    );
    assert_eq!(junit.matches("</testcase>").count(), 2);
    assert!(junit.trim_end().ends_with("</testsuites>"));

    // report.html: self-contained, with plots and the violation.
    let html = std::fs::read_to_string(&files.html).unwrap_or_default();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<svg ").count(), 3);
    assert!(html.contains("<polyline"));
    assert!(html.contains("FAILED"));
    assert!(html.contains("o-&lt;2&gt;&amp;&quot;x&quot;"));
    assert!(!html.contains("<script"), "the page must not need scripts");
    assert!(
        !html.contains("src=\"http"),
        "the page must not fetch anything"
    );

    // latency.hlog: per second, an untagged interval plus corrected/uncorrected per step,
    // and the counts recorded.
    let intervals = match read_hlog(files.hlog.as_deref().unwrap_or(Path::new(""))) {
        Ok(i) => i,
        Err(e) => panic!("latency.hlog unreadable: {e}"),
    };
    assert_eq!(intervals.len(), 3 * 5);
    let total = |tag: Option<&str>| -> u64 {
        intervals
            .iter()
            .filter(|i| i.tag.as_deref() == tag)
            .map(|i| i.histogram.len())
            .sum()
    };
    assert_eq!(total(None), 60);
    assert_eq!(total(Some("create")), 30);
    assert_eq!(total(Some("create.uncorrected")), 30);
    assert_eq!(total(Some("capture")), 30);
    let starts: Vec<u64> = intervals
        .iter()
        .filter(|i| i.tag.is_none())
        .map(|i| i.start.as_secs())
        .collect();
    assert_eq!(starts, vec![0, 1, 2]);
    let capture = intervals
        .iter()
        .find(|i| i.tag.as_deref() == Some("capture"));
    let uncorrected = intervals
        .iter()
        .find(|i| i.tag.as_deref() == Some("capture.uncorrected"));
    // Corrected from the intended time (3 ms), uncorrected from the send (2 ms).
    assert_eq!(capture.map(|i| i.histogram.max() / 100), Some(30));
    assert_eq!(uncorrected.map(|i| i.histogram.max() / 100), Some(20));

    // outcomes.ndjson: the outcomes, in order.
    let back = crate::outcomes::read_ndjson(files.outcomes.as_deref().unwrap_or(Path::new("")));
    assert_eq!(back.ok(), Some(outcomes));
}

#[test]
fn the_terminal_summary_names_failures_and_figures() {
    let (report, _, _) = sample();
    let text = render_summary(&report);
    assert!(text.contains("retry-storm"));
    assert!(text.contains("FAIL  double_charges"));
    assert!(text.contains("PASS  lost_charges"));
    assert!(text.contains("result    FAILED (2 of 7 checks)"), "{text}");
    assert!(text.contains("k2a, k2b"));
    assert!(text.contains("  create"));
    assert!(text.contains("achieved 19.5/s"));
    assert!(!text.contains("cpu "), "no CPU time read, no line: {text}");
}

#[test]
fn the_terminal_summary_divides_the_cpu_time_by_the_requests() {
    let (mut report, _, _) = sample();
    report.meta.cpu_seconds = Some(0.5);
    let per_request = 0.5e6 / report.requests as f64;
    let text = render_summary(&report);
    assert!(
        text.contains(&format!(
            "cpu       {per_request:.1} µs per request (loadgen and its embedded gateway, one process)"
        )),
        "{text}"
    );
    // And report.json keeps it for the benchmark scripts.
    let json = serde_json::to_value(&report).expect("serializes");
    assert_eq!(json["cpu_seconds"], 0.5);
}

#[test]
fn a_run_without_ledger_or_recorder_still_writes_its_reports() {
    let meta = RunMeta {
        scenario: "empty".to_owned(),
        mode: RunMode::Service,
        target_url: "http://127.0.0.1:1".to_owned(),
        seed: 0,
        started_at_unix_ms: 0,
        target_rate: 0.0,
        achieved_rate: 0.0,
        duration_s: 0.0,
        users: 0,
        cpu_seconds: None,
    };
    let report = RunReport::new(
        meta,
        LatencySummary::default(),
        Vec::new(),
        &[],
        None,
        Vec::new(),
    );
    assert!(report.passed);
    assert!(!report.money.checked);
    let dir = TempDir::new("empty");
    let files = write_report_dir(&dir.0, &report, None, None);
    let files = match files {
        Ok(f) => f,
        Err(e) => panic!("{e}"),
    };
    assert!(files.hlog.is_none() && files.outcomes.is_none());
    assert_eq!(read_json(&files.json).ok(), Some(report));
    let html = std::fs::read_to_string(&files.html).unwrap_or_default();
    assert!(html.contains("not be read"));
}

/// A `--service` run whose merchant fulfilled one order twice, with the webhook deliveries
/// that explain it attached (as the run attaches them after the check).
fn fulfilled_twice_with_deliveries() -> RunReport {
    use crate::merchant_view::{MerchantStatus, MerchantView};
    use crate::webhook_delivery::WebhookDelivery;
    let outcomes = vec![outcome("o-1", "purchase", &["k1"], ClientResult::Succeeded)];
    let view = MerchantView {
        order_id: "o-1".into(),
        status: MerchantStatus::Paid,
        fulfillments: Some(2),
        amount_paid: Some(1000),
        amount_refunded: Some(0),
        error: None,
    };
    let mut rec = crate::reconcile::reconcile_with_views(
        &outcomes,
        &[capture(1, "pay_1", "o-1")],
        Some(&[view]),
    );
    let delivered = |faults: Vec<String>| WebhookDelivery {
        event_id: "evt_<1>".into(),
        event_type: "payment.succeeded".into(),
        attempt: 1,
        outcome: "delivered".into(),
        status: Some(200),
        faults,
        sent_at_ms: 1_790_000_000_000,
    };
    rec.violations[0].deliveries = vec![delivered(vec![]), delivered(vec!["duplicate".into()])];
    let thresholds = CheckThresholds {
        max_double_fulfilments: Some(0),
        ..CheckThresholds::default()
    };
    let latency = LatencySummary::default();
    let checks = thresholds.evaluate(&rec.counts, &latency, 1.0, 1.0, 0.0);
    let meta = RunMeta {
        scenario: "webhooks".to_owned(),
        mode: RunMode::Service,
        target_url: "http://127.0.0.1:1".to_owned(),
        seed: 0,
        started_at_unix_ms: 0,
        target_rate: 1.0,
        achieved_rate: 1.0,
        duration_s: 1.0,
        users: 1,
        cpu_seconds: None,
    };
    RunReport::new(meta, latency, Vec::new(), &outcomes, Some(&rec), checks)
}

#[test]
fn every_report_shows_the_webhook_deliveries_of_a_merchant_view_violation() {
    let report = fulfilled_twice_with_deliveries();
    let dir = TempDir::new("deliveries");
    let files = match write_report_dir(&dir.0, &report, None, None) {
        Ok(f) => f,
        Err(e) => panic!("{e}"),
    };
    let raw: serde_json::Value =
        match std::fs::read(&files.json).map(|b| serde_json::from_slice(&b)) {
            Ok(Ok(v)) => v,
            other => panic!("report.json unreadable: {other:?}"),
        };
    let violation = &raw["money"]["violations"][0];
    assert_eq!(violation["kind"], "double_fulfilment");
    assert_eq!(violation["deliveries"][1]["faults"][0], "duplicate");
    assert_eq!(violation["deliveries"][1]["event_id"], "evt_<1>");
    assert_eq!(read_json(&files.json).ok(), Some(report));

    let html = std::fs::read_to_string(&files.html).unwrap_or_default();
    assert!(html.contains("2 webhook deliveries"), "{html}");
    assert!(html.contains("evt_&lt;1&gt;"), "escaped");
    assert!(!html.contains("evt_<1>"), "unescaped event id in HTML");
    assert!(html.contains("<td class=\"l\">duplicate</td>"), "{html}");

    let junit = std::fs::read_to_string(&files.junit).unwrap_or_default();
    assert!(
        junit.contains("(2 webhook deliveries in report.json)"),
        "{junit}"
    );
}
