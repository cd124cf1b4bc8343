//! `/v1/events` and the Stripe dialect's events: which it makes of each change
//! (the table), how one is shown (the events API and webhook bodies alike),
//! and the list and retrieve routes. One file because the table, the JSON and
//! the routes change together when an event type is added.
//!
//! An event shows its object as it was at the change (`change.payment`,
//! `change.refund`), never as it is now: a `payment_intent.succeeded` read
//! after a refund still shows `amount_refunded: 0` on its charge, as Stripe's
//! snapshots do.

use bytes::Bytes;
use http::Method;
use serde_json::{Value, json};

use super::checkout_sessions;
use super::objects;
use super::pages::{PageCursor, list_json};
use super::params::Params;
use super::payouts;
use super::presentation::{Expand, Presentation, shown};
use super::resource::{ReadRoute, Request, Resource};
use crate::api::request::path_segment;
use crate::api::webhook_endpoints::check_type_filter;
use crate::api::{ApiError, Call, EventQuery, EventView, Operation, Outcome, Reply, find_event};
use crate::engine::{ChangeKind, Engine, EventDialect};

/// The API version events claim: the version whose object shapes the
/// simulator's Stripe objects follow.
pub(super) const API_VERSION: &str = "2024-06-20";

/// The most types one `types[]` filter may list (Stripe's limit).
const MAX_TYPES_FILTER: usize = 20;

/// Stripe's events of each change, in the order Stripe sends them. A new event
/// type is one line here.
pub(super) fn event_types(kind: ChangeKind) -> &'static [&'static str] {
    match kind {
        ChangeKind::Created => &["payment_intent.created"],
        ChangeKind::Authorized => &[
            "charge.succeeded",
            "payment_intent.amount_capturable_updated",
        ],
        ChangeKind::Succeeded => &["charge.succeeded", "payment_intent.succeeded"],
        ChangeKind::Captured => &["charge.captured", "payment_intent.succeeded"],
        ChangeKind::Failed => &["charge.failed", "payment_intent.payment_failed"],
        ChangeKind::Canceled => &["payment_intent.canceled"],
        ChangeKind::Refunded => &["charge.refunded", "refund.created"],
        ChangeKind::RequiresAction => &["payment_intent.requires_action"],
        ChangeKind::Expired => &["charge.expired", "payment_intent.canceled"],
        ChangeKind::CheckoutCompleted => &["checkout.session.completed"],
        ChangeKind::CheckoutExpired => &["checkout.session.expired"],
        ChangeKind::DisputeCreated => &["charge.dispute.created"],
        ChangeKind::DisputeUpdated => &["charge.dispute.updated"],
        ChangeKind::DisputeClosed => &["charge.dispute.closed"],
        ChangeKind::DisputeFundsReinstated => &["charge.dispute.funds_reinstated"],
        ChangeKind::PayoutCreated => &["payout.created"],
        ChangeKind::PayoutPaid => &["payout.paid"],
        ChangeKind::PayoutFailed => &["payout.failed"],
    }
}

/// Every Stripe event type this dialect sends, for validating `enabled_events`.
pub(super) const ALL_EVENT_TYPES: &[&str] = &[
    "payment_intent.created",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "payment_intent.amount_capturable_updated",
    "payment_intent.requires_action",
    "charge.succeeded",
    "charge.failed",
    "charge.captured",
    "charge.refunded",
    "charge.expired",
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "charge.dispute.funds_reinstated",
    "refund.created",
    "checkout.session.completed",
    "checkout.session.expired",
    "payout.created",
    "payout.paid",
    "payout.failed",
];

/// An event as Stripe's JSON: what the events API shows and what a webhook
/// endpoint receives. Deterministic for one event (in the same delivery
/// state): serde_json's maps keep their keys sorted, and every field comes
/// from the recorded change, none from the engine's current records.
pub(super) fn render_event(engine: &Engine, event: &EventView) -> Bytes {
    Bytes::from(event_json(engine, event).to_string())
}

fn event_json(engine: &Engine, event: &EventView) -> Value {
    let change = &event.change;
    let request = match &change.request {
        Some(r) => json!({"id": r.id(), "idempotency_key": r.idempotency_key.as_deref()}),
        None => json!({"id": null, "idempotency_key": null}),
    };
    json!({
        "id": event.id(engine.event_salt()).to_string(),
        "object": "event",
        "api_version": API_VERSION,
        "created": change.time_ms / 1000,
        "data": {"object": event_object(engine, event)},
        "livemode": false,
        "pending_webhooks": if event.delivered() { 0 } else { 1 },
        "request": request,
        "type": event.event_type,
    })
}

/// The object an event is about, by the family its type names, as it was at
/// the change: `charge.dispute.*` the dispute, `charge.*` the charge
/// (`charge.refunded` lists the refunds so far), `refund.*` the refund the
/// change made, `payout.*` the payout as it was, others the PaymentIntent.
fn event_object(engine: &Engine, event: &EventView) -> Value {
    let family = event.event_type.split('.').next().unwrap_or_default();
    if let Some(session) = &event.change.checkout {
        return checkout_sessions::session_json(&engine.public_url(), session);
    }
    if let Some(payout) = &event.change.payout {
        return payouts::payout_json(payout);
    }
    if family == "refund" {
        return event.refund(engine).map_or(Value::Null, |refund| {
            objects::refund(&refund, None, Expand::NONE)
        });
    }
    let Some(payment) = event.payment(engine) else {
        return Value::Null;
    };
    if event.event_type.starts_with("charge.dispute.") {
        return super::disputes::dispute(&payment, event.change.time_ms / 1000)
            .unwrap_or(Value::Null);
    }
    match family {
        "charge" => objects::charge(&payment, Expand::NONE),
        _ => objects::payment_intent(&payment, Expand::NONE),
    }
}

