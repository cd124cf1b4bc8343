//! Front doors: translate HTTP requests into engine operations and engine
//! results into HTTP answers. Adapters only: no state, no rules of their own.
//!
//! A front door (the native JSON API in [`native`], the Stripe-compatible API in
//! `stripe`) turns a request into a [`Call`]: who is calling, which operation,
//! and what identifies the request for idempotency and for the fault model. The
//! server applies the request's fate around [`Call::execute`], which runs the
//! operation on the engine, and the front door's [`Dialect`] renders the result.
//!
//! This file only says which door owns a path ([`route`]); it names no door's
//! own types, so a new dialect is a new folder and one line in `DOORS`. The
//! rest, one concern a file:
//! - `door.rs`: what a door is: `FrontDoor` (paths → calls) and [`Dialect`]
//!   (outcomes → answers).
//! - `request.rs`: [`Incoming`] and the readers every door shares (API key,
//!   idempotency key, content type, %-escapes), so headers are read one way.
//! - `call.rs`: [`Call`], the routed request, and how it runs on the engine.
//! - `operation.rs`: [`Operation`] and [`Outcome`], what doors ask the engine
//!   and what it did.
//! - `reply.rs`: [`Reply`], an answer before hyper, and its stored (replayable) form.
//! - `error.rs`: [`ApiError`], the error every door raises, in the native shape.
//! - `compact.rs`: stored answers, compacted and replayed byte for byte.
//! - `events.rs`: events as dialects show them ([`EventView`]), listed and found
//!   the same way by both doors and by webhook delivery.
//! - `settlement.rs`: the reads of the balance, its transactions and payouts both doors
//!   ask ([`SettlementRead`]) and the books' answers ([`SettlementView`]).
//! - `return_url.rs`: the rule both doors apply to a confirmation's `return_url`.
//! - `webhook_endpoints.rs`: what both doors accept as a webhook endpoint (URL,
//!   event types, description), so the rules cannot drift between them.
//! - `native/`, `stripe/`: the two doors. Neither knows the other.

mod call;
mod compact;
mod door;
mod error;
mod events;
pub mod native;
mod operation;
mod reply;
mod request;
mod return_url;
mod settlement;
mod stripe;
mod webhook_endpoints;

use crate::engine::{Engine, EventDialect};
pub use call::Call;
pub use door::Dialect;
pub(crate) use door::FrontDoor;
pub use error::ApiError;
pub use events::{
    EventQuery, EventView, MAX_EVENTS_PAGE, find_event, is_known_event_type, list_events,
    render_event, type_matches,
};
pub use operation::{CheckoutOperation, Operation, Outcome};
pub use reply::Reply;
pub(crate) use request::path_segment;
pub use request::{Incoming, bearer_api_key, query_param};
pub use return_url::check_return_url;
pub use settlement::{SettlementRead, SettlementView};
pub(crate) use stripe::checkout_session_json;

/// The doors, asked in order. The native API comes first: its paths are the
/// hot ones, and no Stripe path starts like them.
static DOORS: [&dyn FrontDoor; 2] = [&native::Native, &stripe::Stripe];

/// The dialect an event or a webhook endpoint speaks.
pub fn dialect_of(dialect: EventDialect) -> &'static dyn Dialect {
    match dialect {
        EventDialect::Native => &native::Native,
        EventDialect::Stripe => &stripe::Stripe,
    }
}

/// Finds the front door that owns the request's path and lets it build the call.
/// `Err` is a complete answer (unknown route, bad input), already in the
/// dialect's shape.
pub fn route(engine: &Engine, req: &Incoming<'_>) -> Result<(Call, &'static dyn Dialect), Reply> {
    for door in DOORS {
        if let Some(routed) = door.route(engine, req) {
            return match routed {
                Ok(call) => Ok((call, door)),
                Err(e) => Err(door.render_error(&e)),
            };
        }
    }
    Err(ApiError::unknown_route(req.method, req.path).into_reply())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The Rust files of `src/api/<dir>` (not nested further).
    fn sources(dir: &str) -> Vec<(String, String)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/api")
            .join(dir);
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("the api sources") {
            let path = entry.expect("a directory entry").path();
            if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("a source file");
                files.push((path.display().to_string(), text));
            }
        }
        files
    }

    /// The shared layer names no door, and no door names the other: a new
    /// dialect is added without editing either. (This file lists the doors.)
    #[test]
    fn the_shared_layer_and_each_door_stand_alone() {
        for (file, text) in sources("") {
            if !file.ends_with("/mod.rs") {
                assert!(
                    !text.contains("stripe::") && !text.contains("native::"),
                    "{file} names a door"
                );
            }
        }
        for (file, text) in sources("native") {
            assert!(!text.contains("stripe::"), "{file} names the Stripe door");
        }
        for (file, text) in sources("stripe") {
            assert!(!text.contains("native::"), "{file} names the native door");
        }
    }
}
