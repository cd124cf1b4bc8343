//! The money check: a pure function of (what every client saw, the gateway's ledger) →
//! violations. No I/O and no thresholds here: [`reconcile`] counts what went wrong, and
//! `thresholds.rs` judges the counts against the scenario's `[checks]`.
//!
//! With the merchant's views of its orders ([`reconcile_with_views`], `--service` runs with
//! `[target.order]`), it also compares the merchant's books with the ledger: the kinds from
//! [`ViolationKind::DoubleFulfilment`] on. Without views, those are never computed.
//!
//! Its own file because it is the one piece every way of checking shares: `loadgen run`,
//! `loadgen capacity`, `loadgen merge` and the offline `loadgen check` all feed it the
//! same two inputs, and its tests need neither a gateway nor a file.

use std::collections::{HashMap, HashSet};

use gateway_sim::{EntryKind, LedgerEntry};
use serde::{Deserialize, Serialize};

use crate::merchant_view::{MerchantStatus, MerchantView};
use crate::outcomes::{ChallengeEnd, ClientResult, OrderOutcome};
use crate::webhook_delivery::WebhookDelivery;

/// What went wrong with an order's money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    /// More than one capture, or more captured than the order's amount.
    DoubleCharge,
    /// The client was told success but nothing was captured.
    LostCharge,
    /// The client was told failure or decline but money stayed captured.
    OrphanCharge,
    /// The client succeeded but the captured or refunded amount differs from what it expects.
    AmountMismatch,
    /// The merchant fulfilled (shipped) the order more than once.
    DoubleFulfilment,
    /// The merchant says paid but the gateway never captured the order's money.
    PaidNotCharged,
    /// The gateway holds the order's money but the merchant shows no sign of being paid
    /// (typically a lost webhook).
    ChargedNotPaid,
    /// The merchant was paid once but its final state contradicts the gateway's (pending or
    /// failed while captured, paid while fully refunded, refunded while never refunded):
    /// typically an old event applied after a newer one.
    StateRegressed,
    /// The merchant's refunded amount differs from the gateway's refunds.
    RefundMismatch,
}

impl ViolationKind {
    /// Every kind, in declaration order.
    pub const ALL: [ViolationKind; 9] = [
        ViolationKind::DoubleCharge,
        ViolationKind::LostCharge,
        ViolationKind::OrphanCharge,
        ViolationKind::AmountMismatch,
        ViolationKind::DoubleFulfilment,
        ViolationKind::PaidNotCharged,
        ViolationKind::ChargedNotPaid,
        ViolationKind::StateRegressed,
        ViolationKind::RefundMismatch,
    ];

    /// The snake_case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ViolationKind::DoubleCharge => "double_charge",
            ViolationKind::LostCharge => "lost_charge",
            ViolationKind::OrphanCharge => "orphan_charge",
            ViolationKind::AmountMismatch => "amount_mismatch",
            ViolationKind::DoubleFulfilment => "double_fulfilment",
            ViolationKind::PaidNotCharged => "paid_not_charged",
            ViolationKind::ChargedNotPaid => "charged_not_paid",
            ViolationKind::StateRegressed => "state_regressed",
            ViolationKind::RefundMismatch => "refund_mismatch",
        }
    }

    /// Whether this kind compares the merchant's view with the ledger (rather than what the
    /// client was told): the kinds a webhook delivery can explain.
    pub fn is_merchant_view(self) -> bool {
        match self {
            ViolationKind::DoubleFulfilment
            | ViolationKind::PaidNotCharged
            | ViolationKind::ChargedNotPaid
            | ViolationKind::StateRegressed
            | ViolationKind::RefundMismatch => true,
            ViolationKind::DoubleCharge
            | ViolationKind::LostCharge
            | ViolationKind::OrphanCharge
            | ViolationKind::AmountMismatch => false,
        }
    }
}

/// One order whose money went wrong, with everything needed to debug it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    pub kind: ViolationKind,
    pub order_id: String,
    pub flow: String,
    pub merchant: String,
    pub result: ClientResult,
    pub amount: i64,
    pub currency: String,
    pub expected_capture: i64,
    pub expected_refund: i64,
    /// Sum of the order's capture entries in the ledger.
    pub captured: i64,
    /// Number of capture entries.
    pub captures: u64,
    /// Sum of the order's refund entries.
    pub refunded: i64,
    /// The idempotency keys the client used.
    pub idempotency_keys: Vec<String>,
    /// Payment ids the client was told about, then any others the ledger shows for the order.
    pub payment_ids: Vec<String>,
    /// The order's ledger entries, in ledger order.
    pub ledger: Vec<LedgerEntry>,
    /// One sentence for a human.
    pub detail: String,
    /// When the order's first request went out, ms since the run's start (as the outcome
    /// says; absent when it does not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_sent_ms: Option<u64>,
    /// What the merchant said about the order, for the kinds that compare its view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_view: Option<MerchantView>,
    /// The webhook deliveries the gateway made for the order, for the kinds that compare the
    /// merchant's view: why the merchant's books say what they say. Never filled here (the
    /// check does no I/O): the run reads them from the gateway afterwards. Absent from reports
    /// written before the field existed, and from runs that could not read them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<WebhookDelivery>,
}

/// Violation counts per kind, plus the informational counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViolationCounts {
    pub double_charges: u64,
    pub lost_charges: u64,
    pub orphan_charges: u64,
    pub amount_mismatches: u64,
    /// Orders whose client never learned the outcome (not violations by themselves).
    pub unresolved: u64,
    /// Capture entries of loadgen's merchants whose reference matches no order of this run.
    pub unknown_charges: u64,
    /// The comparison with the merchant's views; `None` when no views were read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant: Option<MerchantViewCounts>,
}

/// Counts of the comparison between the merchant's views and the ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantViewCounts {
    /// Orders compared with a readable view.
    pub views: u64,
    /// Orders whose view is absent or could not be read: not judged, reported so a service
    /// that answers nothing does not pass silently.
    pub unreadable: u64,
    pub double_fulfilments: u64,
    pub paid_not_charged: u64,
    pub charged_not_paid: u64,
    pub state_regressions: u64,
    pub refund_mismatches: u64,
}

