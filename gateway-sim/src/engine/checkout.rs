//! Checkout sessions (Stripe Checkout): a merchant's order (line items, where the
//! buyer goes afterwards) that a buyer pays on a page the simulator hosts.
//!
//! A session holds no money: paying it creates and authorizes an ordinary
//! payment (through [`Engine::create_payment_with`], the same ledger and events),
//! and the session only remembers which payment paid it. So the store is small
//! and simple: one lock over every session (a checkout is a person's click, not a
//! load path), each merchant's sessions in creation order, and the sessions'
//! expiries soonest first, swept like authorizations' (`expiry.rs`) but in a
//! schedule of their own.
//!
//! A session's changes (completed, expired) are recorded in the change log with a
//! snapshot of the session, so their events show it as it was then. The session
//! itself and the store are plain data in `checkout_session.rs`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::checkout_session::{
    CHECKOUT_SESSION_LIFETIME_MS, CHECKOUT_SESSION_PREFIX, CheckoutSession, CheckoutStatus,
    LineItem, NewCheckoutSession,
};
use super::error::EngineError;
use super::events::{Cause, Change, ChangeKind};
use super::ids::{MerchantId, PaymentId};
use super::money::MAX_AMOUNT;
use super::operations::Engine;
use super::payment::{Payment, PaymentStatus};

/// A fresh session id: `cs_test_` and 32 random base-62 characters.
fn new_session_id() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut id = String::from(CHECKOUT_SESSION_PREFIX);
    for _ in 0..2 {
        let mut n: u128 = rand::random();
        for _ in 0..16 {
            id.push(char::from(ALPHABET[(n % 62) as usize]));
            n /= 62;
        }
    }
    id
}

fn no_such(id: &str) -> EngineError {
    EngineError::NoSuchCheckoutSession(id.to_string())
}

impl Engine {
    /// Opens a session; it expires [`CHECKOUT_SESSION_LIFETIME_MS`] of simulator time later.
    pub fn create_checkout_session(
        &self,
        merchant: MerchantId,
        new: NewCheckoutSession,
    ) -> Result<CheckoutSession, EngineError> {
        let total = new
            .line_items
            .iter()
            .try_fold(0i64, |sum, (_, unit, qty)| {
                sum.checked_add(unit.checked_mul(i64::from(*qty))?)
            })
            .filter(|t| (1..=MAX_AMOUNT).contains(t))
            .ok_or(EngineError::InvalidAmount)?;
        let now_ms = self.inner.clock.now_ms();
        let id: Arc<str> = Arc::from(new_session_id());
        let line_items = new
            .line_items
            .into_iter()
            .enumerate()
            .map(|(i, (name, unit_amount, quantity))| LineItem {
                id: format!("li_{}{:03}", &id[CHECKOUT_SESSION_PREFIX.len()..][..20], i),
                name,
                unit_amount,
                quantity,
            })
            .collect();
        let expires_ms = now_ms.saturating_add(CHECKOUT_SESSION_LIFETIME_MS);
        let session = CheckoutSession {
            id: id.clone(),
            merchant,
            created: now_ms / 1000,
            expires_at: expires_ms / 1000,
            status: CheckoutStatus::Open,
            currency: new.currency,
            line_items,
            amount_total: total,
            success_url: new.success_url,
            cancel_url: new.cancel_url,
            client_reference_id: new.client_reference_id,
            metadata: new.metadata,
            customer_email: new.customer_email,
            capture_method: new.capture_method,
            payment: None,
            paid: false,
            attempt: None,
            paying: false,
        };
        let _section = self.section();
        self.touch_session(&id);
        let store = &self.inner.checkout;
        let mut inner = store.inner.lock();
        inner.sequence += 1;
        let sequence = inner.sequence;
        inner.expiries.insert((expires_ms, sequence), id.clone());
        inner
            .by_merchant
            .entry(merchant)
            .or_default()
            .push(id.clone());
        inner.sessions.insert(id, session.clone());
        store.next_due_ms.fetch_min(expires_ms, Ordering::Relaxed);
        Ok(session)
    }

    /// The merchant's session `id`; another merchant's is not found.
    pub fn checkout_session(
        &self,
        merchant: MerchantId,
        id: &str,
    ) -> Result<CheckoutSession, EngineError> {
        self.checkout_session_by_id(id)
            .filter(|s| s.merchant == merchant)
            .ok_or_else(|| no_such(id))
    }

    /// Session `id`, whoever's it is: the hosted page's address is its id, and a
    /// buyer's browser carries no API key.
    pub fn checkout_session_by_id(&self, id: &str) -> Option<CheckoutSession> {
        self.inner.checkout.inner.lock().sessions.get(id).cloned()
    }

    /// The merchant's sessions, newest first; only the one paid by `payment` when given.
    pub fn checkout_sessions(
        &self,
        merchant: MerchantId,
        payment: Option<PaymentId>,
    ) -> Vec<CheckoutSession> {
        let inner = self.inner.checkout.inner.lock();
        let Some(ids) = inner.by_merchant.get(&merchant) else {
            return Vec::new();
        };
        ids.iter()
            .rev()
            .filter_map(|id| inner.sessions.get(id))
            .filter(|s| payment.is_none_or(|p| s.payment == Some(p) || s.attempt == Some(p)))
            .cloned()
            .collect()
    }

