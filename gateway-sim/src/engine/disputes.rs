//! Disputes: a captured payment paid with a dispute test card is disputed after
//! `open_after` of simulator time; the merchant answers with evidence (decided
//! after `decided_after`) or accepts the loss. Each step is a state change under
//! the payment's lock with its ledger entries and its change, like every
//! operation in `operations.rs`.
//!
//! Openings and decisions are scheduled like expiries (`expiry.rs`): once, under
//! the payment's lock, as `(due, sequence) → payment`, and swept in that order
//! when simulator time passes them (`lifecycle.rs`). An entry that outlived its
//! reason (the payment was refunded in full first) is skipped by the sweep.

use std::sync::Arc;
use std::time::Duration;

use super::dispute::{Dispute, DisputeStatus, RESPONSE_WINDOW_SECS, WINNING_EVIDENCE};
use super::error::EngineError;
use super::events::{Cause, ChangeKind};
use super::ids::{DisputeId, MerchantId, PaymentId};
use super::ledger::EntryKind;
use super::operations::{Engine, patch_metadata};
use super::payment::{MetadataPatch, Payment, PaymentStatus};

/// What the merchant sends in answer to a dispute.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisputeAnswer {
    /// The evidence text; `None` keeps what was given before.
    pub evidence: Option<String>,
    /// Submit it to the bank now (`true`), or only keep it (`false`).
    pub submit: bool,
    /// Changes to the dispute's metadata: the merchant's own notes, which any
    /// dispute takes, closed or not.
    pub metadata: Option<MetadataPatch>,
}

impl Engine {
    /// How long after capture disputes open, and how long the bank takes to decide
    /// once evidence is in. Scheduled openings and decisions keep their time.
    pub fn set_dispute_delays(&self, open_after: Duration, decided_after: Duration) {
        self.inner.dispute_openings.set_validity(open_after);
        self.inner.dispute_decisions.set_validity(decided_after);
    }

    /// Schedules the dispute `p`'s test card asked for, once `p` is captured.
    /// Under `p`'s lock.
    pub(super) fn schedule_dispute(&self, p: &Payment) {
        if p.rare.dispute_plan.is_some() && p.rare.dispute.is_none() && p.amount_captured > 0 {
            let now = self.inner.clock.now_ms();
            self.inner.dispute_openings.schedule(p.id, now);
        }
    }

    /// Opens the dispute planned for payment `id`, if it is still captured and
    /// not all refunded: a `dispute` entry of what is left (none for an inquiry),
    /// and `disputed` on the charge. Called by the sweep.
    pub(super) fn open_due_dispute(&self, id: PaymentId, cause: &Cause) {
        let opened = {
            let mut shard = self.shard(id).lock();
            let Some(p) = shard.get_mut(&id) else {
                return;
            };
            let left = p.amount_captured - p.amount_refunded;
            let Some(plan) = p.rare.dispute_plan else {
                return;
            };
            if p.status != PaymentStatus::Succeeded || p.rare.dispute.is_some() || left <= 0 {
                return;
            }
            let created = self.inner.clock.now_ms() / 1000;
            p.rare.edit().dispute = Some(Box::new(Dispute {
                id: DisputeId::of(p.id),
                amount: left,
                reason: plan.reason,
                inquiry: plan.inquiry,
                status: if plan.inquiry {
                    DisputeStatus::WarningNeedsResponse
                } else {
                    DisputeStatus::NeedsResponse
                },
                created,
                due_by: created + RESPONSE_WINDOW_SECS,
                evidence: None,
                submission_count: 0,
                metadata: None,
                decides_at_ms: None,
            }));
            if !plan.inquiry {
                self.record(p, EntryKind::Dispute, left, cause);
            }
            self.raise(p, ChangeKind::DisputeCreated, cause);
            p.merchant
        };
        // After the payment's lock: the listing reads payments under its own.
        self.inner
            .disputes_by_merchant
            .lock()
            .entry(opened)
            .or_default()
            .push(id);
    }

    /// Decides the submitted dispute of payment `id` if its decision is the one
    /// scheduled `at`: won with the winning evidence (the funds come back: a
    /// `dispute_reversal` entry), lost otherwise; an inquiry just closes.
    pub(super) fn decide_due_dispute(&self, at: u64, id: PaymentId, cause: &Cause) {
        let mut shard = self.shard(id).lock();
        let Some(p) = shard.get_mut(&id) else {
            return;
        };
        let Some(d) = p.rare.dispute_mut() else {
            return;
        };
        if d.decides_at_ms != Some(at) || d.is_closed_or_unsubmitted() {
            return;
        }
        let won = d
            .evidence
            .as_deref()
            .is_some_and(|text| text.trim() == WINNING_EVIDENCE);
        d.status = match (d.inquiry, won) {
            (true, _) => DisputeStatus::WarningClosed,
            (false, true) => DisputeStatus::Won,
            (false, false) => DisputeStatus::Lost,
        };
        let reinstated = d.status == DisputeStatus::Won;
        let amount = d.amount;
        self.raise(p, ChangeKind::DisputeClosed, cause);
        if reinstated {
            self.record(p, EntryKind::DisputeReversal, amount, cause);
            self.raise(p, ChangeKind::DisputeFundsReinstated, cause);
        }
    }

