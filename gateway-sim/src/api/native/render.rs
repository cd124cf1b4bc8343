//! The native dialect: engine outcomes as this API's JSON (payments, refunds,
//! lists, idempotency keys, pages of events, webhook endpoints through
//! `webhook_endpoints.rs`) and errors in the shared envelope. Apart from
//! routing because what a payment looks like on the wire changes for other
//! reasons than which paths exist.

use bytes::Bytes;
use serde::{Serialize, Serializer};

use super::{Native, webhook_endpoints};
use crate::api::{ApiError, Call, Dialect, EventView, MAX_EVENTS_PAGE, Operation, Outcome, Reply};
use crate::behaviour;
use crate::engine::idempotency::KeyState;
use crate::engine::ids::{PaymentId, RefundId};
use crate::engine::{ChangeKind, Engine, Payment, PaymentMethod, Refund};

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

pub(super) fn to_json<T: Serialize>(value: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
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

fn display<T: std::fmt::Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

#[derive(Serialize)]
pub(super) struct PaymentJson<'a> {
    #[serde(serialize_with = "display")]
    id: PaymentId,
    object: &'static str,
    status: &'static str,
    amount: i64,
    amount_capturable: i64,
    amount_captured: i64,
    amount_refunded: i64,
    currency: &'a str,
    reference: Option<&'a str>,
    created: u64,
    payment_method: PaymentMethodJson<'a>,
    decline_code: Option<&'a str>,
    metadata: Metadata<'a>,
    refunds: Vec<RefundJson>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum PaymentMethodJson<'a> {
    Token(&'a str),
    Card { card: CardJson },
}

#[derive(Serialize)]
struct CardJson {
    last4: String,
    exp_month: u8,
    exp_year: u16,
}

impl<'a> From<&'a PaymentMethod> for PaymentMethodJson<'a> {
    fn from(method: &'a PaymentMethod) -> Self {
        match method {
            PaymentMethod::Token(t) => PaymentMethodJson::Token(t),
            PaymentMethod::Card {
                last4,
                exp_month,
                exp_year,
            } => PaymentMethodJson::Card {
                card: CardJson {
                    last4: String::from_utf8_lossy(last4).into_owned(),
                    exp_month: *exp_month,
                    exp_year: *exp_year,
                },
            },
        }
    }
}

/// Metadata is kept as the JSON text it arrived as and written back verbatim.
struct Metadata<'a>(Option<&'a str>);

impl Serialize for Metadata<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self
            .0
            .and_then(|text| serde_json::from_str::<&serde_json::value::RawValue>(text).ok())
        {
            Some(raw) => raw.serialize(s),
            None => serde_json::Map::new().serialize(s),
        }
    }
}

impl<'a> From<&'a Payment> for PaymentJson<'a> {
    fn from(p: &'a Payment) -> Self {
        PaymentJson {
            id: p.id,
            object: "payment",
            status: p.status.as_str(),
            amount: p.amount,
            amount_capturable: p.amount_capturable,
            amount_captured: p.amount_captured,
            amount_refunded: p.amount_refunded,
            currency: p.currency.as_str(),
            reference: p.reference.as_deref(),
            created: p.created,
            payment_method: PaymentMethodJson::from(&p.payment_method),
            decline_code: p.decline_code.as_deref(),
            metadata: Metadata(p.metadata.as_deref()),
            refunds: p.refunds.iter().map(RefundJson::from).collect(),
        }
    }
}

#[derive(Serialize)]
pub(super) struct RefundJson {
    #[serde(serialize_with = "display")]
    id: RefundId,
    object: &'static str,
    amount: i64,
    #[serde(serialize_with = "display")]
    payment_id: PaymentId,
    status: &'static str,
    created: u64,
}

impl From<&Refund> for RefundJson {
    fn from(r: &Refund) -> Self {
        RefundJson {
            id: r.id,
            object: "refund",
            amount: r.amount,
            payment_id: r.payment,
            status: "succeeded",
            created: r.created,
        }
    }
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
