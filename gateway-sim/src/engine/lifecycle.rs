//! What happens to a payment after its first answer, apart from the merchant's
//! own calls: an uncaptured authorization expires when simulator time passes its
//! `capture_before`, a buyer answers the authentication challenge (3-D Secure) a
//! card asked for, and a challenge nobody answers is abandoned when simulator time
//! passes its `abandon_after`. Each is a state change under the payment's lock,
//! with its ledger entries and its change, like every operation in
//! `operations.rs`; apart from there because nobody's API request causes them.

use std::sync::Arc;
use std::time::Duration;

use super::decline_code::StoredDeclineCode;
use super::error::EngineError;
use super::events::{Cause, Change, ChangeKind};
use super::ids::PaymentId;
use super::ledger::{EntryKind, EntryReason};
use super::operations::Engine;
use super::payment::{
    AUTHENTICATION_FAILURE, AuthenticationOutcome, CancellationReason, ConfirmedAt, Payment,
    PaymentStatus,
};

impl Engine {
    /// How long a 3-D Secure challenge opened from now on waits for its buyer before
    /// it is abandoned (`[gateway.three_ds] abandon_after`); open ones keep their time.
    pub fn set_challenge_abandon_after(&self, after: Duration) {
        self.inner.challenge_timeouts.set_validity(after);
    }

    /// Expires every authorization whose validity simulator time has passed, soonest
    /// first, and returns the changes this raised (with those of expiries found
    /// since the last sweep), for webhook delivery. Cheap when nothing is due: the
    /// server calls it before each request, when the clock is advanced, and once a
    /// second.
    ///
    /// Disputes due to open or to be decided, and challenges nobody answered in
    /// time, are swept here too, all four schedules merged in time order (ties:
    /// expiries, openings, decisions, abandonments), so the same requests and clock
    /// moves write the same ledger.
    pub fn expire_due_authorizations(&self) -> Vec<Arc<Change>> {
        let inner = &self.inner;
        let schedules = [
            &inner.expiries,
            &inner.dispute_openings,
            &inner.dispute_decisions,
            &inner.challenge_timeouts,
        ];
        let now = inner.clock.now_ms();
        if !schedules.iter().any(|s| s.has_work(now)) {
            return Vec::new();
        }
        let _section = self.section();
        let mut raised = inner.expiries.take_stashed();
        let cause = Cause::none();
        while let Some((which, schedule)) = schedules
            .iter()
            .enumerate()
            .min_by_key(|(i, s)| (s.next_due(), *i))
        {
            let Some((at, id)) = schedule.pop_due(now) else {
                break;
            };
            match which {
                0 => {
                    let mut shard = self.shard(id).lock();
                    if let Some(p) = shard.get_mut(&id)
                        && p.status == PaymentStatus::RequiresCapture
                        && p.rare.capture_before_ms == Some(at)
                    {
                        self.expire(p, &cause);
                    }
                }
                1 => self.open_due_dispute(id, &cause),
                2 => self.decide_due_dispute(at, id, &cause),
                _ => self.abandon_due_challenge(at, id, &cause),
            }
        }
        raised.extend(cause.take_raised());
        raised
    }

    /// Expires `p` now if its validity has passed and the sweep has not got to it
    /// yet: a capture racing the clock must never take an expired authorization.
    /// Under `p`'s lock; the changes wait for the next sweep to be delivered.
    pub(super) fn expire_if_due(&self, p: &mut Payment) {
        let now = self.inner.clock.now_ms();
        if p.status == PaymentStatus::RequiresCapture
            && p.rare.capture_before_ms.is_some_and(|at| at <= now)
        {
            let cause = Cause::none();
            self.expire(p, &cause);
            self.inner.expiries.stash(cause.take_raised());
        }
    }

    /// Releases an uncaptured authorization that ran out of time: a `release`
    /// entry with reason `expired`, and the payment canceled by the gateway.
    fn expire(&self, p: &mut Payment, cause: &Cause) {
        self.record_because(
            p,
            EntryKind::Release,
            p.amount_capturable,
            cause,
            Some(EntryReason::Expired),
        );
        self.inner
            .counters
            .transition(Some(p.status), PaymentStatus::Canceled);
        p.status = PaymentStatus::Canceled;
        p.amount_capturable = 0;
        p.rare.edit().canceled_at = Some(self.inner.clock.now_ms() / 1000);
        p.rare.edit().cancellation_reason = Some(CancellationReason::Expired);
        self.raise(p, ChangeKind::Expired, cause);
    }

