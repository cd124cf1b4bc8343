//! What the service does with one event, whether a webhook delivered it or
//! reconciliation found it in `GET /v1/events`: find its order, then move the order
//! as the flags say (trust the event, or ask the gateway for the payment's current state).

use parking_lot::Mutex;
use serde_json::Value;

use super::flags::{Dedupe, EventOrder};
use super::gateway::{GatewayError, NativeGateway};
use super::orders::{OrderBook, OrderStatus, PaymentState};

/// The service's state, shared by its HTTP handlers and its reconciliation task.
pub struct Shop {
    pub book: Mutex<OrderBook>,
    pub gateway: NativeGateway,
    pub dedupe: Dedupe,
    pub event_order: EventOrder,
}

/// What became of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    Applied,
    /// Handled before (same event id): nothing done.
    Duplicate,
    /// Not about one of our orders (another service's payment, or an event without one).
    Ignored,
}

impl Handled {
    pub fn as_str(self) -> &'static str {
        match self {
            Handled::Applied => "applied",
            Handled::Duplicate => "duplicate",
            Handled::Ignored => "ignored",
        }
    }
}

impl Shop {
    /// A webhook delivery: deduplicated by event id unless `--webhook-dedupe off`.
    /// An error means "tell the gateway to retry" (the event is not marked handled).
    pub async fn handle_delivery(&self, event: &Value) -> Result<Handled, GatewayError> {
        let event_id = event["id"].as_str().unwrap_or_default();
        let first_time = self.book.lock().claim_event(event_id);
        if !first_time && self.dedupe == Dedupe::On {
            return Ok(Handled::Duplicate);
        }
        self.apply_claimed(event_id, event, first_time).await
    }

    /// An event found by reconciliation: applied only if no delivery handled it.
    pub async fn handle_listed(&self, event: &Value) -> Result<Handled, GatewayError> {
        let event_id = event["id"].as_str().unwrap_or_default();
        if !self.book.lock().claim_event(event_id) {
            return Ok(Handled::Duplicate);
        }
        self.apply_claimed(event_id, event, true).await
    }

    async fn apply_claimed(
        &self,
        event_id: &str,
        event: &Value,
        release_on_error: bool,
    ) -> Result<Handled, GatewayError> {
        let result = self.apply(event).await;
        if result.is_err() && release_on_error {
            self.book.lock().release_event(event_id);
        }
        result
    }

    async fn apply(&self, event: &Value) -> Result<Handled, GatewayError> {
        let event_type = event["type"].as_str().unwrap_or_default();
        let object = &event["data"]["object"];
        let is_refund = event_type.starts_with("refund.");
        // A payment event carries the payment; a refund event the refund, naming its payment.
        let payment_id = if is_refund {
            object["payment_id"].as_str()
        } else {
            object["id"].as_str()
        };
        let Some(payment_id) = payment_id else {
            return Ok(Handled::Ignored);
        };
        let Some(order_id) = self.order_of(payment_id, object, is_refund).await? else {
            return Ok(Handled::Ignored);
        };
        self.book.lock().link_payment(&order_id, payment_id);

        match self.event_order {
            EventOrder::Trust => {
                let mut book = self.book.lock();
                match event_type {
                    "payment.succeeded" => {
                        book.fulfil(&order_id, object["amount_captured"].as_i64().unwrap_or(0))
                    }
                    "payment.failed" | "payment.canceled" => {
                        book.trust_event_status(&order_id, OrderStatus::Failed)
                    }
                    "payment.authorized" => {
                        book.trust_event_status(&order_id, OrderStatus::Pending)
                    }
                    "refund.succeeded" => {
                        book.add_refund(&order_id, object["amount"].as_i64().unwrap_or(0))
                    }
                    _ => return Ok(Handled::Ignored),
                }
            }
            EventOrder::Current => {
                let now = self.gateway.payment(payment_id).await?;
                let state = PaymentState::from_json(&now)
                    .ok_or_else(|| GatewayError("a payment without id or status".into()))?;
                let mut book = self.book.lock();
                // Ship when the gateway confirms the payment this event announces.
                if event_type == "payment.succeeded" && state.status == "succeeded" {
                    book.fulfil(&order_id, state.amount_captured);
                }
                book.apply_current_state(&order_id, &state);
            }
        }
        Ok(Handled::Applied)
    }

    /// The order a payment pays, if it is one of ours: a payment names it as its
    /// `reference`; for a refund, the link recorded at creation, else the payment's reference.
    async fn order_of(
        &self,
        payment_id: &str,
        object: &Value,
        is_refund: bool,
    ) -> Result<Option<String>, GatewayError> {
        let reference = if is_refund {
            let known = self.book.lock().order_of_payment(payment_id);
            match known {
                Some(order_id) => Some(order_id),
                None => self.gateway.payment(payment_id).await?["reference"]
                    .as_str()
                    .map(str::to_string),
            }
        } else {
            object["reference"].as_str().map(str::to_string)
        };
        Ok(reference.filter(|order_id| self.book.lock().get(order_id).is_some()))
    }
}