impl MerchantViewCounts {
    fn count(&mut self, kind: ViolationKind) {
        match kind {
            ViolationKind::DoubleFulfilment => self.double_fulfilments += 1,
            ViolationKind::PaidNotCharged => self.paid_not_charged += 1,
            ViolationKind::ChargedNotPaid => self.charged_not_paid += 1,
            ViolationKind::StateRegressed => self.state_regressions += 1,
            ViolationKind::RefundMismatch => self.refund_mismatches += 1,
            ViolationKind::DoubleCharge
            | ViolationKind::LostCharge
            | ViolationKind::OrphanCharge
            | ViolationKind::AmountMismatch => {}
        }
    }
}

/// The result of [`reconcile`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reconciliation {
    /// Orders checked.
    pub orders: u64,
    /// Ledger entries read.
    pub ledger_entries: u64,
    pub counts: ViolationCounts,
    /// Every violation, in outcome order. Each order appears at most once for the ledger, under
    /// its most severe kind (double_charge > lost_charge > orphan_charge > amount_mismatch), and
    /// at most once more for its merchant view (double_fulfilment > paid_not_charged >
    /// charged_not_paid > state_regressed > refund_mismatch): the two say different things
    /// (the gateway moved money wrongly / the merchant's books disagree with it).
    pub violations: Vec<Violation>,
    /// Up to [`SAMPLE_LIMIT`] order ids of unresolved orders.
    pub unresolved_sample: Vec<String>,
    /// Up to [`SAMPLE_LIMIT`] unknown capture entries.
    pub unknown_charge_sample: Vec<LedgerEntry>,
    /// Orders whose charge the cardholder disputed, by what the ledger says of them.
    #[serde(default, skip_serializing_if = "DisputeCounts::is_empty")]
    pub disputes: DisputeCounts,
    /// Orders whose card asked for 3-D Secure (the `three_ds` flow), by how the challenge
    /// ended. An abandoned or failed challenge is held to "no money moved" like any declined
    /// order (money left captured is an orphan charge); these counts say how many there were.
    #[serde(default, skip_serializing_if = "ChallengeCounts::is_empty")]
    pub challenges: ChallengeCounts,
}

/// 3-D Secure challenges by how they ended (see [`ChallengeEnd`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeCounts {
    pub completed: u64,
    pub abandoned: u64,
    pub failed: u64,
    /// Answered with no answer back: the order is unresolved.
    pub unknown: u64,
}

impl ChallengeCounts {
    pub fn is_empty(&self) -> bool {
        *self == ChallengeCounts::default()
    }

    fn count(&mut self, end: ChallengeEnd) {
        match end {
            ChallengeEnd::Completed => self.completed += 1,
            ChallengeEnd::Abandoned => self.abandoned += 1,
            ChallengeEnd::Failed => self.failed += 1,
            ChallengeEnd::Unknown => self.unknown += 1,
        }
    }
}

/// Disputed orders: a dispute takes captured money back, which is neither a
/// refund nor a missing capture, so the money check counts them apart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeCounts {
    /// Orders with a `dispute` entry whose funds were not given back (open or lost).
    pub open_or_lost: u64,
    /// Orders whose dispute was won: a `dispute_reversal` gave the funds back.
    pub won: u64,
}

impl DisputeCounts {
    pub fn is_empty(&self) -> bool {
        *self == DisputeCounts::default()
    }
}

/// How many unresolved order ids / unknown charges are kept as examples.
pub const SAMPLE_LIMIT: usize = 100;

/// Compares every client outcome with the ledger. See the module doc and [`ViolationKind`].
///
/// Ledger entries belong to an order when their `reference` is the order id and their merchant
/// is the order's merchant (any merchant when the outcome's merchant is empty, as in `--service`
/// mode where loadgen never sees the key). One pass indexes the ledger by reference; each order
/// then walks only its own entries, so the cost is linear in outcomes + ledger.
pub fn reconcile(outcomes: &[OrderOutcome], ledger: &[LedgerEntry]) -> Reconciliation {
    reconcile_with_views(outcomes, ledger, None)
}

/// [`reconcile`], and with `views` (the merchant's view of its orders, in any order) the
/// comparison of each order's view with its ledger entries too. `None` is exactly
/// [`reconcile`]; `Some(&[])` counts every order's view as unreadable.
pub fn reconcile_with_views(
    outcomes: &[OrderOutcome],
    ledger: &[LedgerEntry],
    views: Option<&[MerchantView]>,
) -> Reconciliation {
    let index = LedgerIndex::build(ledger);
    let views: Option<HashMap<&str, &MerchantView>> =
        views.map(|views| views.iter().map(|v| (v.order_id.as_str(), v)).collect());
    // Which entries some order of this run claimed: the rest of loadgen's captures are unknown.
    let mut claimed = vec![false; ledger.len()];
    let mut rec = Reconciliation {
        orders: outcomes.len() as u64,
        ledger_entries: ledger.len() as u64,
        ..Reconciliation::default()
    };
    if views.is_some() {
        rec.counts.merchant = Some(MerchantViewCounts::default());
    }

    for outcome in outcomes {
        let mut money = OrderMoney::default();
        for i in index.entries(&outcome.order_id) {
            let entry = &ledger[i];
            if !belongs_to(entry, outcome) {
                continue;
            }
            claimed[i] = true;
            money.add(entry, &outcome.currency);
        }
        if money.disputed > 0 {
            if money.reinstated >= money.disputed {
                rec.disputes.won += 1;
            } else {
                rec.disputes.open_or_lost += 1;
            }
        }

        if let Some(end) = outcome.challenge {
            rec.challenges.count(end);
        }

        if outcome.result == ClientResult::Unknown {
            rec.counts.unresolved += 1;
            if rec.unresolved_sample.len() < SAMPLE_LIMIT {
                rec.unresolved_sample.push(outcome.order_id.clone());
            }
        }

        if let Some((kind, detail)) = judge(outcome, &money) {
            match kind {
                ViolationKind::DoubleCharge => rec.counts.double_charges += 1,
                ViolationKind::LostCharge => rec.counts.lost_charges += 1,
                ViolationKind::OrphanCharge => rec.counts.orphan_charges += 1,
                ViolationKind::AmountMismatch => rec.counts.amount_mismatches += 1,
                _ => {}
            }
            let violation = describe(kind, detail, outcome, &money, &index, ledger, None);
            rec.violations.push(violation);
        }

        let (Some(views), Some(counts)) = (&views, rec.counts.merchant.as_mut()) else {
            continue;
        };
        let view = views
            .get(outcome.order_id.as_str())
            .filter(|v| v.status != MerchantStatus::Unknown);
        let Some(view) = view else {
            counts.unreadable += 1;
            continue;
        };
        counts.views += 1;
        if let Some((kind, detail)) = judge_view(view, &money, &outcome.currency) {
            counts.count(kind);
            let violation = describe(
                kind,
                detail,
                outcome,
                &money,
                &index,
                ledger,
                Some((*view).clone()),
            );
            rec.violations.push(violation);
        }
    }

    // In `--service` mode (empty merchant) loadgen cannot tell its merchant from others, so
    // every unclaimed capture counts.
    let any_merchant = outcomes.iter().any(|o| o.merchant.is_empty());
    let merchants: HashSet<&str> = outcomes.iter().map(|o| o.merchant.as_str()).collect();
    for (entry, claimed) in ledger.iter().zip(&claimed) {
        if *claimed
            || entry.kind != EntryKind::Capture
            || !(any_merchant || merchants.contains(entry.merchant.as_str()))
        {
            continue;
        }
        rec.counts.unknown_charges += 1;
        if rec.unknown_charge_sample.len() < SAMPLE_LIMIT {
            rec.unknown_charge_sample.push(entry.clone());
        }
    }
    rec
}

