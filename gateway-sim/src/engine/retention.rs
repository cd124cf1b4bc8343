//! Retention for long runs (`--retain DURATION`): settled payments older than a window of
//! simulator time leave memory, so a soak at thousands of orders a second runs in flat
//! memory. The journal (`--data-dir`) keeps everything; a replay loads it all and the next
//! pass retires again. Off by default, and off costs a change one atomic load.
//!
//! The rules, measured on what grows per payment (the payment, its index entries, its
//! ledger entries and its changes; see BENCHMARKS.md):
//!
//! - **Settled**: a payment is settled when it is in a final state (`succeeded` with no
//!   dispute to come or open, `canceled`, or declined `failed`) and its last change is older
//!   than the window, and no webhook delivery of a change still in memory is outstanding.
//!   An open payment (an authorization waiting for capture, a 3-D Secure challenge, a
//!   payment never confirmed, a dispute scheduled, open or waiting for its decision) stays,
//!   however old; so does one whose events are still being delivered.
//! - **What goes**: a settled payment, its reference-index and listing entries, its refunds'
//!   index entries. The ledger and the change log in memory keep the window: their entries
//!   older than it leave memory whatever their payment (they are history; what money rules
//!   read is the payment record, which an open payment keeps). Sequence numbers never
//!   change and never repeat: `ledger_len`, `changes_len` and the next numbers go on.
//! - **What stays**: idempotency keys keep their own TTL (`--idempotency-ttl`), since a key
//!   dropped early would turn a late retry into a second charge; a retired payment's key
//!   still replays its stored answer. Each pass sweeps the keys past their TTL (without
//!   retention they go only when the clock jumps), so a TTL near the window keeps them flat. The counts and money totals of `/_sim/stats` are
//!   counters, never recomputed, so they stay whole. Checkout sessions keep their 24-hour
//!   expiry. A retired payment's authorization expiry leaves the schedule with it.
//! - **Settlement**: once the books have been read (anything that brings them up to time),
//!   each pass books the ledger up to date before entries leave memory, so balances,
//!   balance transactions and payouts stay right (the books themselves are not retired).
//!   Books first read after entries left memory, or rebuilt by a policy change, see only the
//!   ledger still held.
//! - **Reads**: a retired payment is gone: 404 `resource_missing`, whose message says that
//!   retention is on (the gateway keeps no list of what it retired, which would grow).
//!   `GET /_sim/ledger` starts at the first entry held; `/_sim/stats` says where
//!   (`retention`).
//!
//! This file is the data (the window, what it tracks, the rule of settled); `retire.rs` is
//! the engine's pass over it. Races: a payment retires under its shard lock inside a section, the locks every change
//! takes, and only if no change was noted since it was found due; so a capture or a refund
//! either happens before (and keeps it one more window) or finds it gone (404).

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::events::Change;
use super::ids::PaymentId;
use super::payment::{Payment, PaymentStatus};
use super::shard::room_for_churn;
/// A payment is found due only once its last change is this much older than the ledger's
/// and the change log's horizon: their entries are appended a moment after the clock is
/// read, so one can sit behind a slightly later one; a second covers that by far.
pub(super) const MARGIN_MS: u64 = 1_000;

/// How often (simulator time) a pass runs when requests ask for one: every pass walks every
/// idempotency key, so one per request would cost a request the whole key store.
pub(super) const PASS_EVERY_MS: u64 = 1_000;

/// The retention window and what it tracks.
#[derive(Default)]
pub(super) struct Retention {
    /// The window, milliseconds of simulator time; 0: off.
    pub(super) window_ms: AtomicU64,
    pub(super) retired: AtomicU64,
    /// The simulator time before which no pass runs again (see `Engine::retire_if_due`).
    pub(super) next_pass_ms: AtomicU64,
    tracked: Mutex<Tracked>,
}

