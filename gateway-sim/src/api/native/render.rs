//! The native dialect: engine outcomes as this API's JSON (payments and refunds
//! through `objects.rs`, lists, idempotency keys, pages of events, webhook
//! endpoints through `webhook_endpoints.rs`) and errors in the shared envelope. Apart from
//! routing because what a payment looks like on the wire changes for other
//! reasons than which paths exist.

use bytes::Bytes;
use serde::Serialize;

use super::objects::{DisputeJson, PaymentJson, PaymentMethodJson, RefundJson, to_json};
use super::{Native, settlement, webhook_endpoints};
use crate::api::{ApiError, Call, Dialect, EventView, MAX_EVENTS_PAGE, Operation, Outcome, Reply};
use crate::behaviour;
use crate::engine::idempotency::KeyState;
use crate::engine::{ChangeKind, Engine};

impl Dialect for Native {
    fn render(&self, engine: &Engine, outcome: &Outcome) -> Reply {
        match outcome {
            Outcome::Payment(p) => Reply::ok(to_json(&PaymentJson::from(p))),
            Outcome::Declined(p) => ApiError::declined(
                p.id.to_string(),
                p.decline_code.as_deref().unwrap_or(behaviour::DeclineCode::GENERIC_DECLINE.as_str()),
            )
            .into_reply(),
            Outcome::Refund(r) => Reply::ok(to_json(&RefundJson::from(r))),
            Outcome::Payments(list) => Reply::ok(to_json(&ListJson {
                object: "list",
                data: list.iter().map(PaymentJson::from).collect(),
            })),
            Outcome::Key(key, state) => match state {
                None => ApiError::not_found(
                    "resource_missing",
                    format!("The gateway has no record of idempotency key '{key}' (never used, expired, or its request changed nothing)."),
                )
                .into_reply(),
                Some(state) => Reply::ok(key_json(key, state)),
            },
            // Native routes never look payment methods up; shown as a payment shows them.
            Outcome::PaymentMethod(method) => Reply::ok(to_json(&PaymentMethodJson::from(method))),
            Outcome::Refused(e) => e.clone().into_reply(),
            // Without the call, the largest page: every event the engine gave.
            Outcome::Events(events) => Reply::ok(events_page(engine, events, MAX_EVENTS_PAGE)),
            Outcome::Event(event) => Reply::ok(super::events::render_event(engine, event)),
            Outcome::WebhookEndpoint { endpoint, new } => {
                Reply::ok(to_json(&webhook_endpoints::endpoint_json(endpoint, *new)))
            }
            Outcome::WebhookEndpoints(all) => Reply::ok(to_json(&PageJson {
                object: "list",
                data: webhook_endpoints::native_only(all)
                    .map(|e| webhook_endpoints::endpoint_json(e, false))
                    .collect(),
                has_more: false,
            })),
            Outcome::DeletedWebhookEndpoint(e) => {
                Reply::ok(to_json(&webhook_endpoints::deleted_json(e)))
            }
            // Checkout sessions are Stripe's; no native route asks for them.
            Outcome::CheckoutSession(_) | Outcome::CheckoutSessions(_) => {
                ApiError::not_found("resource_missing", "Checkout sessions are a Stripe resource: use /v1/checkout/sessions with a Stripe client.").into_reply()
            }
            Outcome::Settlement(view) => settlement::render(view, engine.clock().now_ms()),
            Outcome::Dispute(p) => Reply::ok(to_json(&DisputeJson::of(p))),
            Outcome::Disputes(list) => Reply::ok(to_json(&PageJson {
                object: "list",
                data: list.iter().filter_map(DisputeJson::of).collect(),
                has_more: false,
            })),
        }
    }

    /// An events page shows as many as the request asked for; the engine gave
    /// one more when more follow (`has_more`).
    fn render_call(&self, engine: &Engine, call: &Call, outcome: &Outcome) -> Reply {
        match (&call.operation, outcome) {
            (Operation::ListEvents(query), Outcome::Events(events)) => {
                Reply::ok(events_page(engine, events, super::events::page_size(query)))
            }
            _ => self.render(engine, outcome),
        }
    }

    fn event_types(&self, kind: ChangeKind) -> &'static [&'static str] {
        super::events::event_types(kind)
    }

    fn render_event(&self, engine: &Engine, event: &EventView) -> Bytes {
        super::events::render_event(engine, event)
    }
}

/// A page of a list that may go on (`has_more`).
#[derive(Serialize)]
struct PageJson<T> {
    object: &'static str,
    data: Vec<T>,
    has_more: bool,
}

/// At most `size` of `events` (newest first), and whether more follow.
fn events_page(engine: &Engine, events: &[EventView], size: usize) -> Bytes {
    let shown = &events[..events.len().min(size)];
    to_json(&PageJson {
        object: "list",
        data: shown
            .iter()
            .map(|e| super::events::event_json(engine, e))
            .collect(),
        has_more: events.len() > shown.len(),
    })
}

#[derive(Serialize)]
struct ListJson<'a> {
    object: &'static str,
    data: Vec<PaymentJson<'a>>,
}

fn key_json(key: &str, state: &KeyState) -> Bytes {
    #[derive(Serialize)]
    struct StoredJson<'a> {
        status: u16,
        body: &'a serde_json::value::RawValue,
    }
    #[derive(Serialize)]
    struct KeyJson<'a> {
        object: &'static str,
        key: &'a str,
        status: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        response: Option<StoredJson<'a>>,
    }
    let expanded = match state {
        KeyState::Completed(stored) => crate::api::compact::unpack(&stored.body),
        KeyState::InFlight => Bytes::new(),
    };
    let (status, response) = match state {
        KeyState::InFlight => ("in_flight", None),
        KeyState::Completed(stored) => {
            let body = std::str::from_utf8(&expanded)
                .ok()
                .and_then(|text| serde_json::from_str::<&serde_json::value::RawValue>(text).ok());
            (
                "completed",
                body.map(|body| StoredJson {
                    status: stored.status,
                    body,
                }),
            )
        }
    };
    to_json(&KeyJson {
        object: "idempotency_key",
        key,
        status,
        response,
    })
}
