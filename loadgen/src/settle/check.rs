//! The settlement check, a pure function of (the ledger, the payout reconciliation report,
//! the bank statement, the terms, simulator time): every capture, refund, dispute and
//! reversal appears exactly once with the schedule's fee, no row appears that no payment
//! made, no row is paid later than it was due, and each payout that reached the bank equals
//! the sum of its rows' net. What breaks those rules is a finding, by kind, with the ids.
//!
//! The kinds are the gateway's discrepancy kinds, so a run with
//! `[gateway.settlement.discrepancies]` can compare what it found with the answer key.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use gateway_sim::{EntryKind, LedgerEntry};
use serde::Serialize;

use super::csv::{ReportLine, StatementLine};
use super::terms::{DAY, Terms};

pub const KINDS: [&str; 5] = [
    "missing_row",
    "duplicate_row",
    "fee_off",
    "late",
    "unknown_row",
];

/// What the check found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Findings {
    /// Ids by kind: the row's transaction id, or for a missing row its charge (`ch_...`).
    pub found: BTreeMap<&'static str, Vec<String>>,
    /// Paid payouts whose amount is not the sum of their rows' net.
    pub payout_mismatches: Vec<String>,
    pub rows: usize,
    pub payouts_paid: usize,
    /// Minor units that reached the bank, and what the rows of those payouts add up to.
    pub banked: i64,
    pub banked_rows_net: i64,
}

impl Findings {
    pub fn count(&self, kind: &str) -> usize {
        self.found.get(kind).map_or(0, Vec::len)
    }
}

fn category_of(kind: EntryKind) -> Option<&'static str> {
    Some(match kind {
        EntryKind::Capture => "charge",
        EntryKind::Refund => "refund",
        EntryKind::Dispute => "dispute",
        EntryKind::DisputeReversal => "dispute_reversal",
        _ => return None,
    })
}

fn digits(id: &str) -> &str {
    id.split_once('_').map_or(id, |(_, d)| d)
}

pub fn check(
    ledger: &[LedgerEntry],
    report: &[ReportLine],
    statement: &[StatementLine],
    terms: &Terms,
    now: u64,
) -> Findings {
    let mut findings = Findings {
        rows: report.len(),
        ..Findings::default()
    };
    for kind in KINDS {
        findings.found.insert(kind, Vec::new());
    }
    let flag = |kind: &'static str, id: String, f: &mut Findings| {
        f.found.entry(kind).or_default().push(id);
    };

    // What the ledger says must be settled: all of it, and what is due by now (due by the
    // run after its first eligible one, so a row paid one payout late is still there).
    let mut expected: HashMap<(String, &str), (usize, usize)> = HashMap::new();
    let mut merchant_of: HashMap<String, String> = HashMap::new();
    for e in ledger {
        let Some(category) = category_of(e.kind) else {
            continue;
        };
        let d = digits(&e.payment_id).to_string();
        merchant_of.insert(d.clone(), e.merchant.clone());
        let t = e.time_ms / 1000;
        let due = terms.run_at_or_after(terms.available_on(t).max(t)) + DAY <= now;
        let counts = expected.entry((d, category)).or_default();
        counts.0 += 1;
        counts.1 += usize::from(due);
    }

    let mut rows_of: BTreeMap<(String, &str), Vec<&ReportLine>> = BTreeMap::new();
    for row in report {
        let known = !row.charge.is_empty() && merchant_of.contains_key(digits(&row.charge));
        let is_payout = row.category.starts_with("payout");
        if !known && !is_payout {
            flag(
                "unknown_row",
                row.balance_transaction.clone(),
                &mut findings,
            );
        }
        if let Some(category) = KNOWN_CATEGORIES.iter().find(|c| **c == row.category)
            && known
        {
            rows_of
                .entry((digits(&row.charge).to_string(), category))
                .or_default()
                .push(row);
        }
        if row.fee != terms.expected_fee(&row.category, &row.currency, row.gross) {
            flag("fee_off", row.balance_transaction.clone(), &mut findings);
        }
    }
    let mut keys: BTreeSet<(String, &str)> = expected.keys().cloned().collect();
    keys.extend(rows_of.keys().cloned());
    for key in keys {
        let (all, due) = expected.get(&key).copied().unwrap_or_default();
        let rows = rows_of.get(&key).map_or(&[][..], Vec::as_slice);
        for extra in rows.iter().skip(all) {
            flag(
                "duplicate_row",
                extra.balance_transaction.clone(),
                &mut findings,
            );
        }
        for _ in rows.len()..due {
            flag("missing_row", format!("ch_{}", key.0), &mut findings);
        }
    }

    // Late: a payout of the row's account ran after the row was due and left it out.
    let payout_merchant = payout_merchants(report, statement, &merchant_of);
    let run_of = |row: &ReportLine| {
        row.payout_effective_at
            .saturating_sub(terms.arrival_days * DAY)
    };
    let mut runs: HashMap<(Option<&String>, &str), BTreeSet<u64>> = HashMap::new();
    for row in report {
        runs.entry((payout_merchant.get(&row.payout), row.currency.as_str()))
            .or_default()
            .insert(run_of(row));
    }
    for row in report {
        let due = terms.run_at_or_after(row.available_on.max(row.created));
        let paid = run_of(row);
        let account = (payout_merchant.get(&row.payout), row.currency.as_str());
        let skipped = runs
            .get(&account)
            .is_some_and(|r| r.range(due..paid).next().is_some());
        if skipped {
            flag("late", row.balance_transaction.clone(), &mut findings);
        }
    }

    let mut net_of: HashMap<&str, i64> = HashMap::new();
    for row in report {
        *net_of.entry(row.payout.as_str()).or_default() += row.net;
    }
    for line in statement {
        findings.payouts_paid += 1;
        findings.banked += line.amount;
        let rows_net = net_of
            .get(line.payout.as_str())
            .copied()
            .unwrap_or_default();
        findings.banked_rows_net += rows_net;
        if rows_net != line.amount {
            findings.payout_mismatches.push(line.payout.clone());
        }
    }
    findings
}

