//! Taking journaled state back (replay, `--restore`) and writing the whole state out as
//! records (a snapshot). Both speak [`Record`], the journal's own vocabulary, so a
//! snapshot file is a journal that starts from nothing.
//!
//! Replay sets state, it does not run operations: a payment record replaces the
//! payment, a ledger record appends the entry at its sequence number. The indexes, the
//! counters and the schedules are derived from that state, as the operations derive them.

use std::sync::Arc;

use super::checkout_session::CheckoutStatus;
use super::dispute::DisputeStatus;
use super::idempotency::StoredResponse;
use super::ids::PaymentId;
use super::operations::Engine;
use super::payment::{Payment, PaymentStatus};
use super::record::{Record, StoredBody};
use super::shared_str::SharedStr;

/// Why a record could not be taken back: the file is not a journal of this state.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("ledger entry {0} is out of sequence (the journal has a gap or a duplicate)")]
    LedgerSequence(u64),
    #[error("change {0} is out of sequence (the journal has a gap or a duplicate)")]
    ChangeSequence(u64),
    #[error("merchant number {0} is given to two API keys")]
    Merchant(u32),
    #[error("the stored answer of idempotency key {0:?} is not valid base64")]
    StoredBody(SharedStr),
}

impl Engine {
    /// Takes one record back. Call [`Engine::finish_restore`] after the last.
    pub(crate) fn restore(&self, record: Record) -> Result<(), RestoreError> {
        let inner = &self.inner;
        match record {
            Record::Merchant { id, api_key } => {
                if !inner.merchants.restore(id, &api_key) {
                    return Err(RestoreError::Merchant(id.0));
                }
            }
            Record::Payment(p) => self.restore_payment(*p),
            Record::Ledger { seq, movement } => {
                let (kind, amount) = (movement.kind(), movement.amount);
                if !inner.ledger.restore(seq, movement) {
                    return Err(RestoreError::LedgerSequence(seq));
                }
                inner.counters.moved(kind, amount);
            }
            Record::Change(change) => {
                let (seq, payment, time_ms) = (change.seq, change.payment, change.time_ms);
                self.restore_payout_told(&change);
                if !inner.events.restore(*change) {
                    return Err(RestoreError::ChangeSequence(seq));
                }
                // `--retain` applies again to what a replay brings back.
                if payment != PaymentId(0) {
                    self.note_change(payment, time_ms);
                }
            }
            Record::Key {
                merchant,
                key,
                fingerprint,
                created_ms,
                status,
                body,
            } => {
                let Some(body) = body.into_bytes() else {
                    return Err(RestoreError::StoredBody(key));
                };
                inner.idempotency.restore(
                    merchant,
                    key,
                    fingerprint,
                    created_ms,
                    StoredResponse { status, body },
                );
            }
            Record::Checkout(session) => inner.checkout.restore(*session),
            Record::Endpoint(endpoint) => inner.webhook_endpoints.restore(*endpoint),
            Record::EndpointRemoved { merchant, id } => {
                inner.webhook_endpoints.remove(merchant, id);
            }
            Record::Clock { advanced_ms } => inner.clock.restore_advanced(advanced_ms),
            Record::Salt { salt } => inner.events.restore_salt(salt),
            Record::Reset => self.reset_state(),
        }
        Ok(())
    }

    fn restore_payment(&self, p: Payment) {
        let inner = &self.inner;
        for refund in &p.rare.refunds {
            inner.refund_index[super::operations::refund_shard(refund.id)]
                .lock()
                .insert(refund.id, p.id);
        }
        let status = p.status;
        let previous = self
            .shard(p.id)
            .lock()
            .insert(Box::new(p.clone()))
            .map(|old| old.status);
        match previous {
            None => {
                inner.counters.transition(None, status);
                self.index_new(&p);
            }
            Some(from) if from != status => inner.counters.transition(Some(from), status),
            Some(_) => {}
        }
    }

