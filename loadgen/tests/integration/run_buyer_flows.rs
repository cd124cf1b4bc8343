//! The two flows with a buyer in them, run end to end against an in-process gateway-sim:
//! `three_ds` (a card that asks for 3-D Secure; the buyer completes the challenge, or
//! abandons a seeded share of them) and `checkout` (a Stripe Checkout session paid on its
//! page). The money check must pass, count the challenges by how they ended, and agree
//! with an independent reading of the saved ledger: a completed challenge and a paid
//! session captured the order once, an abandoned challenge captured nothing.

use std::collections::BTreeMap;

use crate::common::{read_ledger_ndjson, scratch_dir};
use gateway_sim::EntryKind;
use loadgen::Scenario;
use loadgen::outcomes::{ChallengeEnd, ClientResult};
use loadgen::run::{RunOptions, SystemUnderTest, execute};

const BUYERS: &str = r#"
[gateway]
seed = 11

[gateway.three_ds]
abandon_after = "1s"

[load]
rate = 120
duration = "1s"
users = 8
seed = 5
settle = "1500ms"
[load.mix]
three_ds = 2
checkout = 1
[load.three_ds]
abandon = 0.3

[checks]
max_double_charges = 0
max_lost_charges = 0
max_orphan_charges = 0
max_amount_mismatches = 0
max_unresolved = 0
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_ds_and_checkout_orders_reconcile_and_challenges_are_counted() {
    let _turn = crate::common::load_turn_shared().await;
    let dir = scratch_dir("buyer-flows");
    let finished = execute(RunOptions {
        scenario: Scenario::parse(BUYERS, "buyers", "buyers.toml").expect("valid scenario"),
        system: SystemUnderTest::Embedded,
        report_dir: Some(dir),
        admin_token: None,
        quiet: true,
    })
    .await
    .expect("the run completes");
    let report = &finished.report;
    assert!(report.passed, "checks: {:?}", report.checks);
    assert_eq!(
        report.money.violations_total, 0,
        "{:?}",
        report.money.violations
    );

    let outcomes =
        loadgen::outcomes::read_ndjson(finished.files.outcomes.as_ref().expect("outcomes written"))
            .expect("outcomes parse");
    let by_flow = |flow: &'static str| outcomes.iter().filter(move |o| o.flow == flow);
    let three_ds = by_flow("three_ds").count() as u64;
    let checkout = by_flow("checkout").count() as u64;
    assert!(three_ds > 40 && checkout > 20, "{three_ds} / {checkout}");

    // Every three_ds order met a challenge, and the report counts them by ending.
    let ends = |end| {
        by_flow("three_ds")
            .filter(|o| o.challenge == Some(end))
            .count() as u64
    };
    let c = &report.money.challenges;
    assert_eq!(
        (c.completed, c.abandoned, c.failed, c.unknown),
        (
            ends(ChallengeEnd::Completed),
            ends(ChallengeEnd::Abandoned),
            0,
            0
        )
    );
    assert_eq!(c.completed + c.abandoned, three_ds);
    // About 30% abandoned, by the seed: far from none and far from all.
    let share = c.abandoned as f64 / three_ds as f64;
    assert!((0.1..0.5).contains(&share), "{share}");

    // The ledger, read independently: captures per order.
    let ledger = read_ledger_ndjson(&finished.report_dir.join("ledger.ndjson"));
    let mut captured: BTreeMap<&str, (u32, i64)> = BTreeMap::new();
    let mut authentication_failures = 0;
    for e in &ledger {
        let reference = e.reference.as_deref().unwrap_or_default();
        match e.kind {
            EntryKind::Capture => {
                let entry = captured.entry(reference).or_default();
                entry.0 += 1;
                entry.1 += e.amount;
            }
            EntryKind::Decline
                if e.decline_code.as_deref() == Some("payment_intent_authentication_failure") =>
            {
                authentication_failures += 1;
            }
            _ => {}
        }
    }
    for o in &outcomes {
        let (captures, amount) = captured
            .get(o.order_id.as_str())
            .copied()
            .unwrap_or_default();
        if o.challenge == Some(ChallengeEnd::Abandoned) {
            assert_eq!(o.result, ClientResult::Declined);
            assert_eq!(captures, 0, "{} was abandoned yet charged", o.order_id);
        } else {
            assert_eq!(o.result, ClientResult::Succeeded, "{o:?}");
            assert_eq!((captures, amount), (1, o.amount), "{}", o.order_id);
        }
    }
    // The gateway gave up on challenges nobody answered (`abandon_after = "1s"`), which
    // moved no money but said so in the ledger.
    assert!(
        authentication_failures >= 1 && authentication_failures <= c.abandoned,
        "{authentication_failures} of {}",
        c.abandoned
    );
    let _ = std::fs::remove_dir_all(&finished.report_dir);
}
