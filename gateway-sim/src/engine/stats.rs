//! Counts and totals for `/_sim/stats` and `/metrics`, kept as atomics beside the tables so that
//! reading them never takes a payment's lock.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use super::idempotency::IdempotencyStore;
use super::ledger::EntryKind;
use super::payment::PaymentStatus;

/// Counts and totals for `/_sim/stats` and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LedgerStats {
    pub payments: u64,
    pub requires_capture: u64,
    pub succeeded: u64,
    pub canceled: u64,
    pub failed: u64,
    pub requires_payment_method: u64,
    pub requires_confirmation: u64,
    pub requires_action: u64,
    pub authorized_amount: i64,
    pub captured_amount: i64,
    pub released_amount: i64,
    pub refunded_amount: i64,
    pub refunds: u64,
    pub ledger_entries: u64,
    pub idempotency_keys: u64,
    pub replays: u64,
    pub key_mismatches: u64,
    pub key_in_use_conflicts: u64,
}

#[derive(Default)]
pub(super) struct Counters {
    by_status: [AtomicI64; PaymentStatus::ALL.len()],
    authorized: AtomicI64,
    captured: AtomicI64,
    released: AtomicI64,
    refunded: AtomicI64,
    refunds: AtomicU64,
}

impl Counters {
    pub(super) fn moved(&self, kind: EntryKind, amount: i64) {
        let counter = match kind {
            EntryKind::Authorization => &self.authorized,
            EntryKind::Capture => &self.captured,
            EntryKind::Release => &self.released,
            EntryKind::Refund => {
                self.refunds.fetch_add(1, Ordering::Relaxed);
                &self.refunded
            }
            // Disputes are counted by the ledger itself, not in the totals of the stats.
            EntryKind::Decline | EntryKind::Dispute | EntryKind::DisputeReversal => return,
        };
        counter.fetch_add(amount, Ordering::Relaxed);
    }

    pub(super) fn transition(&self, from: Option<PaymentStatus>, to: PaymentStatus) {
        if let Some(from) = from {
            self.by_status[from.index()].fetch_sub(1, Ordering::Relaxed);
        }
        self.by_status[to.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn clear(&self) {
        for c in &self.by_status {
            c.store(0, Ordering::Relaxed);
        }
        for c in [
            &self.authorized,
            &self.captured,
            &self.released,
            &self.refunded,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        self.refunds.store(0, Ordering::Relaxed);
    }

    /// The published counts: these counters, plus the ledger's length and the key store's.
    pub(super) fn stats(&self, ledger_entries: u64, keys: &IdempotencyStore) -> LedgerStats {
        let status =
            |s: PaymentStatus| self.by_status[s.index()].load(Ordering::Relaxed).max(0) as u64;
        let idem = &keys.counters;
        LedgerStats {
            payments: PaymentStatus::ALL.iter().map(|s| status(*s)).sum(),
            requires_capture: status(PaymentStatus::RequiresCapture),
            succeeded: status(PaymentStatus::Succeeded),
            canceled: status(PaymentStatus::Canceled),
            failed: status(PaymentStatus::Failed),
            requires_payment_method: status(PaymentStatus::RequiresPaymentMethod),
            requires_confirmation: status(PaymentStatus::RequiresConfirmation),
            requires_action: status(PaymentStatus::RequiresAction),
            authorized_amount: self.authorized.load(Ordering::Relaxed),
            captured_amount: self.captured.load(Ordering::Relaxed),
            released_amount: self.released.load(Ordering::Relaxed),
            refunded_amount: self.refunded.load(Ordering::Relaxed),
            refunds: self.refunds.load(Ordering::Relaxed),
            ledger_entries,
            idempotency_keys: keys.len() as u64,
            replays: idem.replays.load(Ordering::Relaxed),
            key_mismatches: idem.mismatches.load(Ordering::Relaxed),
            key_in_use_conflicts: idem.in_use.load(Ordering::Relaxed),
        }
    }
}
