//! What delivery did, for people and tests: one record per attempt (and per
//! delivery that never got one: dropped on purpose, or refused by a full
//! queue), kept in a bounded ring and served as NDJSON by
//! `GET /_sim/webhooks/deliveries`; and the counters `/_sim/stats` and
//! `/metrics` show.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use serde::Serialize;

/// How many records the ring keeps; older ones make room (the counters keep counting).
pub const KEPT_RECORDS: usize = 100_000;

/// One line of `GET /_sim/webhooks/deliveries`.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRecord {
    pub event_id: String,
    pub event_type: &'static str,
    /// The endpoint's id (`we_...`), or `config[N]` for one given on the command
    /// line or in the scenario.
    pub endpoint: String,
    pub url: String,
    /// 1 for the first attempt; 0 when no attempt was made.
    pub attempt: u32,
    /// Unix milliseconds, wall clock, when the attempt started.
    pub sent_at_ms: u64,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
    /// Faults applied to this delivery on purpose (`duplicate`, `delay`,
    /// `reorder`, `early`, `drop`, `outage`), and `resend` for a resend.
    pub faults: Vec<&'static str>,
    /// `delivered`, `failed` (will be retried), `exhausted` (no attempts left),
    /// `dropped` (fault: never sent), `overflow` (the queue was full).
    pub outcome: &'static str,
}

/// Delivery's counters.
#[derive(Default)]
pub struct Counters {
    pub attempts: AtomicU64,
    pub delivered: AtomicU64,
    pub failed_attempts: AtomicU64,
    pub exhausted: AtomicU64,
    pub overflow: AtomicU64,
    pub resent: AtomicU64,
    faults: Mutex<BTreeMap<&'static str, u64>>,
}

impl Counters {
    pub fn fault(&self, kind: &'static str) {
        *self.faults.lock().entry(kind).or_default() += 1;
    }

    pub fn faults(&self) -> BTreeMap<&'static str, u64> {
        self.faults.lock().clone()
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn clear(&self) {
        for c in [
            &self.attempts,
            &self.delivered,
            &self.failed_attempts,
            &self.exhausted,
            &self.overflow,
            &self.resent,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        self.faults.lock().clear();
    }
}

/// The ring of recent records, and the counters.
#[derive(Default)]
pub struct DeliveryLog {
    ring: Mutex<VecDeque<DeliveryRecord>>,
    pub counters: Counters,
}

impl DeliveryLog {
    pub fn push(&self, record: DeliveryRecord) {
        let mut ring = self.ring.lock();
        if ring.len() == KEPT_RECORDS {
            ring.pop_front();
        }
        ring.push_back(record);
    }

    /// The kept records, oldest first; only those of `event_id` when given.
    pub fn records(&self, event_id: Option<&str>) -> Vec<DeliveryRecord> {
        self.ring
            .lock()
            .iter()
            .filter(|r| event_id.is_none_or(|id| r.event_id == id))
            .cloned()
            .collect()
    }

    pub fn clear(&self) {
        self.ring.lock().clear();
        self.counters.clear();
    }
}