    /// Expires an open session now (`POST .../expire`): it can no longer be paid.
    pub fn expire_checkout_session(
        &self,
        merchant: MerchantId,
        id: &str,
        cause: &Cause,
    ) -> Result<CheckoutSession, EngineError> {
        let _section = self.section();
        let mut inner = self.inner.checkout.inner.lock();
        let s = inner
            .sessions
            .get_mut(id)
            .filter(|s| s.merchant == merchant)
            .ok_or_else(|| no_such(id))?;
        if s.status != CheckoutStatus::Open || s.paying {
            return Err(EngineError::InvalidState(format!(
                "Only an open Checkout Session can be expired; session {id} is {}{}.",
                s.status.as_str(),
                if s.paying { " and being paid" } else { "" }
            )));
        }
        self.end_session(s, CheckoutStatus::Expired, None, cause);
        Ok(s.clone())
    }

    /// Expires every open session whose time simulator time has passed, soonest
    /// first, and returns the changes (`checkout.session.expired`). Cheap when
    /// nothing is due; swept where authorizations' expiries are.
    pub fn expire_due_checkout_sessions(&self) -> Vec<Arc<Change>> {
        let store = &self.inner.checkout;
        let now = self.inner.clock.now_ms();
        if store.next_due_ms.load(Ordering::Relaxed) > now {
            return Vec::new();
        }
        let cause = Cause::none();
        let _section = self.section();
        let mut inner = store.inner.lock();
        while let Some(entry) = inner.expiries.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let id = entry.remove();
            if let Some(s) = inner.sessions.get_mut(&id)
                && s.status == CheckoutStatus::Open
                && !s.paying
            {
                self.end_session(s, CheckoutStatus::Expired, None, &cause);
            }
        }
        let next = inner
            .expiries
            .first_key_value()
            .map_or(u64::MAX, |(k, _)| k.0);
        store.next_due_ms.store(next, Ordering::Relaxed);
        cause.take_raised()
    }

    /// Claims an open session for one payment attempt: `Err` when it is complete,
    /// expired (also when its time has passed and no sweep has got to it yet), or
    /// being paid by another request. Release it with
    /// [`Engine::finish_checkout_attempt`], whatever the attempt came to.
    pub fn begin_checkout_payment(&self, id: &str) -> Result<CheckoutSession, EngineError> {
        let now_s = self.inner.clock.now_ms() / 1000;
        let mut inner = self.inner.checkout.inner.lock();
        let s = inner.sessions.get_mut(id).ok_or_else(|| no_such(id))?;
        if s.status == CheckoutStatus::Open && s.expires_at <= now_s {
            // Left for the sweep to expire (with its event); already unpayable.
            return Err(EngineError::InvalidState(format!(
                "Checkout Session {id} has expired; it can no longer be paid."
            )));
        }
        match (s.status, s.paying) {
            (CheckoutStatus::Open, false) => {
                s.paying = true;
                Ok(s.clone())
            }
            (CheckoutStatus::Open, true) => Err(EngineError::InvalidState(format!(
                "Checkout Session {id} is being paid by another request; try again in a moment."
            ))),
            (status, _) => Err(EngineError::InvalidState(format!(
                "Checkout Session {id} is {}; it can no longer be paid.",
                status.as_str()
            ))),
        }
    }

    /// Ends a payment attempt begun by [`Engine::begin_checkout_payment`]: a
    /// payment that succeeded (or was authorized, for manual capture) completes
    /// the session (`checkout.session.completed`); any other leaves it open and
    /// remembers the attempt (a decline, or a 3-D Secure challenge to answer), or
    /// expires it now if its time ran out meanwhile (the sweep passed it over
    /// while it was being paid).
    pub fn finish_checkout_attempt(
        &self,
        id: &str,
        payment: Option<&Payment>,
        cause: &Cause,
    ) -> Option<CheckoutSession> {
        let _section = self.section();
        let mut inner = self.inner.checkout.inner.lock();
        if let Some(p) = payment.filter(|p| p.status == PaymentStatus::RequiresAction) {
            inner.waiting.insert(p.id, Arc::from(id));
        }
        let s = inner.sessions.get_mut(id)?;
        self.touch_session(&s.id);
        s.paying = false;
        if let Some(p) = payment {
            s.attempt = Some(p.id);
            if s.status == CheckoutStatus::Open
                && matches!(
                    p.status,
                    PaymentStatus::Succeeded | PaymentStatus::RequiresCapture
                )
            {
                self.end_session(s, CheckoutStatus::Complete, Some(p), cause);
            }
        }
        if s.status == CheckoutStatus::Open && s.expires_at <= self.inner.clock.now_ms() / 1000 {
            self.end_session(s, CheckoutStatus::Expired, None, cause);
        }
        Some(s.clone())
    }

    /// Completes the session that payment `p` was made for while it waited for
    /// 3-D Secure, now that the buyer's answer authorized it; the session as it is
    /// now (still open after a failed challenge), or `None` when `p` paid no session.
    pub fn settle_checkout_payment(&self, p: &Payment, cause: &Cause) -> Option<CheckoutSession> {
        let _section = self.section();
        let mut inner = self.inner.checkout.inner.lock();
        let id = inner.waiting.get(&p.id)?.clone();
        if p.status != PaymentStatus::RequiresAction {
            inner.waiting.remove(&p.id);
        }
        let s = inner.sessions.get_mut(&id)?;
        if s.status == CheckoutStatus::Open
            && !s.paying
            && s.attempt == Some(p.id)
            && matches!(
                p.status,
                PaymentStatus::Succeeded | PaymentStatus::RequiresCapture
            )
        {
            self.end_session(s, CheckoutStatus::Complete, Some(p), cause);
        }
        Some(s.clone())
    }

    /// Closes a session (completed by `payment`, or expired) and records the change.
    fn end_session(
        &self,
        s: &mut CheckoutSession,
        status: CheckoutStatus,
        payment: Option<&Payment>,
        cause: &Cause,
    ) {
        self.touch_session(&s.id);
        s.status = status;
        if let Some(p) = payment {
            s.payment = Some(p.id);
            // Stripe's `payment_status` says whether the buyer paid, not whether the
            // merchant has captured: a card authorized for a manual capture is `paid`
            // (`unpaid` is for delayed methods, which the simulator has none of).
            s.paid = matches!(
                p.status,
                PaymentStatus::Succeeded | PaymentStatus::RequiresCapture
            );
        }
        let kind = match status {
            CheckoutStatus::Complete => ChangeKind::CheckoutCompleted,
            _ => ChangeKind::CheckoutExpired,
        };
        self.inner.events.record_checkout(
            kind,
            self.inner.clock.now_ms(),
            Arc::new(s.clone()),
            payment,
            cause,
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::engine::money::Currency;
    use crate::engine::payment::CaptureMethod;

    fn new_session() -> NewCheckoutSession {
        NewCheckoutSession {
            currency: Currency::parse("usd").expect("usd"),
            line_items: vec![("Mug".into(), 700, 2)],
            success_url: "https://shop.example/ok".into(),
            cancel_url: None,
            client_reference_id: Some("order-1".into()),
            metadata: None,
            customer_email: None,
            capture_method: CaptureMethod::Automatic,
        }
    }

    #[test]
    fn a_session_expires_once_when_the_clock_passes_its_time() {
        let e = Engine::new(Duration::from_secs(60));
        let m = e.merchant("sk_checkout");
        let s = e.create_checkout_session(m, new_session()).unwrap();
        assert_eq!(s.amount_total, 1400);
        e.advance_clock(Duration::from_secs(24 * 3600 - 1));
        assert!(e.expire_due_checkout_sessions().is_empty(), "not due yet");
        e.advance_clock(Duration::from_secs(1));
        let raised = e.expire_due_checkout_sessions();
        assert_eq!(raised.len(), 1);
        assert_eq!(raised[0].kind, ChangeKind::CheckoutExpired);
        assert_eq!(raised[0].reference.as_deref(), Some("order-1"));
        assert!(e.expire_due_checkout_sessions().is_empty(), "expired once");
        let s = e.checkout_session(m, &s.id).unwrap();
        assert_eq!(s.status, CheckoutStatus::Expired);
        assert!(e.begin_checkout_payment(&s.id).is_err());
    }

    #[test]
    fn a_session_being_paid_when_its_time_runs_out_expires_when_the_attempt_ends() {
        let e = Engine::new(Duration::from_secs(60));
        let m = e.merchant("sk_checkout");
        let s = e.create_checkout_session(m, new_session()).unwrap();
        e.begin_checkout_payment(&s.id).unwrap();
        assert!(
            e.begin_checkout_payment(&s.id).is_err(),
            "one attempt at a time"
        );
        assert!(e.expire_checkout_session(m, &s.id, &Cause::none()).is_err());
        e.advance_clock(Duration::from_secs(24 * 3600));
        assert!(
            e.expire_due_checkout_sessions().is_empty(),
            "passed over while paid"
        );
        let cause = Cause::none();
        let after = e.finish_checkout_attempt(&s.id, None, &cause).unwrap();
        assert_eq!(after.status, CheckoutStatus::Expired);
        assert_eq!(cause.take_raised().len(), 1);
    }

    #[test]
    fn another_merchant_neither_sees_nor_expires_a_session() {
        let e = Engine::new(Duration::from_secs(60));
        let (a, b) = (e.merchant("sk_a"), e.merchant("sk_b"));
        let s = e.create_checkout_session(a, new_session()).unwrap();
        assert!(e.checkout_session(b, &s.id).is_err());
        assert!(e.checkout_sessions(b, None).is_empty());
        assert!(e.expire_checkout_session(b, &s.id, &Cause::none()).is_err());
        assert_eq!(e.checkout_sessions(a, None).len(), 1);
    }
}
