//! The Stripe dialect's events: which it makes of each change (the table), and
//! how one is shown (`GET /v1/events` and webhook bodies).

use bytes::Bytes;

use crate::api::EventView;
use crate::engine::{ChangeKind, Engine};

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
    }
}

/// Every Stripe event type this dialect sends, for validating `enabled_events`.
pub(super) const ALL_EVENT_TYPES: &[&str] = &[
    "payment_intent.created",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "payment_intent.amount_capturable_updated",
    "charge.succeeded",
    "charge.failed",
    "charge.captured",
    "charge.refunded",
    "refund.created",
];

pub(super) fn render_event(engine: &Engine, event: &EventView) -> Bytes {
    let id = event.id(engine.event_salt());
    Bytes::from(
        serde_json::json!({
            "id": id.to_string(),
            "object": "event",
            "type": event.event_type,
            "created": event.change.time_ms / 1000,
        })
        .to_string(),
    )
}