/// One violation with everything needed to debug it. Violations are rare: only here is the
/// order's share of the ledger copied.
fn describe(
    kind: ViolationKind,
    detail: String,
    outcome: &OrderOutcome,
    money: &OrderMoney,
    index: &LedgerIndex<'_>,
    ledger: &[LedgerEntry],
    merchant_view: Option<MerchantView>,
) -> Violation {
    let entries: Vec<LedgerEntry> = index
        .entries(&outcome.order_id)
        .map(|i| &ledger[i])
        .filter(|e| belongs_to(e, outcome))
        .cloned()
        .collect();
    let mut payment_ids = outcome.payment_ids();
    for e in &entries {
        if !payment_ids.contains(&e.payment_id) {
            payment_ids.push(e.payment_id.clone());
        }
    }
    Violation {
        kind,
        order_id: outcome.order_id.clone(),
        flow: outcome.flow.clone(),
        merchant: outcome.merchant.clone(),
        result: outcome.result,
        amount: outcome.amount,
        currency: outcome.currency.clone(),
        expected_capture: outcome.expected_capture,
        expected_refund: outcome.expected_refund,
        captured: money.captured,
        captures: money.captures,
        refunded: money.refunded,
        idempotency_keys: outcome.idempotency_keys(),
        payment_ids,
        ledger: entries,
        detail,
        first_sent_ms: outcome.first_sent_ms,
        merchant_view,
        deliveries: Vec::new(),
    }
}

fn belongs_to(entry: &LedgerEntry, outcome: &OrderOutcome) -> bool {
    outcome.merchant.is_empty() || entry.merchant == outcome.merchant
}

/// What the ledger says happened to one order's money.
#[derive(Debug, Default)]
struct OrderMoney {
    captures: u64,
    captured: i64,
    refunded: i64,
    /// Taken back by a dispute, and given back when it was won: neither a refund
    /// nor a missing capture, so no verdict reads them.
    disputed: i64,
    reinstated: i64,
    /// A capture or refund in another currency than the order's.
    other_currency: bool,
}

impl OrderMoney {
    fn add(&mut self, entry: &LedgerEntry, currency: &str) {
        match entry.kind {
            EntryKind::Capture => {
                self.captures += 1;
                self.captured = self.captured.saturating_add(entry.amount);
            }
            EntryKind::Refund => self.refunded = self.refunded.saturating_add(entry.amount),
            EntryKind::Dispute => self.disputed = self.disputed.saturating_add(entry.amount),
            EntryKind::DisputeReversal => {
                self.reinstated = self.reinstated.saturating_add(entry.amount)
            }
            EntryKind::Authorization | EntryKind::Release | EntryKind::Decline => return,
        }
        if !entry.currency.eq_ignore_ascii_case(currency) {
            self.other_currency = true;
        }
    }

    fn net(&self) -> i64 {
        self.captured.saturating_sub(self.refunded)
    }
}

/// The most severe thing wrong with an order, if anything.
fn judge(o: &OrderOutcome, m: &OrderMoney) -> Option<(ViolationKind, String)> {
    let cur = &o.currency;
    if m.captures > 1 || m.captured > o.amount {
        let detail = format!(
            "{} captures totalling {} {cur} for an order of {} {cur} (client result: {})",
            m.captures,
            m.captured,
            o.amount,
            o.result.as_str()
        );
        return Some((ViolationKind::DoubleCharge, detail));
    }
    match o.result {
        ClientResult::Succeeded => {
            if m.captured == 0 && o.expected_capture > 0 {
                let detail = format!(
                    "client was told success for {} {cur} but the ledger shows no capture",
                    o.expected_capture
                );
                Some((ViolationKind::LostCharge, detail))
            } else if m.captured != o.expected_capture || m.refunded != o.expected_refund {
                let detail = format!(
                    "client expects captured {} / refunded {} {cur}; the ledger shows captured {} / refunded {}",
                    o.expected_capture, o.expected_refund, m.captured, m.refunded
                );
                Some((ViolationKind::AmountMismatch, detail))
            } else if m.other_currency {
                let detail =
                    format!("the ledger moved this {cur} order's money in another currency");
                Some((ViolationKind::AmountMismatch, detail))
            } else {
                None
            }
        }
        ClientResult::Declined | ClientResult::Failed if m.net() > 0 => {
            let detail = format!(
                "client was told {} but {} {cur} stays captured (captured {}, refunded {})",
                o.result.as_str(),
                m.net(),
                m.captured,
                m.refunded
            );
            Some((ViolationKind::OrphanCharge, detail))
        }
        // Nothing promised: only a double charge (judged above) is wrong for these. An
        // accepted order's ending is judged from the merchant's view, when one is read.
        ClientResult::Declined
        | ClientResult::Failed
        | ClientResult::Unknown
        | ClientResult::Accepted => None,
    }
}

