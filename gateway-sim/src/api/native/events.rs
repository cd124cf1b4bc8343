//! The native dialect's events: which it makes of each change (the table), and
//! how one is shown (the events API and webhook bodies).

use bytes::Bytes;

use crate::api::EventView;
use crate::engine::{ChangeKind, Engine};

/// The native events of each change, in the order they happen. A new event type
/// is one line here.
pub(super) fn event_types(kind: ChangeKind) -> &'static [&'static str] {
    match kind {
        ChangeKind::Created => &[],
        ChangeKind::Authorized => &["payment.authorized"],
        ChangeKind::Succeeded | ChangeKind::Captured => &["payment.succeeded"],
        ChangeKind::Failed => &["payment.failed"],
        ChangeKind::Canceled => &["payment.canceled"],
        ChangeKind::Refunded => &["refund.succeeded"],
    }
}

/// Every native event type, for validating what an endpoint asks for.
pub(super) const ALL_EVENT_TYPES: &[&str] = &[
    "payment.authorized",
    "payment.succeeded",
    "payment.failed",
    "payment.canceled",
    "refund.succeeded",
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
