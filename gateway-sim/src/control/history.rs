//! A payment's history, gathered for the operator from everywhere the simulator keeps a trace
//! of it: the ledger (money), the change log (what happened, and the events each dialect made
//! of it), the idempotency keys its requests carried (what the key store still holds, and how
//! many times each request arrived, from the fault model's counter), and the webhook
//! deliveries of its events.
//!
//! Its own file because none of those stores knows the others: only the control plane, which
//! sees across merchants, puts them side by side (`payments.rs` answers with it).

use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::api::{EventView, Outcome};
use crate::behaviour::Endpoint;
use crate::engine::idempotency::KeyState;
use crate::engine::{Change, ChangeKind, EventDialect, LedgerEntry, Payment, SharedStr};
use crate::state::SimState;
use crate::webhooks::{DeliveryFilter, DeliveryRecord};

/// One payment and what the simulator knows of it.
#[derive(Serialize)]
pub(super) struct PaymentHistory {
    /// The merchant account (its API key), as the ledger names it.
    merchant: String,
    /// The payment as the native API answers `GET /v1/payments/{id}` (the same JSON).
    payment: Option<Box<RawValue>>,
    /// Its ledger entries, in order.
    ledger: Vec<LedgerEntry>,
    /// Its changes, oldest first, each with the events the dialects made of it.
    changes: Vec<ChangeView>,
    /// The idempotency keys its changes' requests carried, in the order first used.
    idempotency_keys: Vec<KeyView>,
    /// The deliveries of its events that the log still keeps, oldest first.
    webhook_deliveries: Vec<DeliveryRecord>,
}

#[derive(Serialize)]
struct ChangeView {
    seq: u64,
    /// `created`, `authorized`, `succeeded`, `captured`, `failed`, `canceled`, `refunded`,
    /// `requires_action` (3-D Secure), `expired` (an authorization released by the gateway).
    kind: &'static str,
    /// Simulator time, Unix milliseconds.
    time_ms: u64,
    /// The payment's status and amounts right after the change.
    status: &'static str,
    amount_capturable: i64,
    amount_captured: i64,
    amount_refunded: i64,
    decline_code: Option<String>,
    /// The request that caused it (`req_...`, as its `Request-Id` header said).
    request_id: Option<String>,
    idempotency_key: Option<String>,
    events: Vec<EventRef>,
}

#[derive(Serialize)]
struct EventRef {
    id: String,
    #[serde(rename = "type")]
    event_type: &'static str,
    dialect: &'static str,
    /// Every delivery of it succeeded (true when it had none).
    delivered: bool,
}

#[derive(Serialize)]
struct KeyView {
    key: String,
    /// The endpoint the key was used on (`create`, `capture`, `cancel`, `refund`).
    endpoint: &'static str,
    /// How many requests with this key arrived at that endpoint: the first, retries and
    /// replays (rate-limited ones excepted, they are refused before being counted).
    arrivals: u32,
    /// `completed` (its answer is stored, replayed to a retry), `in_flight`, or `forgotten`
    /// (expired, or reset).
    state: &'static str,
    /// The status of the stored answer, when completed.
    response_status: Option<u16>,
}

/// Everything known of `payment`.
pub(super) fn of(state: &SimState, payment: &Payment) -> PaymentHistory {
    let engine = state.engine();
    let merchant = engine.merchant_api_key(payment.merchant);
    let mut changes: Vec<Arc<Change>> = Vec::new();
    engine.changes_newest_first(payment.merchant, None, |change| {
        if change.payment == payment.id {
            changes.push(change.clone());
        }
        true
    });
    changes.reverse();
    let id = payment.id.to_string();
    PaymentHistory {
        merchant: merchant.to_string(),
        payment: as_native_api_shows(state, payment),
        ledger: engine.ledger_entries_of(payment.id),
        idempotency_keys: keys(state, payment, &merchant, &changes),
        changes: changes.iter().map(|c| change_view(state, c)).collect(),
        webhook_deliveries: state.webhooks().deliveries(&DeliveryFilter {
            payment_id: Some(&id),
            ..DeliveryFilter::default()
        }),
    }
}

