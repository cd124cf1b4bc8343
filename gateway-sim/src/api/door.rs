//! What a front door is: it owns some paths and builds a [`Call`] from a
//! request on them ([`FrontDoor`]), and it answers in its own [`Dialect`].
//! Its own file so the doors depend on it, not on the route table that lists
//! them.

use bytes::Bytes;

use super::{ApiError, Call, EventView, Incoming, Outcome, Reply};
use crate::engine::idempotency::StoredResponse;
use crate::engine::{ChangeKind, Engine};

/// How a front door renders outcomes; one engine, several dialects.
pub trait Dialect: Send + Sync + 'static {
    fn render(&self, engine: &Engine, outcome: &Outcome) -> Reply;

    /// Renders the outcome of `call`. The server calls this; dialects whose answer
    /// depends on how the request asked (which object, expansions, page size, all
    /// in [`Call::presentation`]) override it.
    fn render_call(&self, engine: &Engine, call: &Call, outcome: &Outcome) -> Reply {
        let _ = call;
        self.render(engine, outcome)
    }

    /// Errors raised around the operation (idempotency conflicts, injected
    /// faults, rate limits), in this dialect's shape.
    fn render_error(&self, error: &ApiError) -> Reply {
        error.clone().into_reply()
    }

    /// The answer stored under an idempotency key, replayed: the same status and bytes. A
    /// dialect that sends advice headers with its answers adds them here too, as the stored
    /// form keeps only status and body.
    fn replay(&self, stored: &StoredResponse) -> Reply {
        Reply::replay(stored)
    }

    /// The events this dialect makes of a change, in the order they happen;
    /// empty when it tells merchants nothing of it. One table per dialect, so a
    /// new event type is one line there.
    fn event_types(&self, kind: ChangeKind) -> &'static [&'static str];

    /// An event as this dialect's JSON: what the events API shows and what a
    /// webhook endpoint of this dialect receives, byte for byte.
    fn render_event(&self, engine: &Engine, event: &EventView) -> Bytes;
}

/// A front door: the paths it owns, and the dialect its answers are in. Every
/// door answers routing the same way, so the server treats them alike.
pub(crate) trait FrontDoor: Dialect {
    /// The call a request on one of this door's paths makes; `None` when the
    /// path is not this door's. An error (unknown route, bad input, no API key)
    /// is rendered by this door's [`Dialect::render_error`].
    fn route(&self, engine: &Engine, req: &Incoming<'_>) -> Option<Result<Call, ApiError>>;
}