const KNOWN_CATEGORIES: [&str; 4] = ["charge", "refund", "dispute", "dispute_reversal"];

/// Each payout's merchant: the bank statement's account for a paid one, else the merchant of
/// a payment among its rows.
fn payout_merchants(
    report: &[ReportLine],
    statement: &[StatementLine],
    merchant_of: &HashMap<String, String>,
) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = statement
        .iter()
        .map(|l| (l.payout.clone(), l.account.clone()))
        .collect();
    for row in report {
        if let Some(m) = merchant_of.get(digits(&row.charge)) {
            out.entry(row.payout.clone()).or_insert_with(|| m.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(payment: &str, kind: EntryKind, amount: i64, time_ms: u64) -> LedgerEntry {
        LedgerEntry {
            seq: 0,
            time_ms,
            merchant: "sk_a".into(),
            payment_id: format!("pay_{payment}"),
            reference: None,
            idempotency_key: None,
            kind,
            amount,
            currency: "usd".into(),
            decline_code: None,
            reason: None,
        }
    }

    fn row(txn: &str, payment: &str, category: &str, gross: i64, fee: i64, run: u64) -> ReportLine {
        ReportLine {
            payout: format!("po_{run}"),
            payout_effective_at: run + DAY,
            balance_transaction: txn.into(),
            created: 0,
            available_on: 2 * DAY,
            currency: "usd".into(),
            gross,
            fee,
            net: gross - fee,
            category: category.into(),
            source: format!("ch_{payment}"),
            charge: if payment.is_empty() {
                String::new()
            } else {
                format!("ch_{payment}")
            },
            order_id: String::new(),
        }
    }

    fn statement(payout: &str, amount: i64) -> StatementLine {
        StatementLine {
            value_date: 0,
            account: "sk_a".into(),
            payout: payout.into(),
            amount,
            currency: "usd".into(),
        }
    }

    #[test]
    fn a_clean_settlement_finds_nothing() {
        let ledger = [
            entry("A", EntryKind::Capture, 10_000, 0),
            entry("B", EntryKind::Capture, 1_000, 0),
            entry("B", EntryKind::Authorization, 1_000, 0),
        ];
        let report = [
            row("txn_1", "A", "charge", 10_000, 320, 2 * DAY),
            row("txn_2", "B", "charge", 1_000, 59, 2 * DAY),
        ];
        let f = check(
            &ledger,
            &report,
            &[statement("po_172800", 10_621)],
            &Terms::default(),
            10 * DAY,
        );
        assert!(f.found.values().all(Vec::is_empty), "{f:?}");
        assert!(f.payout_mismatches.is_empty());
        assert_eq!((f.banked, f.banked_rows_net), (10_621, 10_621));
    }

    #[test]
    fn each_kind_of_mistake_is_found() {
        let ledger = [
            entry("A", EntryKind::Capture, 10_000, 0),
            entry("B", EntryKind::Capture, 10_000, 0),
            entry("C", EntryKind::Capture, 10_000, 0),
            entry("D", EntryKind::Capture, 10_000, 0),
            entry("E", EntryKind::Capture, 10_000, 0),
        ];
        let report = [
            // A is missing; B twice; C's fee is off; D paid a run late; a stranger.
            row("txn_b", "B", "charge", 10_000, 320, 2 * DAY),
            row("txn_b2", "B", "charge", 10_000, 320, 2 * DAY),
            row("txn_c", "C", "charge", 10_000, 333, 2 * DAY),
            row("txn_e", "E", "charge", 10_000, 320, 2 * DAY),
            row("txn_d", "D", "charge", 10_000, 320, 3 * DAY),
            row("txn_x", "", "charge", 700, 50, 2 * DAY),
        ];
        let f = check(
            &ledger,
            &report,
            &[statement("po_172800", 1)],
            &Terms::default(),
            10 * DAY,
        );
        assert_eq!(f.found["missing_row"], ["ch_A"]);
        assert_eq!(f.found["duplicate_row"], ["txn_b2"]);
        assert_eq!(f.found["fee_off"], ["txn_c"]);
        assert_eq!(f.found["late"], ["txn_d"]);
        assert_eq!(f.found["unknown_row"], ["txn_x"]);
        assert_eq!(f.payout_mismatches, ["po_172800"]);
    }

    #[test]
    fn movements_not_due_yet_are_not_missing() {
        let ledger = [entry("A", EntryKind::Capture, 10_000, 9 * DAY * 1000)];
        let f = check(&ledger, &[], &[], &Terms::default(), 10 * DAY);
        assert!(f.found["missing_row"].is_empty());
    }
}