    /// Ends the challenge of `id` that was due to be abandoned at `at`, if it is
    /// still open and still the payment's current one (a later confirmation opened
    /// a challenge of its own, with its own time): as a failed challenge does, the
    /// payment is declined with [`AUTHENTICATION_FAILURE`] and waits for another
    /// payment method; no money moves. A checkout session waiting on it stays open.
    fn abandon_due_challenge(&self, at: u64, id: PaymentId, cause: &Cause) {
        let abandoned = {
            let mut shard = self.shard(id).lock();
            let Some(p) = shard.get_mut(&id) else {
                return;
            };
            let open = p.status == PaymentStatus::RequiresAction
                && p.rare
                    .challenge
                    .as_ref()
                    .is_some_and(|c| c.abandon_at_ms == at);
            if !open {
                return;
            }
            self.fail_authentication(p, cause);
            p.clone()
        };
        // After the payment's lock is let go: the checkout store is never locked
        // under a payment's.
        self.settle_checkout_payment(&abandoned, cause);
    }

    /// The buyer did not authenticate (failed, or walked away): declined with
    /// [`AUTHENTICATION_FAILURE`], a `decline` entry of 0, nothing moved.
    fn fail_authentication(&self, p: &mut Payment, cause: &Cause) {
        let from = p.status;
        p.confirmed_at = ConfirmedAt::at(self.inner.clock.now_ms() / 1000);
        p.decline_code = Some(StoredDeclineCode::known(AUTHENTICATION_FAILURE));
        p.status = PaymentStatus::Failed;
        self.record_because(p, EntryKind::Decline, 0, cause, None);
        self.inner.counters.transition(Some(from), p.status);
        self.raise(p, ChangeKind::Failed, cause);
    }

    /// How many expiries are scheduled (some may be of payments captured since).
    pub fn scheduled_expiries(&self) -> usize {
        self.inner.expiries.len()
    }

    /// The payment an authentication challenge page names, whoever's it is: the
    /// buyer's browser carries no API key, and the id is the page's address.
    pub fn payment_for_challenge(&self, id: &str) -> Result<Payment, EngineError> {
        let missing = || self.no_such_payment(id);
        let pid = PaymentId::parse(id).ok_or_else(missing)?;
        let shard = self.shard(pid).lock();
        shard.get(&pid).cloned().ok_or_else(missing)
    }

    /// The buyer's answer to the payment's authentication challenge. Completed, the
    /// authorization goes ahead as a confirmation would have (succeeded, or
    /// requires_capture for manual capture). Failed, the payment is declined with
    /// [`AUTHENTICATION_FAILURE`] and waits for another payment method; no money
    /// moves. Only an open challenge can be answered, once.
    pub fn complete_authentication(
        &self,
        id: &str,
        outcome: AuthenticationOutcome,
        cause: &Cause,
    ) -> Result<Payment, EngineError> {
        self.answer_challenge(id, None, outcome, cause)
    }

    /// [`Engine::complete_authentication`] of challenge `attempt` of the payment
    /// (its page's `?attempt=`); `None` answers the current one. An answer to a
    /// challenge a later confirmation replaced is refused and changes nothing.
    pub fn answer_challenge(
        &self,
        id: &str,
        attempt: Option<u32>,
        outcome: AuthenticationOutcome,
        cause: &Cause,
    ) -> Result<Payment, EngineError> {
        let missing = || self.no_such_payment(id);
        let pid = PaymentId::parse(id).ok_or_else(missing)?;
        let _section = self.section();
        let mut shard = self.shard(pid).lock();
        let p = shard.get_mut(&pid).ok_or_else(missing)?;
        let current = p.rare.challenge.as_ref().map(|c| c.attempt);
        if let Some(asked) = attempt
            && current.is_some_and(|current| current != asked)
        {
            return Err(EngineError::InvalidState(format!(
                "challenge {asked} of payment {} is over: a later confirmation opened challenge {}; answer that one",
                p.id,
                current.unwrap_or_default()
            )));
        }
        // An answer racing the clock never beats an abandonment already due: the
        // sweep may not have got to it yet. Its changes wait for the next sweep.
        let now = self.inner.clock.now_ms();
        if p.status == PaymentStatus::RequiresAction
            && p.rare
                .challenge
                .as_ref()
                .is_some_and(|c| c.abandon_at_ms <= now)
        {
            let abandoned = Cause::none();
            self.fail_authentication(p, &abandoned);
            self.inner.expiries.stash(abandoned.take_raised());
        }
        if p.status != PaymentStatus::RequiresAction {
            return Err(EngineError::InvalidState(format!(
                "payment {} is {}; its authentication challenge is not open (already answered, abandoned, or never asked)",
                p.id,
                p.status.as_str()
            )));
        }
        match outcome {
            AuthenticationOutcome::Complete => {
                let from = p.status;
                p.confirmed_at = ConfirmedAt::at(self.inner.clock.now_ms() / 1000);
                self.authorize(p, cause);
                self.inner.counters.transition(Some(from), p.status);
                let kind = match p.status {
                    PaymentStatus::Succeeded => ChangeKind::Succeeded,
                    _ => ChangeKind::Authorized,
                };
                self.raise(p, kind, cause);
            }
            AuthenticationOutcome::Fail => self.fail_authentication(p, cause),
        }
        Ok(p.clone())
    }
}