/// The native API's JSON of the payment, so the dashboard shows what a merchant would read.
fn as_native_api_shows(state: &SimState, payment: &Payment) -> Option<Box<RawValue>> {
    let reply = crate::api::dialect_of(EventDialect::Native)
        .render(state.engine(), &Outcome::Payment(payment.clone()));
    let text = String::from_utf8(reply.body.to_vec()).ok()?;
    RawValue::from_string(text).ok()
}

fn change_view(state: &SimState, change: &Arc<Change>) -> ChangeView {
    let salt = state.engine().event_salt();
    let events = [EventDialect::Native, EventDialect::Stripe]
        .into_iter()
        .flat_map(|dialect| EventView::of(change, dialect))
        .map(|event| EventRef {
            id: event.id(salt).to_string(),
            event_type: event.event_type,
            dialect: event.dialect.as_str(),
            delivered: event.delivered(),
        })
        .collect();
    let request = change.request.as_ref();
    ChangeView {
        seq: change.seq,
        kind: change.kind.as_str(),
        time_ms: change.time_ms,
        status: change.state.status.as_str(),
        amount_capturable: change.state.amount_capturable,
        amount_captured: change.state.amount_captured,
        amount_refunded: change.state.amount_refunded,
        decline_code: change.state.decline_code.as_deref().map(str::to_string),
        request_id: request.map(|r| r.id()),
        idempotency_key: request
            .and_then(|r| r.idempotency_key.as_deref())
            .map(str::to_string),
        events,
    }
}

/// The endpoint whose requests make a change of this kind: what the fault model counted
/// the request's arrivals under (a confirmation counts as a create there too).
fn endpoint_of(kind: ChangeKind) -> Endpoint {
    match kind {
        ChangeKind::Created
        | ChangeKind::Authorized
        | ChangeKind::Succeeded
        | ChangeKind::Failed
        | ChangeKind::RequiresAction
        | ChangeKind::CheckoutCompleted
        | ChangeKind::CheckoutExpired => Endpoint::Create,
        ChangeKind::Captured => Endpoint::Capture,
        // An expiry has no request of its own (the gateway released the authorization), so
        // no key is looked up under it; it is a cancellation in every other respect.
        ChangeKind::Canceled | ChangeKind::Expired => Endpoint::Cancel,
        ChangeKind::Refunded => Endpoint::Refund,
        // Disputes open and close by themselves; answering one is an account call.
        ChangeKind::DisputeCreated
        | ChangeKind::DisputeUpdated
        | ChangeKind::DisputeClosed
        | ChangeKind::DisputeFundsReinstated => Endpoint::Retrieve,
        // Payouts are made by the schedule and name no payment (never in a payment's history).
        ChangeKind::PayoutCreated | ChangeKind::PayoutPaid | ChangeKind::PayoutFailed => {
            Endpoint::Retrieve
        }
    }
}

fn keys(
    state: &SimState,
    payment: &Payment,
    merchant: &str,
    changes: &[Arc<Change>],
) -> Vec<KeyView> {
    let mut seen: Vec<(SharedStr, Endpoint)> = Vec::new();
    for change in changes {
        if let Some(key) = change
            .request
            .as_ref()
            .and_then(|r| r.idempotency_key.clone())
        {
            let used = (key, endpoint_of(change.kind));
            if !seen.contains(&used) {
                seen.push(used);
            }
        }
    }
    seen.into_iter()
        .map(|(key, endpoint)| {
            let stored = state.engine().idempotency_key_state(payment.merchant, &key);
            let (key_state, response_status) = match &stored {
                Some(KeyState::Completed(response)) => ("completed", Some(response.status)),
                Some(KeyState::InFlight) => ("in_flight", None),
                None => ("forgotten", None),
            };
            KeyView {
                arrivals: state.seen().peek(merchant, endpoint, key.as_bytes()),
                key: key.to_string(),
                endpoint: endpoint.as_str(),
                state: key_state,
                response_status,
            }
        })
        .collect()
}
