//! Events as the dialects show them: an [`EventView`] is one event a dialect
//! makes of a recorded change, and [`list_events`] pages through a merchant's
//! events newest first with the filters both dialects offer. Its own file
//! because the events API, webhook delivery and both doors all read events the
//! same way, and none owns them.

use std::sync::Arc;

use crate::engine::ids::MerchantId;
use crate::engine::{Change, ChangeKind, Engine, EventDialect, EventId};

/// The most events one page holds (Stripe's ceiling).
pub const MAX_EVENTS_PAGE: usize = 100;

/// One event: the `index`th event `dialect` makes of `change`.
#[derive(Debug, Clone)]
pub struct EventView {
    pub change: Arc<Change>,
    pub dialect: EventDialect,
    pub index: u8,
    /// The event's type (`payment_intent.succeeded`, `payment.succeeded`...).
    pub event_type: &'static str,
    /// The event tells of the payment's creation, in a change that also authorized
    /// it: its object is the payment before the authorization.
    pub creation: bool,
}

impl EventView {
    pub fn id(&self, salt: u32) -> EventId {
        EventId {
            salt,
            seq: self.change.seq,
            dialect: self.dialect,
            index: self.index,
        }
    }

    /// Whether every delivery of this event has succeeded (true when it had none).
    pub fn delivered(&self) -> bool {
        self.change.delivered(self.dialect, self.index)
    }

    /// The events `dialect` makes of `change`, in the order they happened: those
    /// of the creation first, when the change also created the payment.
    pub fn of(change: &Arc<Change>, dialect: EventDialect) -> Vec<EventView> {
        let door = super::dialect_of(dialect);
        let creation: &[&'static str] = if change.created && change.kind != ChangeKind::Created {
            door.event_types(ChangeKind::Created)
        } else {
            &[]
        };
        let own = door.event_types(change.kind);
        creation
            .iter()
            .map(|t| (t, true))
            .chain(own.iter().map(|t| (t, false)))
            .enumerate()
            .map(|(index, (event_type, creation))| EventView {
                change: change.clone(),
                dialect,
                index: index as u8,
                event_type,
                creation,
            })
            .collect()
    }

    /// The payment as this event shows it: as it was at the change. `None` once
    /// it is gone (a reset between the change and the rendering).
    pub fn payment(&self, engine: &Engine) -> Option<crate::engine::Payment> {
        engine.payment_at(&self.change, self.creation)
    }

    /// The refund a refund event is about.
    pub fn refund(&self, engine: &Engine) -> Option<crate::engine::Refund> {
        engine.refund_at(&self.change)
    }
}

/// Which of a merchant's events to list, in one dialect.
#[derive(Debug, Clone)]
pub struct EventQuery {
    pub dialect: EventDialect,
    /// Types to keep (empty: all). A type ending in `.*` keeps a whole family.
    pub types: Vec<String>,
    /// Unix seconds, simulator time, inclusive.
    pub created_gte: Option<u64>,
    pub created_lte: Option<u64>,
    pub limit: usize,
    /// Only events older than this one (the last of the previous page).
    pub starting_after: Option<EventId>,
    /// Only events with a delivery still outstanding or failed (`delivery_success=false`).
    pub undelivered_only: bool,
}

impl EventQuery {
    pub fn newest(dialect: EventDialect, limit: usize) -> EventQuery {
        EventQuery {
            dialect,
            types: Vec::new(),
            created_gte: None,
            created_lte: None,
            limit,
            starting_after: None,
            undelivered_only: false,
        }
    }

    fn keeps(&self, event: &EventView) -> bool {
        let created = event.change.time_ms / 1000;
        (self.types.is_empty() || self.types.iter().any(|t| type_matches(t, event.event_type)))
            && self.created_gte.is_none_or(|gte| created >= gte)
            && self.created_lte.is_none_or(|lte| created <= lte)
            && (!self.undelivered_only || !event.delivered())
    }
}

