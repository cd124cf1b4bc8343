//! Payout events: a payout's changes (created at its run; paid, or returned by the bank, at
//! its arrival) recorded in the change log when simulator time passes them, so
//! `payout.created`, `payout.paid` and `payout.failed` are listed and delivered like the
//! payments' events.
//!
//! Payouts are derived (`settlement/`), never stored: the books are rebuilt when the terms
//! change, after a reset, after a restart. Their events must not be told again each time.
//! The rule: **each payout change is told once, by the sweep whose window holds the instant
//! it happened.** A watermark (`Settlement::announced_until_ms`) says up to which simulator
//! time changes have been told; a sweep tells the changes in (watermark, now] as the books
//! have them now, in time order, and moves the watermark to now. Hence:
//! - the same seed, requests and clock moves give the same events: the books are a function
//!   of them, and a change carries the time it happened, not the time a sweep saw it;
//! - a rebuild under new terms never retells: what happened before the watermark has been
//!   told; a payout the new terms make differently is told as it is from the watermark on
//!   (its arrival, say, with no second creation);
//! - a restart retells nothing: payout changes are changes, journaled with the others, and
//!   replaying them puts the watermark back at the last one told (a sweep tells every change
//!   of its window in one section, so one frame: whole or not at all). A reset forgets the
//!   events, and the watermark with them.
//!
//! Every payout change falls on a payout run's instant (the daily hour; an arrival is whole
//! days after its run), so a sweep whose window holds none books nothing and tells nothing.
//! The server sweeps once a second and on each clock advance, not before each request: the
//! books are not worth a lock on the hot path.

use std::sync::Arc;

use super::events::{Cause, Change, ChangeKind};
use super::operations::Engine;
use super::settlement::{Books, Payout, PayoutStatus};

impl Engine {
    /// Records the payouts' changes simulator time has passed since the last call (see the
    /// module doc), oldest first, and returns them for webhook delivery.
    pub fn raise_due_payout_changes(&self) -> Vec<Arc<Change>> {
        let settlement = &self.inner.settlement;
        let now = self.inner.clock.now_ms();
        {
            let mut until = settlement.announced_until_ms.lock();
            if now <= *until {
                return Vec::new();
            }
            if settlement.policy.read().payout_run_at_or_after(*until + 1) > now {
                // No run instant in the window: nothing can have happened in it.
                *until = now;
                return Vec::new();
            }
        }
        // Booked outside the section: a long backlog of movements (a day of load, then a
        // clock advance) must not hold every payment's change back while it is booked.
        self.settle();
        let _section = self.section();
        let mut until = settlement.announced_until_ms.lock();
        if now <= *until {
            return Vec::new();
        }
        let due = due_changes(&self.settled_books(), *until, now);
        let cause = Cause::none();
        for (time_ms, kind, payout) in due {
            self.inner
                .events
                .record_payout(kind, time_ms, payout, &cause);
        }
        *until = now;
        cause.take_raised()
    }

    /// Replay: a journaled payout change was told, so nothing up to its time is told again.
    pub(super) fn restore_payout_told(&self, change: &Change) {
        if change.payout.is_some() {
            let mut until = self.inner.settlement.announced_until_ms.lock();
            *until = (*until).max(change.time_ms);
        }
    }
}

/// The changes of the books' payouts that happened in `(after, upto]`, oldest first; at one
/// instant arrivals before runs (the books play them so), then in the books' order. A
/// creation shows the payout as it was made (pending), an arrival as it ended.
fn due_changes(books: &Books, after: u64, upto: u64) -> Vec<(u64, ChangeKind, Payout)> {
    let window = after.saturating_add(1)..=upto;
    let mut due: Vec<(u64, u8, usize, ChangeKind, Payout)> = Vec::new();
    for (position, p) in books.payouts.iter().enumerate() {
        if window.contains(&p.created_ms) {
            let made = Payout {
                status: PayoutStatus::Pending,
                failure_code: None,
                failure_balance_transaction: None,
                ..p.clone()
            };
            due.push((p.created_ms, 1, position, ChangeKind::PayoutCreated, made));
        }
        let arrived = match p.status {
            PayoutStatus::Pending => None,
            PayoutStatus::Paid => Some(ChangeKind::PayoutPaid),
            PayoutStatus::Failed => Some(ChangeKind::PayoutFailed),
        };
        if let Some(kind) = arrived
            && window.contains(&p.arrival_ms)
        {
            due.push((p.arrival_ms, 0, position, kind, p.clone()));
        }
    }
    due.sort_by_key(|(time, order, position, ..)| (*time, *order, *position));
    due.into_iter()
        .map(|(time, _, _, kind, payout)| (time, kind, payout))
        .collect()
}
