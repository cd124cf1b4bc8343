//! Benchmark of the money check: synthesizes 1,000,000 orders and their ledger (about 3M
//! entries, interleaved the way concurrent traffic interleaves them, plus another merchant's
//! traffic), injects known double, lost and orphan charges, runs `reconcile`, asserts every
//! injected violation is found, and prints how long it took.
//!
//! `cargo run --release -p loadgen --example check_bench [orders]`

use std::process::ExitCode;
use std::time::Instant;

use gateway_sim::{EntryKind, LedgerEntry};
use loadgen::outcomes::{Attempt, ClientResult, OrderOutcome};
use loadgen::{ViolationKind, reconcile};

const MERCHANT: &str = "sk_test_loadgen_0";
/// Every this many orders, one of each injected fault.
const INJECT_EVERY: usize = 1000;

struct Synth {
    outcomes: Vec<OrderOutcome>,
    ledger: Vec<LedgerEntry>,
    /// Per order, its entries in two phases (create, then follow-ups) so phases of a block of
    /// orders can be interleaved like concurrent traffic.
    phase: [Vec<LedgerEntry>; 2],
}

impl Synth {
    fn entry(
        &mut self,
        phase: usize,
        order: &str,
        payment: &str,
        key: &str,
        kind: EntryKind,
        amount: i64,
    ) {
        self.phase[phase].push(LedgerEntry {
            seq: 0,
            time_ms: 0,
            merchant: MERCHANT.to_owned(),
            payment_id: payment.to_owned(),
            reference: Some(order.to_owned()),
            idempotency_key: Some(key.to_owned()),
            kind,
            amount,
            currency: "usd".to_owned(),
            decline_code: (kind == EntryKind::Decline).then(|| "insufficient_funds".to_owned()),
            reason: None,
        });
    }

    fn flush(&mut self) {
        for phase in 0..2 {
            self.ledger.append(&mut self.phase[phase]);
        }
    }
}

fn attempt(step: &str, key: String, status: Option<u16>, payment: Option<String>) -> Attempt {
    Attempt {
        step: step.to_owned(),
        idempotency_key: Some(key),
        status,
        payment_id: payment,
        error: None,
        latency_us: 1800,
    }
}