#[derive(Default)]
struct Tracked {
    /// (time of a change, its payment), in the order noted.
    queue: VecDeque<(u64, PaymentId)>,
    /// Each tracked payment's last change: an entry of `queue` older than this is stale.
    /// hashbrown's own map (std's does not tell its allocation, which `room_for_churn`
    /// reads).
    last: hashbrown::HashMap<PaymentId, u64, foldhash::fast::RandomState>,
    /// Changes let go of with deliveries outstanding: their payments stay until delivered.
    held: Vec<Arc<Change>>,
}

/// Retention's figures, for `/_sim/stats`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RetentionStats {
    /// The window in seconds of simulator time; `None`: retention is off.
    pub window_seconds: Option<u64>,
    /// Payments held in memory now.
    pub payments_held: u64,
    /// Payments retired since start (or reset).
    pub payments_retired: u64,
    /// The first ledger sequence number still in memory (1 until retention lets one go).
    pub ledger_first_held: u64,
    /// The first change (event) sequence number still in memory.
    pub changes_first_held: u64,
}

impl Retention {
    /// The window in milliseconds; 0 when retention is off.
    pub(super) fn window_ms(&self) -> u64 {
        self.window_ms.load(Ordering::Relaxed)
    }

    /// Notes that payment `id` changed at `time_ms`.
    pub(super) fn note(&self, id: PaymentId, time_ms: u64) {
        let mut tracked = self.tracked.lock();
        tracked.queue.push_back((time_ms, id));
        tracked.last.insert(id, time_ms);
    }

    /// Whether a change of `id` was noted since [`Retention::due`] handed it out.
    pub(super) fn changed_since_due(&self, id: PaymentId) -> bool {
        self.tracked.lock().last.contains_key(&id)
    }

    /// The payments whose last change is no later than `horizon`, less those with
    /// deliveries outstanding (`undelivered`, added to those held before), which are noted
    /// again at `now`, to be looked at one window later.
    pub(super) fn due(
        &self,
        horizon: u64,
        now: u64,
        undelivered: Vec<Arc<Change>>,
    ) -> Vec<PaymentId> {
        let mut tracked = self.tracked.lock();
        tracked.held.extend(undelivered);
        tracked.held.retain(|c| !c.all_delivered());
        let held: HashSet<PaymentId> = tracked.held.iter().map(|c| c.payment).collect();
        let mut due = Vec::new();
        while let Some(&(time, id)) = tracked.queue.front() {
            if time > horizon {
                break;
            }
            tracked.queue.pop_front();
            if tracked.last.get(&id) != Some(&time) {
                continue; // a later change of it is queued
            }
            if held.contains(&id) {
                tracked.last.insert(id, now);
                tracked.queue.push_back((now, id));
                continue;
            }
            tracked.last.remove(&id);
            due.push(id);
        }
        due
    }

    /// The tracker's map at most half full (see `shard::room_for_churn`).
    pub(super) fn keep_room_for_churn(&self) {
        let last = &mut self.tracked.lock().last;
        let slot = std::mem::size_of::<(PaymentId, u64)>();
        if let Some(more) = room_for_churn(last.len(), last.allocation_size(), slot) {
            last.reserve(more);
        }
    }

    /// A reset forgets what retention tracked.
    pub(super) fn clear(&self) {
        *self.tracked.lock() = Tracked::default();
        self.retired.store(0, Ordering::Relaxed);
        // A reset may set the clock back: the next request's pass must not wait for it.
        self.next_pass_ms.store(0, Ordering::Relaxed);
    }
}

/// Final, with nothing to come: no authorization to capture or expire, no challenge, no
/// dispute scheduled, open or waiting for its decision.
pub(super) fn settled(p: &Payment) -> bool {
    match p.status {
        PaymentStatus::Succeeded => match p.rare.dispute.as_deref() {
            Some(d) => d.status.is_closed(),
            None => p.rare.dispute_plan.is_none(),
        },
        PaymentStatus::Canceled | PaymentStatus::Failed => true,
        PaymentStatus::RequiresCapture
        | PaymentStatus::RequiresPaymentMethod
        | PaymentStatus::RequiresConfirmation
        | PaymentStatus::RequiresAction => false,
    }
}