/// The most severe way the merchant's view of an order disagrees with the gateway's ledger,
/// if any. "Was paid once" is read from the merchant's own traces (a fulfilment or an amount
/// paid): a merchant that shipped the order and now says pending went backwards
/// ([`ViolationKind::StateRegressed`]); one with no trace of payment never learned of it
/// ([`ViolationKind::ChargedNotPaid`]).
fn judge_view(v: &MerchantView, m: &OrderMoney, cur: &str) -> Option<(ViolationKind, String)> {
    let status = format!("{:?}", v.status).to_ascii_lowercase();
    if let Some(n) = v.fulfillments.filter(|&n| n > 1) {
        let detail = format!("the merchant fulfilled the order {n} times");
        return Some((ViolationKind::DoubleFulfilment, detail));
    }
    let gateway = format!(
        "the gateway captured {} and refunded {} {cur}",
        m.captured, m.refunded
    );
    let was_paid = v.fulfillments.is_some_and(|n| n > 0) || v.amount_paid.is_some_and(|a| a > 0);
    match v.status {
        MerchantStatus::Paid if m.captured == 0 => {
            let detail = format!("the merchant says paid but {gateway}");
            return Some((ViolationKind::PaidNotCharged, detail));
        }
        MerchantStatus::Pending | MerchantStatus::Failed if m.net() > 0 && !was_paid => {
            let detail = format!("the merchant says {status} and shows no payment, but {gateway}");
            return Some((ViolationKind::ChargedNotPaid, detail));
        }
        MerchantStatus::Pending | MerchantStatus::Failed if m.net() > 0 => {
            let detail =
                format!("the merchant was paid once but now says {status}, while {gateway}");
            return Some((ViolationKind::StateRegressed, detail));
        }
        MerchantStatus::Paid if m.net() <= 0 => {
            let detail = format!("the merchant says paid but {gateway}: fully refunded");
            return Some((ViolationKind::StateRegressed, detail));
        }
        MerchantStatus::Refunded if m.refunded == 0 => {
            let detail = format!("the merchant says refunded but {gateway}");
            return Some((ViolationKind::StateRegressed, detail));
        }
        _ => {}
    }
    match v.amount_refunded {
        Some(refunded) if refunded != m.refunded => {
            let detail = format!("the merchant says it refunded {refunded} {cur} but {gateway}");
            Some((ViolationKind::RefundMismatch, detail))
        }
        _ => None,
    }
}

/// The ledger indexed by reference: a hash map to the first and last entry of each reference,
/// and a `next` link per entry, so there is one allocation per distinct reference at most in
/// the map and none per entry.
struct LedgerIndex<'a> {
    ends: HashMap<&'a str, (usize, usize)>,
    next: Vec<usize>,
}

const NONE: usize = usize::MAX;

impl<'a> LedgerIndex<'a> {
    fn build(ledger: &'a [LedgerEntry]) -> Self {
        let mut ends: HashMap<&'a str, (usize, usize)> = HashMap::with_capacity(ledger.len() / 2);
        let mut next = vec![NONE; ledger.len()];
        for (i, entry) in ledger.iter().enumerate() {
            let Some(reference) = entry.reference.as_deref() else {
                continue;
            };
            match ends.get_mut(reference) {
                Some((_, last)) => {
                    next[*last] = i;
                    *last = i;
                }
                None => {
                    ends.insert(reference, (i, i));
                }
            }
        }
        LedgerIndex { ends, next }
    }

    /// Indices of the entries with this reference, in ledger order.
    fn entries(&self, reference: &str) -> impl Iterator<Item = usize> + '_ {
        let mut at = self.ends.get(reference).map_or(NONE, |&(first, _)| first);
        std::iter::from_fn(move || {
            if at == NONE {
                return None;
            }
            let current = at;
            at = self.next[current];
            Some(current)
        })
    }
}

