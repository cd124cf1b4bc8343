//! When uncaptured authorizations expire: their validity, and the schedule of
//! the ones waiting, soonest first.
//!
//! Expiry has to happen when simulator time passes it, events included, and not
//! only when someone next reads the payment; yet scanning every payment each time
//! the clock moves would cost a million locks with a million payments. So each
//! authorization is scheduled once, under its payment's lock, as
//! `(expires_at, sequence) → payment`; a sweep pops what is due in that order.
//! The sequence number (not the random payment id) breaks ties, so two runs of
//! the same requests expire in the same order and write the same ledger.
//!
//! An entry may outlive its reason (the payment was captured or canceled first):
//! the sweep checks the payment under its lock and skips it then, which is cheaper
//! than finding the entry to remove it on every capture.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use super::events::Change;
use super::ids::PaymentId;

/// How long an authorization lasts until told otherwise: seven days, what card
/// networks give a customer-initiated card payment. The behaviour's own default
/// (`[gateway.authorizations]`) is the same, and the server always sets it.
const DEFAULT_AUTHORIZATION_VALIDITY: Duration = Duration::from_secs(7 * 24 * 3600);

pub(super) struct ExpirySchedule {
    validity_ms: AtomicU64,
    queue: Mutex<BTreeMap<(u64, u64), PaymentId>>,
    next_sequence: AtomicU64,
    /// The earliest expiry in `queue` (`u64::MAX` when empty): the fast path of
    /// a sweep that has nothing to do is one atomic load.
    next_due_ms: AtomicU64,
    /// Changes of expiries found on the way (a capture that came too late) and
    /// not yet handed to webhook delivery: the next sweep hands them over.
    outbox: Mutex<Vec<Arc<Change>>>,
    outbox_len: AtomicU64,
}

impl Default for ExpirySchedule {
    fn default() -> Self {
        ExpirySchedule {
            validity_ms: AtomicU64::new(DEFAULT_AUTHORIZATION_VALIDITY.as_millis() as u64),
            queue: Mutex::default(),
            next_sequence: AtomicU64::new(0),
            next_due_ms: AtomicU64::new(u64::MAX),
            outbox: Mutex::default(),
            outbox_len: AtomicU64::new(0),
        }
    }
}

impl ExpirySchedule {
    /// A schedule of other delays than an authorization's (dispute openings and
    /// decisions): the same queue, swept with it in time order.
    pub(super) fn with_delay(delay: Duration) -> ExpirySchedule {
        let schedule = ExpirySchedule::default();
        schedule.set_validity(delay);
        schedule
    }

    /// When the soonest entry is due (`u64::MAX` when none is).
    pub(super) fn next_due(&self) -> u64 {
        self.next_due_ms.load(Ordering::Relaxed)
    }

    pub(super) fn set_validity(&self, validity: Duration) {
        let ms = u64::try_from(validity.as_millis()).unwrap_or(u64::MAX);
        self.validity_ms.store(ms, Ordering::Relaxed);
    }

    /// Schedules the expiry of an authorization made at `now_ms`; returns when it
    /// expires. Called under the payment's lock.
    pub(super) fn schedule(&self, payment: PaymentId, now_ms: u64) -> u64 {
        let at = now_ms.saturating_add(self.validity_ms.load(Ordering::Relaxed));
        let sequence = self.next_sequence.fetch_add(1, Ordering::Relaxed);
        let mut queue = self.queue.lock();
        queue.insert((at, sequence), payment);
        self.next_due_ms.fetch_min(at, Ordering::Relaxed);
        at
    }

    /// Whether a sweep at `now_ms` has anything to do.
    /// Replay: schedules `payment` at the time it was given before the restart.
    pub(super) fn insert_at(&self, at: u64, payment: PaymentId) {
        let sequence = self.next_sequence.fetch_add(1, Ordering::Relaxed);
        self.queue.lock().insert((at, sequence), payment);
        self.next_due_ms.fetch_min(at, Ordering::Relaxed);
    }

    /// Takes `payment`'s entry due at `at` off the schedule, if it is still there
    /// (retention: a retired payment's would otherwise wait out its validity).
    pub(super) fn forget(&self, at: u64, payment: PaymentId) {
        let mut queue = self.queue.lock();
        let found = queue
            .range((at, 0)..=(at, u64::MAX))
            .find(|(_, id)| **id == payment)
            .map(|(key, _)| *key);
        if let Some(key) = found {
            queue.remove(&key);
        }
    }

    pub(super) fn has_work(&self, now_ms: u64) -> bool {
        self.next_due_ms.load(Ordering::Relaxed) <= now_ms
            || self.outbox_len.load(Ordering::Relaxed) > 0
    }

    /// The soonest entry due at `now_ms`, taken off the schedule. The queue's lock
    /// is let go before the caller locks the payment, so the two are never held in
    /// the order opposite to [`ExpirySchedule::schedule`]'s.
    pub(super) fn pop_due(&self, now_ms: u64) -> Option<(u64, PaymentId)> {
        let mut queue = self.queue.lock();
        let entry = queue.first_entry().filter(|e| e.key().0 <= now_ms)?;
        let ((at, _), payment) = entry.remove_entry();
        let next = queue.first_key_value().map_or(u64::MAX, |((at, _), _)| *at);
        self.next_due_ms.store(next, Ordering::Relaxed);
        Some((at, payment))
    }

    /// Keeps changes raised outside a sweep for the next one.
    pub(super) fn stash(&self, changes: Vec<Arc<Change>>) {
        if changes.is_empty() {
            return;
        }
        let mut outbox = self.outbox.lock();
        outbox.extend(changes);
        self.outbox_len
            .store(outbox.len() as u64, Ordering::Relaxed);
    }

    pub(super) fn take_stashed(&self) -> Vec<Arc<Change>> {
        if self.outbox_len.load(Ordering::Relaxed) == 0 {
            return Vec::new();
        }
        let mut outbox = self.outbox.lock();
        self.outbox_len.store(0, Ordering::Relaxed);
        std::mem::take(&mut *outbox)
    }

    /// How many expiries are scheduled (stale ones included).
    pub(super) fn len(&self) -> usize {
        self.queue.lock().len()
    }

    pub(super) fn clear(&self) {
        self.queue.lock().clear();
        self.next_due_ms.store(u64::MAX, Ordering::Relaxed);
        self.outbox.lock().clear();
        self.outbox_len.store(0, Ordering::Relaxed);
    }
}
