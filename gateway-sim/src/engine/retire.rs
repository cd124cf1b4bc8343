//! The engine's retention pass (`--retain`): the rules are `retention.rs`'s doc; this file
//! lets the ledger's and the change log's head go and retires the payments found due, under
//! the locks every change takes.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::error::EngineError;
use super::ids::{MerchantId, PaymentId};
use super::operations::{Engine, ReferencedPayments, refund_shard};
use super::payment::Payment;
use super::retention::{MARGIN_MS, PASS_EVERY_MS, RetentionStats, settled};
use super::shard::{Map, room_for_churn};
use super::shared_str::SharedStr;

/// Payments retired per section: a section with a journal holds every change back.
const BATCH: usize = 256;

impl Engine {
    /// Turns retention on with `window` (simulator time), or off with `None`.
    pub fn set_retention(&self, window: Option<Duration>) {
        let ms = window.map_or(0, |w| {
            u64::try_from(w.as_millis()).unwrap_or(u64::MAX).max(1)
        });
        self.inner.retention.window_ms.store(ms, Ordering::Relaxed);
    }

    /// The retention window, if retention is on.
    pub fn retention(&self) -> Option<Duration> {
        match self.inner.retention.window_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }

    /// Notes that payment `id` changed at `time_ms`; under its lock. Off: one atomic load.
    pub(super) fn note_change(&self, id: PaymentId, time_ms: u64) {
        if self.inner.retention.window_ms() == 0 {
            return;
        }
        self.inner.retention.note(id, time_ms);
    }

