//! The service's own record of orders in webhook mode, and the rules that move an
//! order between `pending`, `paid`, `failed` and `refunded`. No I/O here: the
//! handlers decide what a webhook means and call these methods under one lock.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Created, and the gateway has not told us (in a way we believe) that it was paid.
    Pending,
    Paid,
    Failed,
    /// Paid, then refunded in full.
    Refunded,
}

/// One order, as `GET /orders/{order_id}` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Order {
    pub order_id: String,
    pub status: OrderStatus,
    /// Times the goods were shipped: more than 1 is the duplicate-webhook bug.
    pub fulfillments: u32,
    pub amount_paid: i64,
    pub amount_refunded: i64,
    #[serde(skip)]
    pub amount: i64,
    #[serde(skip)]
    pub currency: String,
    /// The gateway's payment, once its create call answered (or an event named it).
    #[serde(skip)]
    pub payment_id: Option<String>,
}

/// A payment as the gateway shows it (an event's `data.object`, or `GET /v1/payments/{id}`):
/// the fields the order depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentState {
    pub payment_id: String,
    pub status: String,
    pub amount_captured: i64,
    pub amount_refunded: i64,
}

impl PaymentState {
    pub fn from_json(payment: &serde_json::Value) -> Option<PaymentState> {
        Some(PaymentState {
            payment_id: payment["id"].as_str()?.to_string(),
            status: payment["status"].as_str()?.to_string(),
            amount_captured: payment["amount_captured"].as_i64().unwrap_or(0),
            amount_refunded: payment["amount_refunded"].as_i64().unwrap_or(0),
        })
    }
}

/// Every order, which payment belongs to which order, and which events were handled.
#[derive(Default)]
pub struct OrderBook {
    orders: HashMap<String, Order>,
    order_of_payment: HashMap<String, String>,
    /// Events handled (or being handled): deduplication and reconciliation read it.
    handled_events: HashSet<String>,
    /// How far back reconciliation has nothing left to do (see `reconcile.rs`).
    pub reconciled: ReconcileMark,
}

/// Where the next reconciliation pass may stop: `through` and every older event are handled.
#[derive(Debug, Default)]
pub struct ReconcileMark {
    pub through: Option<String>,
    /// Bumped by each release, so a pass that overlapped one does not move the mark.
    pub releases: u64,
}

impl OrderBook {
    /// Records a new pending order; `false` when the id is taken.
    pub fn open(&mut self, order_id: &str, amount: i64, currency: &str) -> bool {
        if self.orders.contains_key(order_id) {
            return false;
        }
        self.orders.insert(
            order_id.to_string(),
            Order {
                order_id: order_id.to_string(),
                status: OrderStatus::Pending,
                fulfillments: 0,
                amount_paid: 0,
                amount_refunded: 0,
                amount,
                currency: currency.to_string(),
                payment_id: None,
            },
        );
        true
    }

    pub fn get(&self, order_id: &str) -> Option<&Order> {
        self.orders.get(order_id)
    }

    /// Every order, in no particular order.
    pub fn all(&self) -> impl Iterator<Item = &Order> {
        self.orders.values()
    }

    /// Links the gateway's payment to the order it pays.
    pub fn link_payment(&mut self, order_id: &str, payment_id: &str) {
        if let Some(order) = self.orders.get_mut(order_id) {
            order.payment_id = Some(payment_id.to_string());
            self.order_of_payment
                .insert(payment_id.to_string(), order_id.to_string());
        }
    }

    pub fn order_of_payment(&self, payment_id: &str) -> Option<String> {
        self.order_of_payment.get(payment_id).cloned()
    }

    /// Claims an event for handling: `false` when it was handled (or is being handled)
    /// already. Claiming before handling keeps two simultaneous duplicates from both
    /// passing the check.
    pub fn claim_event(&mut self, event_id: &str) -> bool {
        self.handled_events.insert(event_id.to_string())
    }

    /// Gives a claim back when handling failed, so a redelivery or a reconciliation retries it.
    pub fn release_event(&mut self, event_id: &str) {
        self.handled_events.remove(event_id);
        // A reconciliation pass may have skipped it as handled while this claim was held.
        self.reconciled.through = None;
        self.reconciled.releases += 1;
    }

    pub fn was_handled(&self, event_id: &str) -> bool {
        self.handled_events.contains(event_id)
    }