    /// The merchant's answer to a dispute waiting for one: keeps the evidence and,
    /// with `submit`, sends it to the bank (`under_review`, decided after
    /// `decided_after`). A dispute under review or closed takes no more.
    pub fn answer_dispute(
        &self,
        merchant: MerchantId,
        id: &str,
        answer: DisputeAnswer,
        cause: &Cause,
    ) -> Result<Payment, EngineError> {
        self.with_dispute(merchant, id, |p| {
            let d = p.rare.dispute_mut().ok_or_else(|| missing(id))?;
            let answers = answer.evidence.is_some() || answer.submit;
            if answers && !d.status.needs_response() {
                return Err(not_open(d, "take evidence"));
            }
            if let Some(patch) = &answer.metadata {
                d.metadata = patch_metadata(d.metadata.as_deref(), patch).map(Arc::from);
            }
            if let Some(text) = answer.evidence {
                d.evidence = Some(text.into());
            }
            if answer.submit {
                let at = self
                    .inner
                    .dispute_decisions
                    .schedule(p.id, self.inner.clock.now_ms());
                d.submission_count += 1;
                d.decides_at_ms = Some(at);
                d.status = if d.inquiry {
                    DisputeStatus::WarningUnderReview
                } else {
                    DisputeStatus::UnderReview
                };
            }
            self.raise(p, ChangeKind::DisputeUpdated, cause);
            Ok(p.clone())
        })
    }

    /// The merchant accepts the dispute: lost (an inquiry: closed), the money stays
    /// with the cardholder. Only a dispute waiting for an answer can be accepted.
    pub fn close_dispute(
        &self,
        merchant: MerchantId,
        id: &str,
        cause: &Cause,
    ) -> Result<Payment, EngineError> {
        self.with_dispute(merchant, id, |p| {
            let d = p.rare.dispute_mut().ok_or_else(|| missing(id))?;
            if !d.status.needs_response() {
                return Err(not_open(d, "be closed"));
            }
            d.status = if d.inquiry {
                DisputeStatus::WarningClosed
            } else {
                DisputeStatus::Lost
            };
            self.raise(p, ChangeKind::DisputeClosed, cause);
            Ok(p.clone())
        })
    }

    /// The payment a dispute of this merchant disputes (the dispute on it).
    pub fn dispute(&self, merchant: MerchantId, id: &str) -> Result<Payment, EngineError> {
        self.with_dispute(merchant, id, |p| Ok(p.clone()))
    }

    /// The merchant's disputed payments, newest dispute first; with `payment`,
    /// only that payment's.
    pub fn disputes_of(&self, merchant: MerchantId, payment: Option<&str>) -> Vec<Payment> {
        let ids: Vec<PaymentId> = self
            .inner
            .disputes_by_merchant
            .lock()
            .get(&merchant)
            .cloned()
            .unwrap_or_default();
        let only = payment.map(PaymentId::parse);
        ids.into_iter()
            .rev()
            .filter(|id| only.is_none_or(|only| only == Some(*id)))
            .filter_map(|id| self.shard(id).lock().get(&id).cloned())
            .filter(|p| p.merchant == merchant && p.rare.dispute.is_some())
            .collect()
    }

    fn with_dispute<T>(
        &self,
        merchant: MerchantId,
        id: &str,
        change: impl FnOnce(&mut Payment) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let pid = DisputeId::parse(id)
            .map(DisputeId::payment)
            .ok_or_else(|| missing(id))?;
        let _section = self.section();
        let mut shard = self.shard(pid).lock();
        let p = shard
            .get_mut(&pid)
            .filter(|p| p.merchant == merchant && p.rare.dispute.is_some())
            .ok_or_else(|| missing(id))?;
        let changed = change(p);
        if changed.is_ok() && self.journaling() {
            // Evidence kept without submitting raises nothing, but is a change all the same.
            self.touch_payment(pid);
        }
        changed
    }
}

impl Dispute {
    fn is_closed_or_unsubmitted(&self) -> bool {
        self.status.is_closed() || self.status.needs_response()
    }
}

fn missing(id: &str) -> EngineError {
    EngineError::NoSuchDispute(id.to_string())
}

fn not_open(d: &Dispute, what: &str) -> EngineError {
    EngineError::InvalidState(format!(
        "dispute {} is {}; only a dispute that needs a response can {what}",
        d.id,
        d.status.as_str()
    ))
}