fn main() -> ExitCode {
    let orders: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let built = Instant::now();
    let mut s = Synth {
        outcomes: Vec::with_capacity(orders),
        ledger: Vec::with_capacity(orders * 3),
        phase: [Vec::new(), Vec::new()],
    };
    let (mut doubles, mut lost, mut orphans) = (0u64, 0u64, 0u64);
    for i in 0..orders {
        let id = format!("ord-{i:08}");
        let pay = format!("pay_{i:08}");
        let key = format!("key-{i:08}");
        let amount = 500 + (i as i64 * 7919) % 19_500;
        let bucket = i % 10;
        let (flow, result, expected_capture, expected_refund, mut attempts) = match bucket {
            0..=3 => {
                s.entry(0, &id, &pay, &key, EntryKind::Authorization, amount);
                s.entry(0, &id, &pay, &key, EntryKind::Capture, amount);
                (
                    "purchase",
                    ClientResult::Succeeded,
                    amount,
                    0,
                    vec![attempt("create", key.clone(), Some(200), Some(pay.clone()))],
                )
            }
            4 | 5 => {
                let part = amount / 2;
                s.entry(0, &id, &pay, &key, EntryKind::Authorization, amount);
                s.entry(1, &id, &pay, &format!("{key}-c"), EntryKind::Capture, part);
                s.entry(
                    1,
                    &id,
                    &pay,
                    &format!("{key}-c"),
                    EntryKind::Release,
                    amount - part,
                );
                (
                    "auth_capture",
                    ClientResult::Succeeded,
                    part,
                    0,
                    vec![
                        attempt("create", key.clone(), Some(200), Some(pay.clone())),
                        attempt("capture", format!("{key}-c"), Some(200), Some(pay.clone())),
                    ],
                )
            }
            6 => {
                s.entry(0, &id, &pay, &key, EntryKind::Authorization, amount);
                s.entry(
                    1,
                    &id,
                    &pay,
                    &format!("{key}-x"),
                    EntryKind::Release,
                    amount,
                );
                (
                    "auth_cancel",
                    ClientResult::Succeeded,
                    0,
                    0,
                    vec![
                        attempt("create", key.clone(), Some(200), Some(pay.clone())),
                        attempt("cancel", format!("{key}-x"), Some(200), Some(pay.clone())),
                    ],
                )
            }
            7 | 8 => {
                let first = amount / 3;
                s.entry(0, &id, &pay, &key, EntryKind::Authorization, amount);
                s.entry(0, &id, &pay, &key, EntryKind::Capture, amount);
                s.entry(1, &id, &pay, &format!("{key}-r1"), EntryKind::Refund, first);
                s.entry(
                    1,
                    &id,
                    &pay,
                    &format!("{key}-r2"),
                    EntryKind::Refund,
                    amount - first,
                );
                (
                    "purchase_refund",
                    ClientResult::Succeeded,
                    amount,
                    amount,
                    vec![
                        attempt("create", key.clone(), Some(200), Some(pay.clone())),
                        attempt("refund", format!("{key}-r1"), Some(200), Some(pay.clone())),
                        attempt("refund", format!("{key}-r2"), Some(200), Some(pay.clone())),
                    ],
                )
            }
            _ => {
                s.entry(0, &id, &pay, &key, EntryKind::Decline, 0);
                (
                    "purchase",
                    ClientResult::Declined,
                    amount,
                    0,
                    vec![attempt("create", key.clone(), Some(402), Some(pay.clone()))],
                )
            }
        };
        let mut result = result;
        // Injected faults, each on a purchase of its own.
        if i % INJECT_EVERY == 0 {
            // retry_new_key: the first attempt timed out but charged; the retry charged again.
            let retry = format!("{key}-retry");
            let pay2 = format!("{pay}-2");
            s.entry(1, &id, &pay2, &retry, EntryKind::Authorization, amount);
            s.entry(1, &id, &pay2, &retry, EntryKind::Capture, amount);
            attempts.push(attempt("create", retry, Some(200), Some(pay2)));
            doubles += 1;
        } else if i % INJECT_EVERY == 10 {
            // Told success, but the ledger only authorized: drop the capture just written.
            if let Some(pos) = s.phase[0]
                .iter()
                .rposition(|e| e.kind == EntryKind::Capture)
            {
                s.phase[0].remove(pos);
                lost += 1;
            }
        } else if i % INJECT_EVERY == 20 {
            // Told failure (a 500), yet the money was taken.
            result = ClientResult::Failed;
            orphans += 1;
        }
        s.outcomes.push(OrderOutcome {
            order_id: id,
            flow: flow.to_owned(),
            merchant: MERCHANT.to_owned(),
            amount,
            currency: "usd".to_owned(),
            expected_capture,
            expected_refund,
            result,
            attempts,
            first_sent_ms: None,
            challenge: None,
        });
        // Another merchant's traffic on the same gateway, with colliding references.
        if i % 2 == 0 {
            s.phase[0].push(LedgerEntry {
                seq: 0,
                time_ms: 0,
                merchant: "sk_live_someone_else".to_owned(),
                payment_id: format!("pay_other_{i}"),
                reference: Some(format!("ord-{i:08}")),
                idempotency_key: None,
                kind: EntryKind::Capture,
                amount: 100,
                currency: "usd".to_owned(),
                decline_code: None,
                reason: None,
            });
        }
        if i % 256 == 255 {
            s.flush();
        }
    }
    s.flush();
    for (n, e) in s.ledger.iter_mut().enumerate() {
        e.seq = n as u64 + 1;
        e.time_ms = 1_790_000_000_000 + n as u64 / 10;
    }
    println!(
        "synthesized {} orders and {} ledger entries in {:.2} s (injected: {doubles} double, {lost} lost, {orphans} orphan charges)",
        s.outcomes.len(),
        s.ledger.len(),
        built.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let rec = reconcile(&s.outcomes, &s.ledger);
    let took = started.elapsed();

    let found =
        |kind: ViolationKind| rec.violations.iter().filter(|v| v.kind == kind).count() as u64;
    println!(
        "reconcile: {} orders x {} ledger entries in {:.3} s ({:.0} orders/s); found {} double, {} lost, {} orphan, {} mismatch, {} unknown",
        rec.orders,
        rec.ledger_entries,
        took.as_secs_f64(),
        rec.orders as f64 / took.as_secs_f64().max(1e-9),
        rec.counts.double_charges,
        rec.counts.lost_charges,
        rec.counts.orphan_charges,
        rec.counts.amount_mismatches,
        rec.counts.unknown_charges
    );
    let expected = (doubles, lost, orphans, 0, 0);
    let got = (
        found(ViolationKind::DoubleCharge),
        found(ViolationKind::LostCharge),
        found(ViolationKind::OrphanCharge),
        found(ViolationKind::AmountMismatch),
        rec.counts.unknown_charges,
    );
    if got != expected || rec.counts.double_charges != doubles {
        eprintln!(
            "MISMATCH: expected (double, lost, orphan, mismatch, unknown) = {expected:?}, found {got:?}"
        );
        return ExitCode::FAILURE;
    }
    println!("every injected violation found, nothing else");
    ExitCode::SUCCESS
}