    /// Rebuilds what is derived from the restored payments: the schedules of expiries and
    /// disputes, and each merchant's disputes in the order they opened. A dispute planned
    /// but not opened yet opens one `open_after` from now (when it was captured is not kept).
    pub(crate) fn finish_restore(&self) {
        let inner = &self.inner;
        let now = inner.clock.now_ms();
        let mut disputed: Vec<(u64, PaymentId, super::ids::MerchantId)> = Vec::new();
        for shard in inner.payments.iter() {
            for p in shard.lock().values() {
                if p.status == PaymentStatus::RequiresCapture
                    && let Some(at) = p.rare.capture_before_ms
                {
                    inner.expiries.insert_at(at, p.id);
                }
                // An open 3-D Secure challenge is still abandoned when its time comes.
                if p.status == PaymentStatus::RequiresAction
                    && let Some(challenge) = p.rare.challenge.as_deref()
                    && challenge.abandon_at_ms > 0
                {
                    inner
                        .challenge_timeouts
                        .insert_at(challenge.abandon_at_ms, p.id);
                }
                match p.rare.dispute.as_deref() {
                    None if p.rare.dispute_plan.is_some()
                        && p.status == PaymentStatus::Succeeded
                        && p.amount_captured > 0 =>
                    {
                        inner.dispute_openings.schedule(p.id, now);
                    }
                    Some(d) => {
                        disputed.push((d.created, p.id, p.merchant));
                        if let Some(at) = d.decides_at_ms
                            && matches!(
                                d.status,
                                DisputeStatus::UnderReview | DisputeStatus::WarningUnderReview
                            )
                        {
                            inner.dispute_decisions.insert_at(at, p.id);
                        }
                    }
                    None => {}
                }
            }
        }
        disputed.sort();
        let mut by_merchant = inner.disputes_by_merchant.lock();
        by_merchant.clear();
        for (_, id, merchant) in disputed {
            by_merchant.entry(merchant).or_default().push(id);
        }
    }

    /// The whole state as records, in an order [`Engine::restore`] takes back, written
    /// between changes (no change runs meanwhile). `emit` gets them a batch at a time.
    pub(crate) fn snapshot(&self, mut emit: impl FnMut(&[Record])) {
        self.quiesced(|| {
            let inner = &self.inner;
            let mut batch: Vec<Record> = vec![
                Record::Salt {
                    salt: self.event_salt(),
                },
                Record::Clock {
                    advanced_ms: inner.clock.advanced_ms(),
                },
            ];
            for (id, api_key) in inner.merchants.all() {
                batch.push(Record::Merchant { id, api_key });
            }
            emit(&std::mem::take(&mut batch));
            // Payments in each merchant's creation order, so listings come back the same.
            let merchants: Vec<Vec<PaymentId>> =
                inner.by_merchant.lock().values().cloned().collect();
            for ids in merchants {
                for chunk in ids.chunks(1024) {
                    for id in chunk {
                        if let Some(p) = self.shard(*id).lock().get(id) {
                            batch.push(Record::Payment(Box::new(p.clone())));
                        }
                    }
                    emit(&std::mem::take(&mut batch));
                }
            }
            let len = self.ledger_len();
            let mut from = 1;
            while from <= len {
                let to = (from + 4095).min(len);
                for (seq, movement) in inner.ledger.range(from, to) {
                    batch.push(Record::Ledger { seq, movement });
                }
                emit(&std::mem::take(&mut batch));
                from = to + 1;
            }
            for seq in 1..=self.changes_len() {
                if let Some(change) = self.change_by_seq(seq) {
                    batch.push(Record::Change(Box::new(change.journal_copy())));
                }
                if batch.len() >= 4096 {
                    emit(&std::mem::take(&mut batch));
                }
            }
            inner
                .idempotency
                .completed(|merchant, key, fingerprint, created_ms, stored| {
                    batch.push(Record::Key {
                        merchant,
                        key: key.clone(),
                        fingerprint,
                        created_ms,
                        status: stored.status,
                        body: StoredBody::of(&stored.body),
                    });
                });
            for s in inner.checkout.all() {
                batch.push(Record::Checkout(Box::new(s)));
            }
            for e in inner.webhook_endpoints.all() {
                batch.push(Record::Endpoint(Box::new((*e).clone())));
            }
            emit(&batch);
        });
    }
}

impl super::checkout_session::CheckoutStore {
    /// Replay: a session as journaled (created, or closed since). Open sessions are
    /// scheduled to expire; none is being paid after a restart.
    pub(super) fn restore(&self, mut session: super::checkout_session::CheckoutSession) {
        use std::sync::atomic::Ordering;
        session.paying = false;
        let mut inner = self.inner.lock();
        let id: Arc<str> = session.id.clone();
        if !inner.sessions.contains_key(&id) {
            inner.sequence += 1;
            let sequence = inner.sequence;
            let expires_ms = session.expires_at.saturating_mul(1000);
            if session.status == CheckoutStatus::Open {
                inner.expiries.insert((expires_ms, sequence), id.clone());
                self.next_due_ms.fetch_min(expires_ms, Ordering::Relaxed);
            }
            inner
                .by_merchant
                .entry(session.merchant)
                .or_default()
                .push(id.clone());
        }
        inner.sessions.insert(id, session);
    }

    /// Every session, each merchant's in creation order (for a snapshot).
    pub(super) fn all(&self) -> Vec<super::checkout_session::CheckoutSession> {
        let inner = self.inner.lock();
        inner
            .by_merchant
            .values()
            .flatten()
            .filter_map(|id| inner.sessions.get(id).cloned())
            .collect()
    }
}
