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
    /// The payment the event is about, as the ledger names it (`pay_...`; a Stripe
    /// endpoint saw the same digits as `pi_...`). A refund's event names the refunded payment;
    /// an event about no payment (a payout's, an unpaid checkout session's) the nil id.
    pub payment_id: String,
    /// The payout a `payout.*` event is about (`po_...`); absent for the others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payout_id: Option<String>,
    /// That payment's merchant reference (the order id), so one order's deliveries can be
    /// found (`?reference=`) beside its ledger entries; absent when the payment has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
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

/// Which records `GET /_sim/webhooks/deliveries` answers with: those of one event, of one
/// order, of both, or all (`None` keeps everything). The dashboard's payment history asks for
/// one payment's (`payment_id`): an order may have several payments, a payment no order.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeliveryFilter<'a> {
    pub event_id: Option<&'a str>,
    pub reference: Option<&'a str>,
    pub payment_id: Option<&'a str>,
}

impl DeliveryFilter<'_> {
    fn keeps(&self, record: &DeliveryRecord) -> bool {
        self.event_id.is_none_or(|id| record.event_id == id)
            && self
                .reference
                .is_none_or(|reference| record.reference.as_deref() == Some(reference))
            && self.payment_id.is_none_or(|id| record.payment_id == id)
    }
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

    /// The kept records that `filter` keeps, oldest first.
    pub fn records(&self, filter: &DeliveryFilter<'_>) -> Vec<DeliveryRecord> {
        self.ring
            .lock()
            .iter()
            .filter(|r| filter.keeps(r))
            .cloned()
            .collect()
    }

    pub fn clear(&self) {
        self.ring.lock().clear();
        self.counters.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(event_id: &str, reference: Option<&str>) -> DeliveryRecord {
        DeliveryRecord {
            event_id: event_id.into(),
            event_type: "payment.succeeded",
            payment_id: "pay_1".into(),
            payout_id: None,
            reference: reference.map(str::to_string),
            endpoint: "config[0]".into(),
            url: "http://127.0.0.1:9/hooks".into(),
            attempt: 1,
            sent_at_ms: 1,
            status: Some(200),
            error: None,
            duration_ms: 1,
            faults: vec![],
            outcome: "delivered",
        }
    }

    #[test]
    fn a_record_without_a_reference_leaves_the_field_out() {
        let with = serde_json::to_value(record("evt_1", Some("order-1"))).unwrap();
        assert_eq!(with["reference"], "order-1");
        assert_eq!(with["payment_id"], "pay_1");
        let without = serde_json::to_value(record("evt_1", None)).unwrap();
        assert!(without.get("reference").is_none(), "{without}");
    }

    #[test]
    fn filters_keep_one_event_one_order_or_both() {
        let log = DeliveryLog::default();
        log.push(record("evt_1", Some("order-1")));
        log.push(record("evt_2", Some("order-1")));
        log.push(record("evt_3", Some("order-2")));
        log.push(record("evt_4", None));
        let ids = |filter: DeliveryFilter<'_>| -> Vec<String> {
            log.records(&filter)
                .into_iter()
                .map(|r| r.event_id)
                .collect()
        };
        assert_eq!(ids(DeliveryFilter::default()).len(), 4);
        let order_1 = DeliveryFilter {
            reference: Some("order-1"),
            ..DeliveryFilter::default()
        };
        assert_eq!(ids(order_1), ["evt_1", "evt_2"]);
        let both = DeliveryFilter {
            event_id: Some("evt_2"),
            reference: Some("order-1"),
            ..DeliveryFilter::default()
        };
        assert_eq!(ids(both), ["evt_2"]);
        let mismatch = DeliveryFilter {
            event_id: Some("evt_3"),
            reference: Some("order-1"),
            ..DeliveryFilter::default()
        };
        assert!(ids(mismatch).is_empty());
        let payment = DeliveryFilter {
            payment_id: Some("pay_1"),
            ..DeliveryFilter::default()
        };
        assert_eq!(ids(payment).len(), 4);
        let no_payment = DeliveryFilter {
            payment_id: Some("pay_2"),
            ..DeliveryFilter::default()
        };
        assert!(ids(no_payment).is_empty());
    }
}