    /// A retention pass, if none ran in the last second of simulator time: what every
    /// request and the once-a-second sweep call. Off, or not due: one atomic load or two.
    pub fn retire_if_due(&self) -> u64 {
        if self.inner.retention.window_ms.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        let now = self.inner.clock.now_ms();
        let next = &self.inner.retention.next_pass_ms;
        let due = next.load(Ordering::Relaxed);
        // Whoever moves the mark runs the pass; the others go on at once.
        if now < due
            || next
                .compare_exchange(
                    due,
                    now + PASS_EVERY_MS,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_err()
        {
            return 0;
        }
        self.retire()
    }

    /// One retention pass: lets go of the ledger's and the change log's entries older than
    /// the window and retires the payments settled before it. Returns how many payments
    /// went. Does nothing when retention is off. The server runs it once a second.
    pub fn retire(&self) -> u64 {
        let window = self.inner.retention.window_ms.load(Ordering::Relaxed);
        if window == 0 {
            return 0;
        }
        let now = self.inner.clock.now_ms();
        let horizon = now.saturating_sub(window);
        // Keys past their TTL are otherwise swept only when the clock jumps; in a real-time
        // run they would be the memory that grows.
        self.inner.idempotency.sweep(now);
        // Books in use are brought up to date first, so nothing leaves memory unbooked.
        let booked = if self.inner.settlement.books.lock().ingested > 0 {
            self.settle();
            self.inner.settlement.books.lock().ingested
        } else {
            u64::MAX
        };
        self.inner.ledger.let_go_until(horizon, booked);
        let undelivered = self.inner.events.let_go_until(horizon);
        let due = self
            .inner
            .retention
            .due(horizon.saturating_sub(MARGIN_MS), now, undelivered);
        let mut retired = 0;
        let mut listed: Map<MerchantId, HashSet<PaymentId>> = Map::default();
        for batch in due.chunks(BATCH) {
            let _section = self.section();
            for id in batch {
                if let Some(p) = self.retire_one(*id) {
                    listed.entry(p.merchant).or_default().insert(p.id);
                    retired += 1;
                }
            }
        }
        if retired > 0 {
            let mut by_merchant = self.inner.by_merchant.lock();
            for (merchant, gone) in listed {
                if let Some(ids) = by_merchant.get_mut(&merchant) {
                    ids.retain(|id| !gone.contains(id));
                }
            }
            self.inner
                .retention
                .retired
                .fetch_add(retired, Ordering::Relaxed);
        }
        self.keep_room_for_churn();
        retired
    }

    /// The largest tables retention empties as fast as requests fill them take their one
    /// doubling in warm-up rather than when their tombstones run out, minutes into a soak
    /// (see `shard::room_for_churn`). One lock at a time.
    fn keep_room_for_churn(&self) {
        self.inner.retention.keep_room_for_churn();
        self.inner.idempotency.keep_room_for_churn();
        for shard in self.inner.payments.iter() {
            shard.lock().keep_room_for_churn();
        }
        let slot = std::mem::size_of::<(SharedStr, ReferencedPayments)>();
        for shard in self.inner.references.iter() {
            for refs in shard.lock().values_mut() {
                if let Some(more) = room_for_churn(refs.len(), refs.allocation_size(), slot) {
                    refs.reserve(more);
                }
            }
        }
    }

    /// Retires payment `id` if it is settled and nothing changed it since it was found
    /// due; inside a section, under its shard lock (the locks every change takes).
    fn retire_one(&self, id: PaymentId) -> Option<Box<Payment>> {
        let mut shard = self.shard(id).lock();
        if !shard.get(&id).is_some_and(settled) {
            return None;
        }
        // A change noted since (under this lock) keeps it for another window.
        if self.inner.retention.changed_since_due(id) {
            return None;
        }
        let p = shard.remove(&id)?;
        drop(shard);
        if let Some(reference) = &p.reference {
            let mut index = self.reference_shard(reference).lock();
            if let Some(refs) = index.get_mut(&p.merchant) {
                if let Some(ids) = refs.get_mut(reference) {
                    ids.retain(|other| *other != id);
                    if ids.is_empty() {
                        refs.remove(reference);
                    }
                }
                if refs.is_empty() {
                    index.remove(&p.merchant);
                }
            }
        }
        if let Some(at) = p.rare.capture_before_ms {
            self.inner.expiries.forget(at, id);
        }
        for refund in &p.rare.refunds {
            self.inner.refund_index[refund_shard(refund.id)]
                .lock()
                .remove(&refund.id);
        }
        if p.rare.dispute.is_some()
            && let Some(ids) = self.inner.disputes_by_merchant.lock().get_mut(&p.merchant)
        {
            ids.retain(|other| *other != id);
        }
        Some(p)
    }

    /// The refusal for a payment id that names none held: with retention on, it says that
    /// the payment may have been retired.
    pub(super) fn no_such_payment(&self, id: &str) -> EngineError {
        match self.retention() {
            Some(window) => EngineError::NotHeld {
                id: id.to_string(),
                window_seconds: window.as_secs(),
            },
            None => EngineError::NoSuchPayment(id.to_string()),
        }
    }

    /// Retention's figures now.
    pub fn retention_stats(&self) -> RetentionStats {
        RetentionStats {
            window_seconds: self.retention().map(|w| w.as_secs()),
            payments_held: self
                .inner
                .payments
                .iter()
                .map(|shard| shard.lock().len() as u64)
                .sum(),
            payments_retired: self.inner.retention.retired.load(Ordering::Relaxed),
            ledger_first_held: self.inner.ledger.first_held(),
            changes_first_held: self.inner.events.first_held(),
        }
    }

    /// The first ledger sequence number still in memory: 1 unless `--retain` let the
    /// ledger's head go (the numbers after it are unchanged).
    pub fn ledger_first_held(&self) -> u64 {
        self.inner.ledger.first_held()
    }

    /// Whether retention has let anything go (a snapshot would not be whole).
    pub fn retention_let_go(&self) -> bool {
        self.inner.retention.retired.load(Ordering::Relaxed) > 0
            || self.inner.ledger.first_held() > 1
            || self.inner.events.first_held() > 1
    }

    /// A reset forgets what retention tracked.
    pub(super) fn clear_retention(&self) {
        self.inner.retention.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::super::money::Currency;
    use super::super::*;

    fn engine(window: u64) -> Engine {
        let e = Engine::new(Duration::from_secs(24 * 3600));
        e.set_retention(Some(Duration::from_secs(window)));
        e
    }

    fn new_payment(capture: bool, reference: &str) -> NewPayment {
        NewPayment {
            amount: 1000,
            currency: Currency::parse("usd").expect("usd is a currency"),
            payment_method: PaymentMethod::Token(Arc::from("pm_card_visa")),
            capture,
            reference: Some(reference.to_string()),
            metadata: None,
            return_to: Default::default(),
        }
    }

    /// A payment of merchant `m`, made by no request: captured at once, or only authorized.
    fn pay(e: &Engine, m: ids::MerchantId, capture: bool, reference: &str) -> Payment {
        e.create_payment(m, new_payment(capture, reference), &Cause::none(), None)
            .expect("a valid payment")
    }

    #[test]
    fn a_settled_payment_older_than_the_window_leaves_memory_and_an_open_one_stays() {
        let e = engine(60);
        let m = e.merchant("sk_a");
        let settled = pay(&e, m, true, "old");
        let open = pay(&e, m, false, "open");
        let (ledger, changes) = (e.ledger_len(), e.changes_len());
        e.advance_clock(Duration::from_secs(30));
        let newer = pay(&e, m, true, "new");
        assert_eq!(e.retire(), 0, "nothing is older than the window yet");
        e.advance_clock(Duration::from_secs(40));
        assert_eq!(e.retire(), 1);

        let id = settled.id.to_string();
        assert!(e.find_payment(&id).is_none());
        assert!(e.payments_by_reference(m, "old").is_empty());
        let page = e
            .list_payments(
                m,
                &PageQuery {
                    limit: 10,
                    cursor: Cursor::Newest,
                    confirmed_only: false,
                },
            )
            .unwrap();
        assert_eq!(page.len(), 2, "the listing lost only the retired payment");
        assert!(matches!(
            e.payment(m, &id),
            Err(EngineError::NotHeld {
                window_seconds: 60,
                ..
            })
        ));
        // Open and newer payments stay, and can still move money.
        assert!(e.find_payment(&newer.id.to_string()).is_some());
        let captured = e
            .capture(m, &open.id.to_string(), None, &Cause::none())
            .unwrap();
        assert_eq!(captured.status, PaymentStatus::Succeeded);

        // The ledger and the change log let their old head go; numbers go on, gap-free.
        let stats = e.retention_stats();
        assert_eq!(stats.ledger_first_held, ledger + 1);
        assert_eq!(stats.changes_first_held, changes + 1);
        assert_eq!((stats.payments_held, stats.payments_retired), (2, 1));
        let entries = e.ledger_entries();
        assert_eq!(entries.first().map(|x| x.seq), Some(ledger + 1));
        assert!(entries.windows(2).all(|w| w[1].seq == w[0].seq + 1));
        assert_eq!(entries.last().map(|x| x.seq), Some(e.ledger_len()));
        // Totals are counters: they still count what left memory.
        assert_eq!(e.stats().captured_amount, 3000);
        assert_eq!(e.stats().payments, 3);
    }

    #[test]
    fn a_payout_change_after_the_head_went_takes_the_next_number() {
        // The change log's numbers go on from its last, not from what it still holds: a
        // payout told after retention let the head go must not reuse a number (two events
        // with one id, and `GET /v1/events/{id}` finding the wrong one).
        let e = engine(60);
        let m = e.merchant("sk_a");
        pay(&e, m, true, "paid out later");
        // Books in use (a balance read), so retention keeps what is not booked yet.
        assert_eq!(e.balance(m).len(), 1);
        e.advance_clock(Duration::from_secs(120));
        assert_eq!(e.retire(), 1);
        assert!(e.retention_stats().changes_first_held > 1, "the head went");
        let before = e.changes_len();
        e.advance_clock(Duration::from_secs(5 * 24 * 3600));
        let told = e.raise_due_payout_changes();
        assert!(!told.is_empty(), "the capture was paid out");
        let numbers: Vec<u64> = told.iter().map(|c| c.seq).collect();
        let expected: Vec<u64> = (before + 1..=before + told.len() as u64).collect();
        assert_eq!(numbers, expected);
        assert_eq!(e.changes_len(), before + told.len() as u64);
    }

    #[test]
    fn requests_run_a_pass_at_most_once_a_second_of_simulator_time() {
        // Every request asks for a pass, and a pass walks every idempotency key: one per
        // request made a soak at 2,000 orders/s spend three quarters of its CPU there.
        let e = engine(60);
        let m = e.merchant("sk_a");
        let p = pay(&e, m, true, "p");
        let held = || e.find_payment(&p.id.to_string()).is_some();
        e.advance_clock(Duration::from_millis(60_500));
        assert_eq!(e.retire_if_due(), 0, "a pass ran: nothing was due yet");
        e.advance_clock(Duration::from_millis(700));
        // Due now (settled 61.2 s ago: the window and its margin), but a pass ran 0.7 s ago.
        assert_eq!(e.retire_if_due(), 0);
        assert!(held());
        e.advance_clock(Duration::from_millis(500));
        assert_eq!(
            e.retire_if_due(),
            1,
            "a second after the last pass, the next runs"
        );
        assert!(!held());
    }

    #[test]
    fn a_change_since_it_fell_due_keeps_a_payment_another_window() {
        let e = engine(60);
        let m = e.merchant("sk_a");
        let p = pay(&e, m, true, "o");
        e.advance_clock(Duration::from_secs(50));
        e.refund(m, &p.id.to_string(), Some(100), &Cause::none())
            .unwrap();
        e.advance_clock(Duration::from_secs(20));
        assert_eq!(e.retire(), 0, "refunded 20s ago");
        e.advance_clock(Duration::from_secs(60));
        assert_eq!(e.retire(), 1);
        assert!(e.refund_by_id(m, "re_anything").is_none());
    }

    #[test]
    fn a_payment_with_a_delivery_outstanding_stays_until_delivered() {
        let e = engine(60);
        let m = e.merchant("sk_a");
        let cause = Cause::none();
        let p = e
            .create_payment(m, new_payment(true, "o"), &cause, None)
            .unwrap();
        let raised = cause.take_raised();
        raised[0].set_delivered(EventDialect::Stripe, 0, false);
        e.advance_clock(Duration::from_secs(120));
        assert_eq!(e.retire(), 0);
        assert!(e.find_payment(&p.id.to_string()).is_some());
        raised[0].set_delivered(EventDialect::Stripe, 0, true);
        e.advance_clock(Duration::from_secs(120));
        assert_eq!(e.retire(), 1);
    }

    #[test]
    fn a_replay_is_retired_again() {
        let before = Engine::new(Duration::from_secs(24 * 3600));
        let m = before.merchant("sk_a");
        pay(&before, m, true, "o");
        let mut text = Vec::new();
        before.snapshot(|records| {
            text.extend(records.iter().map(|r| serde_json::to_string(r).unwrap()))
        });
        let after = engine(60);
        for line in &text {
            after.restore(serde_json::from_str(line).unwrap()).unwrap();
        }
        after.finish_restore();
        assert_eq!(after.retention_stats().payments_held, 1);
        after.advance_clock(Duration::from_secs(120));
        assert_eq!(after.retire(), 1);
        assert_eq!(after.retention_stats().ledger_first_held, 3);
    }

    #[test]
    fn without_retention_nothing_goes() {
        let e = Engine::new(Duration::from_secs(24 * 3600));
        let m = e.merchant("sk_a");
        pay(&e, m, true, "o");
        e.advance_clock(Duration::from_secs(365 * 24 * 3600));
        assert_eq!(e.retire(), 0);
        assert_eq!(e.retention_stats().payments_held, 1);
        assert_eq!(e.retention_stats().ledger_first_held, 1);
        assert!(matches!(
            e.payment(m, "pay_0000000000000000"),
            Err(EngineError::NoSuchPayment(_))
        ));
    }

    #[test]
    fn refunds_racing_retirement_never_lose_or_double_money() {
        for _ in 0..20 {
            let e = engine(1);
            let m = e.merchant("sk_a");
            let ids: Vec<String> = (0..200)
                .map(|i| pay(&e, m, true, &format!("o{i}")).id.to_string())
                .collect();
            e.advance_clock(Duration::from_millis(2_000));
            let refunded = std::thread::scope(|s| {
                let retirer = s.spawn(|| e.retire());
                let refunder = s.spawn(|| {
                    ids.iter()
                        .filter(|id| e.refund(m, id, Some(10), &Cause::none()).is_ok())
                        .count()
                });
                let _ = retirer.join();
                refunder.join().unwrap()
            });
            // Each refund either happened (on a payment still held) or was refused as
            // missing; the ledger and the totals agree on every one that happened.
            let refunds = e
                .ledger_entries()
                .iter()
                .filter(|x| x.kind == EntryKind::Refund)
                .count();
            assert_eq!(refunds, refunded);
            assert_eq!(e.stats().refunded_amount, 10 * refunded as i64);
            assert_eq!(e.stats().refunds, refunded as u64);
            // Every refunded payment is still held: it changed since it fell due.
            e.retire();
            assert_eq!(
                e.retention_stats().payments_held as usize,
                refunded,
                "refunded payments wait another window"
            );
        }
    }
}
