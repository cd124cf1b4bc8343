//! The native dialect's events: which it makes of each change (the table), how
//! one is shown (the events API and webhook bodies alike), and what the events
//! list's query string may ask. One file because the table, the JSON and the
//! filters change together when an event type is added.
//!
//! An event shows its object as it was at the change (`change.payment`,
//! `change.refund`), never as it is now.

use bytes::Bytes;
use serde::Serialize;

use super::objects::{DisputeJson, PaymentJson, RefundJson, to_json};
use super::settlement;
use crate::api::request::percent_decode;
use crate::api::webhook_endpoints::check_type_filter;
use crate::api::{ApiError, EventQuery, EventView, MAX_EVENTS_PAGE, find_event};
use crate::engine::ids::MerchantId;
use crate::engine::{ChangeKind, Engine, EventDialect};

/// Events per page when the query sets no `limit`.
const DEFAULT_LIMIT: usize = 10;

/// The native events of each change, in the order they happen. A new event type
/// is one line here.
pub(super) fn event_types(kind: ChangeKind) -> &'static [&'static str] {
    match kind {
        ChangeKind::Created => &[],
        ChangeKind::Authorized => &["payment.authorized"],
        ChangeKind::Succeeded | ChangeKind::Captured => &["payment.succeeded"],
        ChangeKind::Failed => &["payment.failed"],
        ChangeKind::Canceled | ChangeKind::Expired => &["payment.canceled"],
        ChangeKind::Refunded => &["refund.succeeded"],
        ChangeKind::RequiresAction => &["payment.requires_action"],
        // Checkout sessions are Stripe's alone.
        ChangeKind::CheckoutCompleted | ChangeKind::CheckoutExpired => &[],
        ChangeKind::DisputeCreated => &["dispute.created"],
        ChangeKind::DisputeUpdated => &[],
        ChangeKind::DisputeClosed => &["dispute.closed"],
        ChangeKind::DisputeFundsReinstated => &["dispute.funds_reinstated"],
        ChangeKind::PayoutCreated => &["payout.created"],
        ChangeKind::PayoutPaid => &["payout.paid"],
        ChangeKind::PayoutFailed => &["payout.failed"],
    }
}

/// Every native event type, for validating what an endpoint asks for.
pub(super) const ALL_EVENT_TYPES: &[&str] = &[
    "payment.authorized",
    "payment.succeeded",
    "payment.failed",
    "payment.canceled",
    "payment.requires_action",
    "refund.succeeded",
    "dispute.created",
    "dispute.closed",
    "dispute.funds_reinstated",
    "payout.created",
    "payout.paid",
    "payout.failed",
];

#[derive(Serialize)]
pub(super) struct EventJson<'a> {
    id: String,
    object: &'static str,
    #[serde(rename = "type")]
    event_type: &'static str,
    created: u64,
    data: DataJson,
    request: Option<RequestJson<'a>>,
}

#[derive(Serialize)]
struct DataJson {
    /// The payment or refund, as the payments API shows them (`null` once a
    /// reset has forgotten the payment).
    object: serde_json::Value,
}

#[derive(Serialize)]
struct RequestJson<'a> {
    id: String,
    idempotency_key: Option<&'a str>,
}

/// An event as this API's JSON; `data.object` is the refund for `refund.*`
/// events, the payout (as it was) for `payout.*`, and the payment otherwise, as
/// the payments and payouts APIs show them.
pub(super) fn event_json<'a>(engine: &Engine, event: &'a EventView) -> EventJson<'a> {
    let change = &*event.change;
    let object = if let Some(payout) = &change.payout {
        serde_json::to_value(settlement::payout(payout)).ok()
    } else if event.event_type.starts_with("dispute.") {
        event
            .payment(engine)
            .and_then(|p| serde_json::to_value(DisputeJson::of(&p)?).ok())
    } else if event.event_type.starts_with("refund.") {
        event
            .refund(engine)
            .and_then(|r| serde_json::to_value(RefundJson::from(&r)).ok())
    } else {
        event
            .payment(engine)
            .and_then(|p| serde_json::to_value(PaymentJson::from(&p)).ok())
    }
    .unwrap_or_default();
    EventJson {
        id: event.id(engine.event_salt()).to_string(),
        object: "event",
        event_type: event.event_type,
        created: change.time_ms / 1000,
        data: DataJson { object },
        request: change.request.as_ref().map(|r| RequestJson {
            id: r.id(),
            idempotency_key: r.idempotency_key.as_deref(),
        }),
    }
}

/// An event's bytes: the same for the same event, however often it is sent
/// (every field comes from the recorded change, in a fixed order).
pub(super) fn render_event(engine: &Engine, event: &EventView) -> Bytes {
    to_json(&event_json(engine, event))
}

/// `GET /v1/events?type=&limit=&starting_after=&delivery_success=`, checked.
/// Any other parameter is refused, as unknown body fields are. The query asks
/// one event more than the page shows, so the answer knows whether more follow.
pub(super) fn list_query(
    engine: &Engine,
    merchant: MerchantId,
    query: Option<&str>,
) -> Result<EventQuery, ApiError> {
    let mut q = EventQuery::newest(EventDialect::Native, DEFAULT_LIMIT + 1);
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |text: &str| {
            percent_decode(&text.replace('+', " ")).ok_or_else(|| {
                ApiError::invalid(
                    "invalid_query",
                    "The query string has a malformed %-escape.",
                )
            })
        };
        let (key, value) = (decode(key)?, decode(value)?);
        match key.as_str() {
            "type" => {
                check_type_filter(&value, ALL_EVENT_TYPES, "type")?;
                q.types = vec![value];
            }
            "limit" => {
                let limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_EVENTS_PAGE).contains(n))
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "parameter_invalid",
                            format!("limit must be an integer from 1 to {MAX_EVENTS_PAGE}; got '{value}'."),
                        )
                        .with_param("limit")
                    })?;
                q.limit = limit + 1;
            }
            "starting_after" => {
                let event = find_event(engine, merchant, EventDialect::Native, &value).ok_or_else(
                    || {
                        ApiError::not_found("resource_missing", format!("No such event: '{value}'"))
                            .with_param("starting_after")
                    },
                )?;
                q.starting_after = Some(event.id(engine.event_salt()));
            }
            "delivery_success" => {
                q.undelivered_only = match value.as_str() {
                    "true" => false,
                    "false" => true,
                    _ => {
                        return Err(ApiError::invalid(
                            "parameter_invalid",
                            format!("delivery_success must be true or false; got '{value}'."),
                        )
                        .with_param("delivery_success"));
                    }
                };
            }
            _ => {
                return Err(ApiError::invalid(
                    "parameter_unknown",
                    format!("Unknown query parameter '{key}'; the events list takes type, limit, starting_after and delivery_success."),
                )
                .with_param(key));
            }
        }
    }
    Ok(q)
}

/// How many events a page shows: one fewer than the query asked for.
pub(super) fn page_size(query: &EventQuery) -> usize {
    query.limit.saturating_sub(1).max(1)
}