    /// The gateway says the payment succeeded: the order is paid and shipped once more.
    /// Each call ships: the caller decides whether an event is handled at all.
    pub fn fulfil(&mut self, order_id: &str, amount_captured: i64) {
        if let Some(order) = self.orders.get_mut(order_id) {
            if order.status != OrderStatus::Refunded {
                order.status = OrderStatus::Paid;
            }
            order.amount_paid = amount_captured;
            order.fulfillments += 1;
        }
    }

    /// Sets the order to what one event said, whatever the order was: the arrival-order bug.
    pub fn trust_event_status(&mut self, order_id: &str, status: OrderStatus) {
        if let Some(order) = self.orders.get_mut(order_id) {
            order.status = status;
        }
    }

    /// Trusting a `refund.succeeded` event: adds its amount, so a duplicate counts twice.
    pub fn add_refund(&mut self, order_id: &str, amount: i64) {
        if let Some(order) = self.orders.get_mut(order_id) {
            order.amount_refunded += amount;
            if order.amount_paid > 0 && order.amount_refunded >= order.amount_paid {
                order.status = OrderStatus::Refunded;
            }
        }
    }

    /// Sets the order from the payment's current state at the gateway. An order never
    /// moves backwards: once paid it is not pending or failed again, whatever arrives late.
    /// It never pays an order either: paying ships the goods, which only the handling of a
    /// `payment.succeeded` does ([`OrderBook::fulfil`]), so a service that never gets that
    /// event (and never reconciles) keeps the order pending, as real ones do.
    pub fn apply_current_state(&mut self, order_id: &str, payment: &PaymentState) {
        let Some(order) = self.orders.get_mut(order_id) else {
            return;
        };
        let was_paid = matches!(order.status, OrderStatus::Paid | OrderStatus::Refunded);
        match payment.status.as_str() {
            "succeeded" if was_paid => {
                order.status = OrderStatus::Paid;
                order.amount_paid = payment.amount_captured;
                order.amount_refunded = payment.amount_refunded;
                if payment.amount_captured > 0 && payment.amount_refunded >= payment.amount_captured
                {
                    order.status = OrderStatus::Refunded;
                }
            }
            "failed" | "canceled" if !was_paid => order.status = OrderStatus::Failed,
            // requires_capture, requires_confirmation...: not paid yet; a paid order stays paid.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(status: &str, captured: i64, refunded: i64) -> PaymentState {
        PaymentState {
            payment_id: "pay_1".into(),
            status: status.into(),
            amount_captured: captured,
            amount_refunded: refunded,
        }
    }

    #[test]
    fn the_current_state_never_moves_a_paid_order_backwards() {
        let mut book = OrderBook::default();
        assert!(book.open("o-1", 1000, "usd"));
        // Learning that the payment succeeded from another event does not pay (or ship) it.
        book.apply_current_state("o-1", &state("succeeded", 1000, 0));
        assert_eq!(book.get("o-1").unwrap().status, OrderStatus::Pending);
        book.fulfil("o-1", 1000);
        book.apply_current_state("o-1", &state("succeeded", 1000, 0));
        book.apply_current_state("o-1", &state("failed", 0, 0));
        book.apply_current_state("o-1", &state("requires_confirmation", 0, 0));
        assert_eq!(book.get("o-1").unwrap().status, OrderStatus::Paid);
        book.apply_current_state("o-1", &state("succeeded", 1000, 1000));
        let order = book.get("o-1").unwrap();
        assert_eq!(order.status, OrderStatus::Refunded);
        assert_eq!(order.amount_refunded, 1000);
    }

    #[test]
    fn trusting_each_event_lets_a_late_one_undo_a_payment() {
        let mut book = OrderBook::default();
        book.open("o-1", 1000, "usd");
        book.fulfil("o-1", 1000);
        book.trust_event_status("o-1", OrderStatus::Failed);
        assert_eq!(book.get("o-1").unwrap().status, OrderStatus::Failed);
    }

    #[test]
    fn an_event_is_claimed_once_until_released() {
        let mut book = OrderBook::default();
        assert!(book.claim_event("evt_1"));
        assert!(!book.claim_event("evt_1"));
        book.release_event("evt_1");
        assert!(book.claim_event("evt_1"));
    }
}
