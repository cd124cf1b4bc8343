//! Runs under ambiguous faults (the gateway commits the charge, then the answer
//! is lost: a reset, or a 500 after commit), against a gateway-sim the test
//! holds, so it can count double charges in the ledger itself.
//!
//! The buggy client (`retry_new_key`) must be caught: the run reports exactly
//! the double charges the ledger shows, and fails. The correct client
//! (`retry_same_key`) must come out clean under the same faults.

use std::collections::{BTreeMap, BTreeSet};

use crate::common::{assert_clean_pass, loadgen_command, scratch_dir, start_sim};
use gateway_sim::{EntryKind, LedgerEntry};
use loadgen::Scenario;
use loadgen::ViolationKind;
use loadgen::cli::Verdict;
use loadgen::run::{FinishedRun, RunOptions, SystemUnderTest, execute};

fn scenario(flow: &str) -> String {
    format!(
        r#"
[gateway]
seed = 42
[gateway.endpoints.create.faults]
reset_after_commit = 0.1
http_500_after_commit = 0.1

[load]
rate = 200
duration = "2s"
users = 16
seed = 11
timeout = "2s"
settle = "100ms"
[load.mix]
{flow} = 1
"#
    )
}

/// Runs `flow` under the faults; returns the run and the gateway's ledger.
async fn run_under_faults(flow: &str) -> (FinishedRun, Vec<LedgerEntry>) {
    // Goose logs one warning per failed request; these runs fail hundreds on purpose.
    loadgen::cli::init_logging();
    let text = scenario(flow);
    let sim = start_sim(&text, 42).await;
    let options = RunOptions {
        scenario: Scenario::parse(&text, flow, &format!("{flow}.toml")).expect("valid scenario"),
        system: SystemUnderTest::Target(sim.url()),
        report_dir: Some(scratch_dir(flow)),
        admin_token: None,
        quiet: true,
    };
    let finished = execute(options).await.expect("the run completes");
    let ledger = sim.ledger_entries();
    sim.shutdown().await;
    (finished, ledger)
}

/// References with more than one capture, or more captured than authorized: counted
/// straight from the ledger, without loadgen's check.
fn doubly_charged(ledger: &[LedgerEntry]) -> BTreeSet<String> {
    let mut captures: BTreeMap<&str, (u32, i64)> = BTreeMap::new();
    let mut authorized: BTreeMap<&str, i64> = BTreeMap::new();
    for e in ledger {
        let Some(reference) = e.reference.as_deref() else {
            continue;
        };
        match e.kind {
            EntryKind::Capture => {
                let slot = captures.entry(reference).or_default();
                slot.0 += 1;
                slot.1 += e.amount;
            }
            EntryKind::Authorization => {
                authorized
                    .entry(reference)
                    .and_modify(|a| *a = (*a).max(e.amount))
                    .or_insert(e.amount);
            }
            _ => {}
        }
    }
    captures
        .into_iter()
        .filter(|(reference, (count, total))| {
            *count > 1 || *total > authorized.get(reference).copied().unwrap_or(0)
        })
        .map(|(reference, _)| reference.to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_with_a_new_key_double_charges_and_the_run_says_which_orders() {
    let _turn = crate::common::load_turn_shared().await;
    let (finished, ledger) = run_under_faults("retry_new_key").await;
    let report = &finished.report;
    let expected = doubly_charged(&ledger);

    assert!(
        !expected.is_empty(),
        "the faults should have caused double charges"
    );
    assert_eq!(report.money.counts.double_charges, expected.len() as u64);
    let reported: BTreeSet<String> = report
        .money
        .violations
        .iter()
        .filter(|v| v.kind == ViolationKind::DoubleCharge)
        .map(|v| v.order_id.clone())
        .collect();
    assert_eq!(
        reported, expected,
        "the violations name exactly those orders"
    );
    assert!(!report.passed);
    assert_eq!(Verdict::from_passed(report.passed).exit_code(), 1);

    // `loadgen check` finds the same orders offline, from the ledger saved to a file.
    let ledger_file = finished.report_dir.join("ledger.ndjson");
    let lines: Vec<String> = ledger
        .iter()
        .map(|e| serde_json::to_string(e).expect("entry serializes"))
        .collect();
    std::fs::write(&ledger_file, lines.join("\n")).expect("ledger written");
    let out = loadgen_command()
        .arg("check")
        .arg("--ledger")
        .arg(&ledger_file)
        .arg("--outcomes")
        .arg(finished.report_dir.join("outcomes.ndjson"))
        .output()
        .expect("loadgen check runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("double charges {}", expected.len())),
        "{stdout}"
    );
    let first = expected.iter().next().expect("one order");
    assert!(
        stdout.contains(first.as_str()),
        "lists the order ids: {stdout}"
    );
    let _ = std::fs::remove_dir_all(&finished.report_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_with_the_same_key_survives_the_same_faults() {
    let _turn = crate::common::load_turn_shared().await;
    let (finished, ledger) = run_under_faults("retry_same_key").await;
    let report = &finished.report;

    // The faults did hit: some requests failed and were retried.
    assert!(report.errors > 0, "no fault was injected");
    assert!(report.requests > report.orders.total);
    assert!(doubly_charged(&ledger).is_empty());
    assert_eq!(report.money.counts.double_charges, 0);
    assert_clean_pass(report);
    let _ = std::fs::remove_dir_all(&finished.report_dir);
}