/// `pattern` is a type, or a family (`payment_intent.*`), or `*`.
pub fn type_matches(pattern: &str, event_type: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some("") => true,
        Some(prefix) => event_type.starts_with(prefix),
        None => pattern == event_type,
    }
}

/// Whether `pattern` (a type, a family such as `payment_intent.*`, or `*`) names
/// at least one event `dialect` sends: what endpoint subscriptions are checked against.
pub fn is_known_event_type(dialect: EventDialect, pattern: &str) -> bool {
    let door = super::dialect_of(dialect);
    ChangeKind::ALL
        .iter()
        .flat_map(|kind| door.event_types(*kind))
        .any(|event_type| type_matches(pattern, event_type))
}

/// A page of the merchant's events, newest first. An event of a change holds
/// its place among the change's other events: the last one happened last.
///
/// At most `query.limit` events, and never more than one past the largest page:
/// the doors ask for one more than they show, to know whether more follow
/// (`has_more`) without a second walk.
pub fn list_events(engine: &Engine, merchant: MerchantId, query: &EventQuery) -> Vec<EventView> {
    let limit = query.limit.clamp(1, MAX_EVENTS_PAGE + 1);
    let mut page = Vec::new();
    let (before, skip_from) = match query.starting_after {
        // Events of the cursor's own change that are older than the cursor come first.
        Some(cursor) => (Some(cursor.seq + 1), Some(cursor)),
        None => (None, None),
    };
    engine.changes_newest_first(merchant, before, |change| {
        for event in EventView::of(change, query.dialect).into_iter().rev() {
            if let Some(cursor) = skip_from
                && change.seq == cursor.seq
                && event.index >= cursor.index
            {
                continue;
            }
            if query.keeps(&event) {
                page.push(event);
                if page.len() == limit {
                    return false;
                }
            }
        }
        true
    });
    page
}

/// The event `id` names, if it is this merchant's, of this engine, and `dialect`'s.
pub fn find_event(
    engine: &Engine,
    merchant: MerchantId,
    dialect: EventDialect,
    id: &str,
) -> Option<EventView> {
    let id = EventId::parse(id).filter(|id| id.dialect == dialect)?;
    let change = engine.change(merchant, &id)?;
    EventView::of(&change, dialect)
        .into_iter()
        .find(|e| e.index == id.index)
}

/// The dialect's renderer of an event body (used by webhook delivery, which
/// holds only the engine's dialect tag).
pub fn render_event(engine: &Engine, event: &EventView) -> bytes::Bytes {
    // Through `dialect_of` (in `mod.rs`), without naming the `Dialect` trait:
    // `door.rs` names this file's `EventView`, and modules never import each
    // other both ways (ARCHITECTURE.md).
    super::dialect_of(event.dialect).render_event(engine, event)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every type `dialect` sends, from the doors' tables.
    fn sent(dialect: EventDialect) -> BTreeSet<String> {
        let door = super::super::dialect_of(dialect);
        ChangeKind::ALL
            .iter()
            .flat_map(|kind| door.event_types(*kind))
            .map(|t| t.to_string())
            .collect()
    }

    /// The `type` enum of one of docs/openapi.json's event schemas.
    fn documented(schema: &str) -> BTreeSet<String> {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../../../docs/openapi.json")).unwrap();
        doc["components"]["schemas"][schema]["properties"]["type"]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{schema} documents its types as an enum"))
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect()
    }

    /// `GET /v1/events/{id}` answers either dialect's event (the id says which), so
    /// the document lists both dialects' types; schemathesis fails any event whose
    /// type it does not list, and this names the missing one before it runs.
    #[test]
    fn the_document_lists_exactly_the_event_types_each_dialect_sends() {
        assert_eq!(documented("Event"), sent(EventDialect::Native));
        assert_eq!(documented("StripeEvent"), sent(EventDialect::Stripe));
    }
}