/// `/v1/events`: list and retrieve. The native door declines this path for
/// Stripe's clients (see `native/mod.rs`), so it reaches this door.
pub(super) struct Events;

impl Resource for Events {
    type Route<'a> = ReadRoute<'a>;

    fn route<'a>(method: &Method, path: &[&'a str]) -> Option<ReadRoute<'a>> {
        ReadRoute::of(method, path)
    }

    fn operation(
        route: ReadRoute<'_>,
        request: &Request<'_>,
    ) -> Result<(Operation, Presentation), ApiError> {
        match route {
            ReadRoute::List => list(request),
            ReadRoute::Retrieve(id) => retrieve(id, &request.params),
        }
    }
}

fn retrieve(id: &str, params: &Params) -> Result<(Operation, Presentation), ApiError> {
    params.only(&["expand"], false)?;
    params.expand(Expand::NONE)?;
    let id = path_segment(id)?;
    let presentation = Presentation::object(show, "event", Expand::NONE, Some(&id), "id");
    let operation = Operation::RetrieveEvent {
        id,
        dialect: EventDialect::Stripe,
    };
    Ok((operation, presentation))
}

/// `GET /v1/events`: the merchant's events newest first, filtered by type,
/// time and delivery state.
fn list(request: &Request<'_>) -> Result<(Operation, Presentation), ApiError> {
    let params = &request.params;
    params.only(
        &[
            "type",
            "types",
            "created",
            "delivery_success",
            "limit",
            "starting_after",
            "expand",
        ],
        false,
    )?;
    params.expand(Expand::NONE)?;
    let page = params.page()?;
    let types = type_filter(params)?;
    let (created_gte, created_lte) = params.time_range("created")?;
    // Without a delivery outstanding every event counts as delivered, so
    // `delivery_success=true` keeps them all.
    let undelivered_only = params.boolean("delivery_success")? == Some(false);
    let starting_after = match &page.cursor {
        PageCursor::After(cursor) => {
            let found = find_event(
                request.engine,
                request.merchant,
                EventDialect::Stripe,
                cursor,
            )
            .ok_or_else(|| no_such_cursor(cursor))?;
            Some(found.id(request.engine.event_salt()))
        }
        _ => None,
    };
    let query = EventQuery {
        dialect: EventDialect::Stripe,
        types,
        created_gte,
        created_lte,
        // One more than shown: whether more follow.
        limit: page.limit + 1,
        starting_after,
        undelivered_only,
    };
    let presentation = Presentation::list(show_page, "event", Expand::NONE, page, "/v1/events");
    Ok((Operation::ListEvents(query), presentation))
}

/// `type` (one type or family) or `types[]` (several exact types), not both.
fn type_filter(params: &Params) -> Result<Vec<String>, ApiError> {
    match (params.string("type")?, params.list("types")?) {
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "parameters_exclusive",
            "Pass type or types, not both.",
        )
        .with_param("types")),
        (Some(t), None) => {
            check_type_filter(t, ALL_EVENT_TYPES, "type")?;
            Ok(vec![t.to_string()])
        }
        (None, Some(types)) => {
            if types.is_empty() || types.len() > MAX_TYPES_FILTER {
                return Err(ApiError::invalid(
                    "parameter_invalid_array",
                    format!("types must list 1 to {MAX_TYPES_FILTER} event types."),
                )
                .with_param("types"));
            }
            // `types[]` takes exact types only, as on Stripe.
            if let Some(unknown) = types.iter().find(|t| !ALL_EVENT_TYPES.contains(t)) {
                return Err(ApiError::invalid(
                    "parameter_invalid_string",
                    format!(
                        "Unknown event type '{unknown}' in types. Known types: {}.",
                        ALL_EVENT_TYPES.join(", ")
                    ),
                )
                .with_param("types"));
            }
            Ok(types.into_iter().map(str::to_string).collect())
        }
        (None, None) => Ok(Vec::new()),
    }
}

/// 404 for a `starting_after` that names none of this merchant's Stripe events.
fn no_such_cursor(cursor: &str) -> ApiError {
    ApiError::not_found("resource_missing", format!("No such event: '{cursor}'"))
        .with_param("starting_after")
}

/// One event.
fn show(
    engine: &Engine,
    _call: Option<&Call>,
    _presentation: &Presentation,
    outcome: &Outcome,
) -> Option<Reply> {
    let Outcome::Event(event) = outcome else {
        return None;
    };
    // Through the shared renderer, as webhook delivery renders it: the events
    // API and a webhook body are the same bytes.
    Some(Reply::ok(crate::api::render_event(engine, event)))
}

/// A page of events, newest first.
fn show_page(
    engine: &Engine,
    _call: Option<&Call>,
    presentation: &Presentation,
    outcome: &Outcome,
) -> Option<Reply> {
    let Outcome::Events(events) = outcome else {
        return None;
    };
    let (items, has_more) = presentation.page().trim(events.iter().collect());
    let data = items.into_iter().map(|e| event_json(engine, e)).collect();
    Some(shown(list_json(presentation.url, data, has_more)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every type a change makes is one an endpoint may ask for.
    #[test]
    fn the_table_and_the_list_of_types_agree() {
        let made: Vec<&str> = ChangeKind::ALL
            .iter()
            .flat_map(|k| event_types(*k))
            .copied()
            .collect();
        for t in ALL_EVENT_TYPES {
            assert!(made.contains(t), "{t} is never made");
        }
        for t in made {
            assert!(ALL_EVENT_TYPES.contains(&t), "{t} is not listed");
        }
    }
}