/// Orders and ledgers for the tests of the money check and of its offline loader.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use crate::outcomes::Attempt;

    pub const M: &str = "sk_test_loadgen_0";

    pub struct Ledger(pub Vec<LedgerEntry>);

    impl Ledger {
        pub fn new() -> Self {
            Ledger(Vec::new())
        }

        pub fn push(
            &mut self,
            merchant: &str,
            payment: &str,
            reference: &str,
            key: &str,
            kind: EntryKind,
            amount: i64,
        ) -> &mut Self {
            let seq = self.0.len() as u64 + 1;
            self.0.push(LedgerEntry {
                seq,
                time_ms: 1_790_000_000_000 + seq,
                merchant: merchant.to_owned(),
                payment_id: payment.to_owned(),
                reference: Some(reference.to_owned()),
                idempotency_key: Some(key.to_owned()),
                kind,
                amount,
                currency: "usd".to_owned(),
                decline_code: (kind == EntryKind::Decline).then(|| "insufficient_funds".to_owned()),
                reason: None,
            });
            self
        }

        /// authorization + capture, as a `capture: true` create appends them.
        pub fn charge(
            &mut self,
            payment: &str,
            reference: &str,
            key: &str,
            amount: i64,
        ) -> &mut Self {
            self.push(M, payment, reference, key, EntryKind::Authorization, amount)
                .push(M, payment, reference, key, EntryKind::Capture, amount)
        }
    }

    pub fn attempt(step: &str, key: &str, status: Option<u16>, payment: Option<&str>) -> Attempt {
        Attempt {
            step: step.to_owned(),
            idempotency_key: Some(key.to_owned()),
            status,
            payment_id: payment.map(str::to_owned),
            error: status.is_none().then(|| "timeout".to_owned()),
            latency_us: 1500,
        }
    }

    pub fn order(
        id: &str,
        flow: &str,
        amount: i64,
        expected: (i64, i64),
        result: ClientResult,
        attempts: Vec<Attempt>,
    ) -> OrderOutcome {
        OrderOutcome {
            order_id: id.to_owned(),
            flow: flow.to_owned(),
            merchant: M.to_owned(),
            amount,
            currency: "usd".to_owned(),
            expected_capture: expected.0,
            expected_refund: expected.1,
            result,
            attempts,
            first_sent_ms: None,
            challenge: None,
        }
    }

    pub fn only(rec: &Reconciliation) -> &Violation {
        assert_eq!(rec.violations.len(), 1, "{:#?}", rec.violations);
        &rec.violations[0]
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn a_disputed_order_is_neither_refunded_nor_lost_nor_charged_twice() {
        let mut l = Ledger::new();
        l.charge("pay_1", "o-disputed", "k1", 1000).push(
            M,
            "pay_1",
            "o-disputed",
            "k1",
            EntryKind::Dispute,
            1000,
        );
        l.charge("pay_2", "o-won", "k2", 800)
            .push(M, "pay_2", "o-won", "k2", EntryKind::Dispute, 800)
            .push(M, "pay_2", "o-won", "k2", EntryKind::DisputeReversal, 800);
        let outcomes: Vec<OrderOutcome> = [
            ("o-disputed", "k1", "pay_1", 1000),
            ("o-won", "k2", "pay_2", 800),
        ]
        .into_iter()
        .map(|(id, key, pay, amount)| {
            order(
                id,
                "purchase",
                amount,
                (amount, 0),
                ClientResult::Succeeded,
                vec![attempt("create", key, Some(200), Some(pay))],
            )
        })
        .collect();
        let rec = reconcile(&outcomes, &l.0);
        assert!(rec.violations.is_empty(), "{:?}", rec.violations);
        assert_eq!(rec.counts, ViolationCounts::default());
        assert_eq!(
            rec.disputes,
            DisputeCounts {
                open_or_lost: 1,
                won: 1
            }
        );
    }

    #[test]
    fn an_abandoned_or_failed_challenge_must_move_no_money_and_challenges_are_counted() {
        let mut l = Ledger::new();
        // Completed: charged once.
        l.charge("pay_1", "o-done", "k1", 1000);
        // Abandoned, and the gateway never charged: right.
        // Failed: the authentication failure is a decline entry, nothing moved.
        l.push(M, "pay_3", "o-failed", "k3", EntryKind::Decline, 0);
        // Abandoned, yet charged: the buyer never authenticated but paid.
        l.charge("pay_4", "o-abandoned-charged", "k4", 700);
        let three_ds = |id: &str, key: &str, pay: &str, result, expected, end| OrderOutcome {
            challenge: Some(end),
            ..order(
                id,
                "three_ds",
                1000,
                (expected, 0),
                result,
                vec![attempt("create", key, Some(200), Some(pay))],
            )
        };
        let outcomes = vec![
            three_ds(
                "o-done",
                "k1",
                "pay_1",
                ClientResult::Succeeded,
                1000,
                ChallengeEnd::Completed,
            ),
            three_ds(
                "o-abandoned",
                "k2",
                "pay_2",
                ClientResult::Declined,
                0,
                ChallengeEnd::Abandoned,
            ),
            three_ds(
                "o-failed",
                "k3",
                "pay_3",
                ClientResult::Declined,
                0,
                ChallengeEnd::Failed,
            ),
            three_ds(
                "o-abandoned-charged",
                "k4",
                "pay_4",
                ClientResult::Declined,
                0,
                ChallengeEnd::Abandoned,
            ),
        ];
        let rec = reconcile(&outcomes, &l.0);
        let v = only(&rec);
        assert_eq!(
            (v.kind, v.order_id.as_str()),
            (ViolationKind::OrphanCharge, "o-abandoned-charged")
        );
        assert_eq!(
            rec.challenges,
            ChallengeCounts {
                completed: 1,
                abandoned: 2,
                failed: 1,
                unknown: 0
            }
        );
        // A completed challenge whose money never moved is a lost charge like any purchase's.
        let rec = reconcile(&outcomes[..1], &[]);
        assert_eq!(only(&rec).kind, ViolationKind::LostCharge);
    }

    #[test]
    fn every_clean_flow_reconciles_without_violations() {
        let mut l = Ledger::new();
        l.charge("pay_1", "o-purchase", "k1", 1000);
        // Partial capture: 600 taken, the uncaptured 400 released.
        l.push(
            M,
            "pay_2",
            "o-authcap",
            "k2",
            EntryKind::Authorization,
            1000,
        )
        .push(M, "pay_2", "o-authcap", "k2c", EntryKind::Capture, 600)
        .push(M, "pay_2", "o-authcap", "k2c", EntryKind::Release, 400);
        l.push(M, "pay_3", "o-cancel", "k3", EntryKind::Authorization, 700)
            .push(M, "pay_3", "o-cancel", "k3x", EntryKind::Release, 700);
        l.charge("pay_4", "o-refund", "k4", 1000).push(
            M,
            "pay_4",
            "o-refund",
            "k4r",
            EntryKind::Refund,
            300,
        );
        l.charge("pay_5", "o-double", "k5", 1200);
        l.charge("pay_6", "o-retry", "k6", 900);
        l.push(M, "pay_7", "o-declined", "k7", EntryKind::Decline, 0);
        // Fully refunded: the client was told success and expects the whole amount back.
        l.charge("pay_8", "o-fullrefund", "k8", 500).push(
            M,
            "pay_8",
            "o-fullrefund",
            "k8r",
            EntryKind::Refund,
            500,
        );
        let outcomes = vec![
            order(
                "o-purchase",
                "purchase",
                1000,
                (1000, 0),
                ClientResult::Succeeded,
                vec![attempt("create", "k1", Some(200), Some("pay_1"))],
            ),
            order(
                "o-authcap",
                "auth_capture",
                1000,
                (600, 0),
                ClientResult::Succeeded,
                vec![
                    attempt("create", "k2", Some(200), Some("pay_2")),
                    attempt("capture", "k2c", Some(200), Some("pay_2")),
                ],
            ),
            order(
                "o-cancel",
                "auth_cancel",
                700,
                (0, 0),
                ClientResult::Succeeded,
                vec![
                    attempt("create", "k3", Some(200), Some("pay_3")),
                    attempt("cancel", "k3x", Some(200), Some("pay_3")),
                ],
            ),
            order(
                "o-refund",
                "purchase_refund",
                1000,
                (1000, 300),
                ClientResult::Succeeded,
                vec![
                    attempt("create", "k4", Some(200), Some("pay_4")),
                    attempt("refund", "k4r", Some(200), Some("pay_4")),
                ],
            ),
            // The double click: both answers name the same payment (one was a replay).
            order(
                "o-double",
                "double_submit",
                1200,
                (1200, 0),
                ClientResult::Succeeded,
                vec![
                    attempt("create", "k5", Some(200), Some("pay_5")),
                    attempt("create", "k5", Some(200), Some("pay_5")),
                ],
            ),
            order(
                "o-retry",
                "retry_same_key",
                900,
                (900, 0),
                ClientResult::Succeeded,
                vec![
                    attempt("create", "k6", None, None),
                    attempt("create", "k6", Some(200), Some("pay_6")),
                ],
            ),
            order(
                "o-declined",
                "purchase",
                800,
                (800, 0),
                ClientResult::Declined,
                vec![attempt("create", "k7", Some(402), Some("pay_7"))],
            ),
            order(
                "o-fullrefund",
                "purchase_refund",
                500,
                (500, 500),
                ClientResult::Succeeded,
                vec![
                    attempt("create", "k8", Some(200), Some("pay_8")),
                    attempt("refund", "k8r", Some(200), Some("pay_8")),
                ],
            ),
            // Failed before anything reached the gateway.
            order(
                "o-failed",
                "purchase",
                300,
                (300, 0),
                ClientResult::Failed,
                vec![attempt("create", "k9", Some(500), None)],
            ),
        ];
        let rec = reconcile(&outcomes, &l.0);
        assert!(rec.violations.is_empty(), "{:#?}", rec.violations);
        assert_eq!(rec.counts, ViolationCounts::default());
        assert_eq!(rec.orders, 9);
        assert_eq!(rec.ledger_entries, l.0.len() as u64);
    }

    #[test]
    fn retry_with_a_new_key_is_a_double_charge_listing_both_keys_and_payments() {
        let mut l = Ledger::new();
        l.charge("pay_a", "o-1", "key-first", 1000);
        l.charge("pay_b", "o-1", "key-second", 1000);
        let outcomes = vec![order(
            "o-1",
            "retry_new_key",
            1000,
            (1000, 0),
            ClientResult::Succeeded,
            vec![
                attempt("create", "key-first", None, None),
                attempt("create", "key-second", Some(200), Some("pay_b")),
            ],
        )];
        let rec = reconcile(&outcomes, &l.0);
        let v = only(&rec);
        assert_eq!(v.kind, ViolationKind::DoubleCharge);
        assert_eq!(rec.counts.double_charges, 1);
        assert_eq!((v.captures, v.captured), (2, 2000));
        assert_eq!(v.idempotency_keys, vec!["key-first", "key-second"]);
        assert_eq!(v.payment_ids, vec!["pay_b", "pay_a"]);
        assert_eq!(
            v.ledger.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![1, 2, 3, 4]
        );
        assert_eq!(v.order_id, "o-1");
        assert_eq!(v.flow, "retry_new_key");
    }

    #[test]
    fn one_capture_above_the_order_amount_is_a_double_charge_not_a_mismatch() {
        let mut l = Ledger::new();
        l.charge("pay_a", "o-1", "k", 1500);
        let outcomes = vec![order(
            "o-1",
            "purchase",
            1000,
            (1000, 0),
            ClientResult::Succeeded,
            vec![attempt("create", "k", Some(200), Some("pay_a"))],
        )];
        let rec = reconcile(&outcomes, &l.0);
        assert_eq!(only(&rec).kind, ViolationKind::DoubleCharge);
        assert_eq!(rec.counts.amount_mismatches, 0);
    }

    #[test]
    fn success_without_a_capture_is_a_lost_charge() {
        let mut l = Ledger::new();
        l.push(M, "pay_a", "o-1", "k", EntryKind::Authorization, 1000);
        let outcomes = vec![order(
            "o-1",
            "purchase",
            1000,
            (1000, 0),
            ClientResult::Succeeded,
            vec![attempt("create", "k", Some(200), Some("pay_a"))],
        )];
        let rec = reconcile(&outcomes, &l.0);
        let v = only(&rec);
        assert_eq!(v.kind, ViolationKind::LostCharge);
        assert_eq!(v.ledger.len(), 1);
        assert_eq!(rec.counts.lost_charges, 1);
        // Nothing at all in the ledger is just as lost.
        let rec = reconcile(&outcomes, &[]);
        assert_eq!(only(&rec).kind, ViolationKind::LostCharge);
    }

    #[test]
    fn failure_with_money_left_captured_is_an_orphan_charge_unless_refunded() {
        let mut l = Ledger::new();
        l.charge("pay_a", "o-1", "k1", 1000);
        l.charge("pay_b", "o-2", "k2", 1000).push(
            M,
            "pay_b",
            "o-2",
            "k2r",
            EntryKind::Refund,
            1000,
        );
        let outcomes = vec![
            order(
                "o-1",
                "purchase",
                1000,
                (1000, 0),
                ClientResult::Failed,
                vec![attempt("create", "k1", Some(500), None)],
            ),
            order(
                "o-2",
                "purchase",
                1000,
                (1000, 0),
                ClientResult::Declined,
                vec![attempt("create", "k2", Some(402), None)],
            ),
        ];
        let rec = reconcile(&outcomes, &l.0);
        let v = only(&rec);
        assert_eq!(
            (v.kind, v.order_id.as_str()),
            (ViolationKind::OrphanCharge, "o-1")
        );
        assert_eq!(rec.counts.orphan_charges, 1);
        assert_eq!(v.payment_ids, vec!["pay_a"]);
    }

    #[test]
    fn wrong_captured_refunded_or_currency_is_an_amount_mismatch() {
        let mut l = Ledger::new();
        l.charge("pay_a", "o-capture", "k1", 900);
        l.charge("pay_b", "o-refund", "k2", 1000).push(
            M,
            "pay_b",
            "o-refund",
            "k2r",
            EntryKind::Refund,
            1000,
        );
        l.charge("pay_c", "o-cancel", "k3", 400);
        l.charge("pay_d", "o-eur", "k4", 1000);
        if let Some(last) = l.0.last_mut() {
            last.currency = "eur".to_owned();
        }
        let outcomes = vec![
            order(
                "o-capture",
                "purchase",
                1000,
                (1000, 0),
                ClientResult::Succeeded,
                vec![],
            ),
            order(
                "o-refund",
                "purchase_refund",
                1000,
                (1000, 300),
                ClientResult::Succeeded,
                vec![],
            ),
            // Told the authorization was canceled, yet money was captured.
            order(
                "o-cancel",
                "auth_cancel",
                400,
                (0, 0),
                ClientResult::Succeeded,
                vec![],
            ),
            order(
                "o-eur",
                "purchase",
                1000,
                (1000, 0),
                ClientResult::Succeeded,
                vec![],
            ),
        ];
        let rec = reconcile(&outcomes, &l.0);
        assert_eq!(rec.counts.amount_mismatches, 4, "{:#?}", rec.violations);
        assert!(
            rec.violations
                .iter()
                .all(|v| v.kind == ViolationKind::AmountMismatch)
        );
        assert_eq!(
            rec.counts.double_charges + rec.counts.lost_charges + rec.counts.orphan_charges,
            0
        );
    }

    #[test]
    fn unresolved_orders_are_counted_and_violate_only_when_charged_twice() {
        let mut l = Ledger::new();
        l.charge("pay_a", "o-once", "k1", 1000);
        l.charge("pay_b", "o-twice", "k2", 1000);
        l.charge("pay_c", "o-twice", "k3", 1000);
        let outcomes = vec![
            order(
                "o-once",
                "retry_same_key",
                1000,
                (1000, 0),
                ClientResult::Unknown,
                vec![attempt("create", "k1", None, None)],
            ),
            order(
                "o-twice",
                "retry_new_key",
                1000,
                (1000, 0),
                ClientResult::Unknown,
                vec![
                    attempt("create", "k2", None, None),
                    attempt("create", "k3", None, None),
                ],
            ),
            order(
                "o-none",
                "purchase",
                1000,
                (1000, 0),
                ClientResult::Unknown,
                vec![attempt("create", "k4", None, None)],
            ),
        ];
        let rec = reconcile(&outcomes, &l.0);
        assert_eq!(rec.counts.unresolved, 3);
        assert_eq!(rec.unresolved_sample, vec!["o-once", "o-twice", "o-none"]);
        let v = only(&rec);
        assert_eq!(
            (v.kind, v.order_id.as_str()),
            (ViolationKind::DoubleCharge, "o-twice")
        );
    }

    #[test]
    fn entries_of_other_merchants_do_not_belong_to_an_order_and_unknown_charges_are_counted() {
        let mut l = Ledger::new();
        l.charge("pay_a", "o-1", "k1", 1000);
        // Same reference, another loadgen merchant: not this order's money.
        l.push(
            "sk_test_loadgen_1",
            "pay_x",
            "o-1",
            "kx",
            EntryKind::Capture,
            1000,
        );
        // A charge no order of this run made.
        l.push(M, "pay_y", "o-stray", "ky", EntryKind::Capture, 50);
        // Somebody else's traffic on a shared gateway: ignored.
        l.push(
            "sk_live_other",
            "pay_z",
            "o-z",
            "kz",
            EntryKind::Capture,
            70,
        );
        let outcomes = vec![
            order(
                "o-1",
                "purchase",
                1000,
                (1000, 0),
                ClientResult::Succeeded,
                vec![],
            ),
            OrderOutcome {
                merchant: "sk_test_loadgen_1".to_owned(),
                ..order(
                    "o-2",
                    "auth_cancel",
                    10,
                    (0, 0),
                    ClientResult::Succeeded,
                    vec![],
                )
            },
        ];
        let rec = reconcile(&outcomes, &l.0);
        assert!(rec.violations.is_empty(), "{:#?}", rec.violations);
        assert_eq!(rec.counts.unknown_charges, 2);
        let stray: Vec<&str> = rec
            .unknown_charge_sample
            .iter()
            .map(|e| e.payment_id.as_str())
            .collect();
        assert_eq!(stray, vec!["pay_x", "pay_y"]);
    }

    #[test]
    fn an_empty_merchant_matches_by_reference_alone() {
        let mut l = Ledger::new();
        l.push(
            "sk_service_key",
            "pay_a",
            "o-1",
            "k1",
            EntryKind::Capture,
            1000,
        );
        l.push(
            "sk_service_key",
            "pay_b",
            "o-1",
            "k2",
            EntryKind::Capture,
            1000,
        );
        let outcomes = vec![OrderOutcome {
            merchant: String::new(),
            ..order(
                "o-1",
                "service",
                1000,
                (1000, 0),
                ClientResult::Succeeded,
                vec![],
            )
        }];
        let rec = reconcile(&outcomes, &l.0);
        assert_eq!(only(&rec).kind, ViolationKind::DoubleCharge);
    }

    fn view(id: &str, status: MerchantStatus) -> MerchantView {
        MerchantView {
            order_id: id.to_owned(),
            status,
            fulfillments: None,
            amount_paid: None,
            amount_refunded: None,
            error: None,
        }
    }

    fn service_order(id: &str, result: ClientResult) -> OrderOutcome {
        order(id, "service", 1000, (1000, 0), result, vec![])
    }

    /// The merchant-view violations of a reconciliation, by order id.
    fn merchant_kinds(rec: &Reconciliation) -> Vec<(&str, ViolationKind)> {
        rec.violations
            .iter()
            .filter(|v| v.merchant_view.is_some())
            .map(|v| (v.order_id.as_str(), v.kind))
            .collect()
    }

    #[test]
    fn without_views_nothing_about_the_merchant_is_computed() {
        let mut l = Ledger::new();
        l.charge("pay_a", "o-1", "k1", 1000);
        let outcomes = vec![service_order("o-1", ClientResult::Succeeded)];
        let rec = reconcile_with_views(&outcomes, &l.0, None);
        assert_eq!(rec, reconcile(&outcomes, &l.0));
        assert_eq!(rec.counts.merchant, None);
        // And the report's JSON is as it was: no merchant keys at all.
        let json = serde_json::to_string(&rec).unwrap_or_default();
        assert!(
            !json.contains("merchant_view") && !json.contains("\"merchant\":{"),
            "{json}"
        );
    }

    #[test]
    fn an_accepted_order_is_judged_by_its_view_and_a_second_capture_only() {
        let mut l = Ledger::new();
        l.charge("pay_a", "o-paid", "k1", 1000);
        l.charge("pay_b", "o-unseen", "k2", 1000);
        l.charge("pay_c", "o-twice", "k3", 1000)
            .charge("pay_d", "o-twice", "k4", 1000);
        let outcomes = vec![
            service_order("o-paid", ClientResult::Accepted),
            service_order("o-unseen", ClientResult::Accepted),
            service_order("o-twice", ClientResult::Accepted),
            service_order("o-nothing", ClientResult::Accepted),
        ];
        let paid = |id| MerchantView {
            fulfillments: Some(1),
            amount_paid: Some(1000),
            ..view(id, MerchantStatus::Paid)
        };
        let views = vec![
            paid("o-paid"),
            view("o-unseen", MerchantStatus::Pending),
            paid("o-twice"),
            view("o-nothing", MerchantStatus::Pending),
        ];
        let rec = reconcile_with_views(&outcomes, &l.0, Some(&views));
        // Accepted promised nothing: neither lost nor orphan, and not unresolved either.
        assert_eq!(rec.counts.unresolved, 0);
        assert_eq!(rec.counts.double_charges, 1);
        assert_eq!(
            merchant_kinds(&rec),
            vec![("o-unseen", ViolationKind::ChargedNotPaid)]
        );
    }

    #[test]
    fn books_that_agree_with_the_ledger_raise_nothing() {
        let mut l = Ledger::new();
        l.charge("pay_a", "o-paid", "k1", 1000);
        l.charge("pay_b", "o-refunded", "k2", 1000).push(
            M,
            "pay_b",
            "o-refunded",
            "k2r",
            EntryKind::Refund,
            1000,
        );
        l.charge("pay_c", "o-partial", "k3", 1000).push(
            M,
            "pay_c",
            "o-partial",
            "k3r",
            EntryKind::Refund,
            300,
        );
        l.push(M, "pay_d", "o-declined", "k4", EntryKind::Decline, 0);
        let outcomes = vec![
            service_order("o-paid", ClientResult::Succeeded),
            order(
                "o-refunded",
                "service",
                1000,
                (1000, 1000),
                ClientResult::Succeeded,
                vec![],
            ),
            order(
                "o-partial",
                "service",
                1000,
                (1000, 300),
                ClientResult::Succeeded,
                vec![],
            ),
            service_order("o-declined", ClientResult::Declined),
            service_order("o-never-sent", ClientResult::Failed),
        ];
        let views = vec![
            MerchantView {
                fulfillments: Some(1),
                amount_paid: Some(1000),
                amount_refunded: Some(0),
                ..view("o-paid", MerchantStatus::Paid)
            },
            MerchantView {
                fulfillments: Some(1),
                amount_refunded: Some(1000),
                ..view("o-refunded", MerchantStatus::Refunded)
            },
            // Partly refunded and still paid: the merchant keeps the order.
            MerchantView {
                amount_refunded: Some(300),
                ..view("o-partial", MerchantStatus::Paid)
            },
            MerchantView {
                fulfillments: Some(0),
                ..view("o-declined", MerchantStatus::Failed)
            },
            view("o-never-sent", MerchantStatus::Pending),
        ];
        let rec = reconcile_with_views(&outcomes, &l.0, Some(&views));
        assert!(rec.violations.is_empty(), "{:#?}", rec.violations);
        let counts = rec.counts.merchant.unwrap_or_default();
        assert_eq!(
            counts,
            MerchantViewCounts {
                views: 5,
                ..MerchantViewCounts::default()
            }
        );
    }

    #[test]
    fn each_way_the_books_disagree_is_its_own_kind() {
        let mut l = Ledger::new();
        l.charge("pay_a", "o-shipped-twice", "k1", 1000);
        l.push(
            M,
            "pay_b",
            "o-paid-uncharged",
            "k2",
            EntryKind::Authorization,
            1000,
        );
        l.charge("pay_c", "o-lost-webhook", "k3", 1000);
        l.charge("pay_d", "o-went-back", "k4", 1000);
        l.charge("pay_e", "o-paid-refunded", "k5", 1000).push(
            M,
            "pay_e",
            "o-paid-refunded",
            "k5r",
            EntryKind::Refund,
            1000,
        );
        l.charge("pay_f", "o-refund-twice", "k6", 1000).push(
            M,
            "pay_f",
            "o-refund-twice",
            "k6r",
            EntryKind::Refund,
            400,
        );
        let outcomes = [
            "o-shipped-twice",
            "o-paid-uncharged",
            "o-lost-webhook",
            "o-went-back",
            "o-paid-refunded",
            "o-refund-twice",
        ]
        .map(|id| service_order(id, ClientResult::Succeeded))
        .to_vec();
        let views = vec![
            MerchantView {
                fulfillments: Some(2),
                ..view("o-shipped-twice", MerchantStatus::Paid)
            },
            view("o-paid-uncharged", MerchantStatus::Paid),
            MerchantView {
                fulfillments: Some(0),
                ..view("o-lost-webhook", MerchantStatus::Pending)
            },
            // Shipped, so it was paid once; an old event then set it back to failed.
            MerchantView {
                fulfillments: Some(1),
                ..view("o-went-back", MerchantStatus::Failed)
            },
            view("o-paid-refunded", MerchantStatus::Paid),
            MerchantView {
                amount_refunded: Some(800),
                ..view("o-refund-twice", MerchantStatus::Paid)
            },
        ];
        let rec = reconcile_with_views(&outcomes, &l.0, Some(&views));
        assert_eq!(
            merchant_kinds(&rec),
            vec![
                ("o-shipped-twice", ViolationKind::DoubleFulfilment),
                ("o-paid-uncharged", ViolationKind::PaidNotCharged),
                ("o-lost-webhook", ViolationKind::ChargedNotPaid),
                ("o-went-back", ViolationKind::StateRegressed),
                ("o-paid-refunded", ViolationKind::StateRegressed),
                ("o-refund-twice", ViolationKind::RefundMismatch),
            ]
        );
        let counts = rec.counts.merchant.clone().unwrap_or_default();
        assert_eq!(
            counts,
            MerchantViewCounts {
                views: 6,
                unreadable: 0,
                double_fulfilments: 1,
                paid_not_charged: 1,
                charged_not_paid: 1,
                state_regressions: 2,
                refund_mismatches: 1,
            }
        );
        // The paid-but-uncharged order is also a lost charge for the ledger check: both kept.
        assert_eq!(rec.counts.lost_charges, 1);
        let v = rec
            .violations
            .iter()
            .find(|v| v.kind == ViolationKind::RefundMismatch);
        assert_eq!(v.map(|v| v.refunded), Some(400));
        assert_eq!(
            v.and_then(|v| v.merchant_view.as_ref())
                .and_then(|m| m.amount_refunded),
            Some(800)
        );
    }

    #[test]
    fn a_refunded_merchant_with_no_gateway_refund_has_regressed() {
        let mut l = Ledger::new();
        l.charge("pay_a", "o-1", "k1", 1000);
        let outcomes = vec![service_order("o-1", ClientResult::Succeeded)];
        let views = vec![view("o-1", MerchantStatus::Refunded)];
        let rec = reconcile_with_views(&outcomes, &l.0, Some(&views));
        assert_eq!(
            merchant_kinds(&rec),
            vec![("o-1", ViolationKind::StateRegressed)]
        );
    }

    #[test]
    fn missing_or_unreadable_views_are_counted_not_judged() {
        let mut l = Ledger::new();
        l.charge("pay_a", "o-1", "k1", 1000);
        l.charge("pay_b", "o-2", "k2", 1000);
        let outcomes = vec![
            service_order("o-1", ClientResult::Succeeded),
            service_order("o-2", ClientResult::Succeeded),
        ];
        let views = vec![MerchantView::unreadable("o-1", "HTTP 503")];
        let rec = reconcile_with_views(&outcomes, &l.0, Some(&views));
        assert!(rec.violations.is_empty(), "{:#?}", rec.violations);
        let counts = rec.counts.merchant.unwrap_or_default();
        assert_eq!((counts.views, counts.unreadable), (0, 2));
    }
}
