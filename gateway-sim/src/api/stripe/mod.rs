//! The Stripe-compatible front door: `/v1/payment_intents`, `/v1/charges`,
//! `/v1/refunds`, `/v1/payment_methods`, `/v1/events`, `/v1/webhook_endpoints`
//! and `/v1/disputes`, spoken the way Stripe's official SDKs speak them, so
//! a service built on an SDK runs against the simulator unchanged. (`/v1/events`
//! is also a native path: the native door, asked first, leaves it to this one
//! for Stripe clients: Basic auth, `Stripe-Version`, `sk_`/`rk_` keys.)
//!
//! An adapter over the same engine as the native API, with no state of its own: a
//! PaymentIntent `pi_X` is the engine's payment `pay_X` (same digits), its charge is
//! `ch_X`, refunds are `re_...` in both dialects. Idempotency keys, the ledger and the
//! fault model are the engine's and the server's. This module only parses
//! form-encoded (or JSON) parameters into engine operations, and renders engine
//! outcomes as Stripe objects and Stripe-shaped errors.
//!
//! Follow a request down the files:
//! - `routing.rs`: the route table (collection → resource) and the steps every
//!   request takes first: route, API key (`auth.rs`), idempotency key,
//!   parameters (`params.rs`, the form/JSON parser and typed readers).
//! - `resource.rs`: the contract a resource file fulfils.
//! - `payment_intents.rs`, `charges.rs`, `refunds.rs`, `payment_methods.rs`:
//!   one file per resource: its routes, the operation each asks, how its
//!   outcomes are shown. A new resource is a new file and a line in `routing.rs`.
//! - `events.rs`: `/v1/events`, the Stripe event table (which events each
//!   change makes) and an event's JSON, the same for the API and webhooks.
//! - `disputes.rs`: `/v1/disputes` (a path both doors claim, as `/v1/events`):
//!   list, retrieve, evidence, close, and the dispute object events carry.
//! - `webhook_endpoints.rs`: `/v1/webhook_endpoints`, registered endpoints as
//!   Stripe objects (the secret only in the create answer).
//! - `presentation.rs`: what the request asked to see (object, expansions,
//!   page), carried in the call; `pages.rs`: cursors and list objects;
//!   `params.rs` also reads arrays (`types[]`) and time ranges (`created[gte]`).
//! - `render.rs`: an outcome to an answer: successes through the resource's
//!   show function, declines and refusals in Stripe's words.
//! - `objects.rs`: PaymentIntents, charges and refunds as JSON (together
//!   because they embed one another); `payment_methods.rs` also holds the
//!   test payment-method catalogue they embed.
//! - `checkout_sessions.rs`: `/v1/checkout/sessions` (Stripe Checkout) and a
//!   session's JSON, which the hosted page's script answers also show.
//! - `balance.rs`, `balance_transactions.rs`, `payouts.rs`: settlement as Stripe shows
//!   it (`/v1/balance`, `/v1/balance_transactions`, `/v1/payouts`), read-only, from the
//!   books the engine derives from the ledger.
//! - `ids.rs`: Stripe ids over engine ids; `errors.rs`: Stripe's error shape.

mod auth;
mod balance;
mod balance_transactions;
mod charges;
mod checkout_sessions;
mod disputes;
mod errors;
mod events;
mod ids;
mod objects;
mod pages;
mod params;
mod payment_intents;
mod payment_methods;
mod payouts;
mod presentation;
mod refunds;
mod render;
mod resource;
mod routing;
mod webhook_endpoints;

use bytes::Bytes;

use super::{ApiError, Call, Dialect, EventView, FrontDoor, Incoming, Outcome, Reply};
use crate::engine::idempotency::StoredResponse;
use crate::engine::{ChangeKind, Engine};
use presentation::Presentation;

pub(crate) use checkout_sessions::session_json as checkout_session_json;

/// The Stripe dialect's front door and renderer.
pub struct Stripe;

impl FrontDoor for Stripe {
    fn route(&self, engine: &Engine, req: &Incoming<'_>) -> Option<Result<Call, ApiError>> {
        routing::route(engine, req)
    }
}

impl Dialect for Stripe {
    fn render(&self, engine: &Engine, outcome: &Outcome) -> Reply {
        render::render(engine, None, &render::by_kind(outcome), outcome)
    }

    fn render_call(&self, engine: &Engine, call: &Call, outcome: &Outcome) -> Reply {
        let presentation = call.presentation.as_deref();
        match presentation.and_then(|p| p.downcast_ref::<Presentation>()) {
            Some(presentation) => render::render(engine, Some(call), presentation, outcome),
            None => self.render(engine, outcome),
        }
    }

    fn render_error(&self, error: &ApiError) -> Reply {
        errors::error_reply(error)
    }

    fn replay(&self, stored: &StoredResponse) -> Reply {
        let mut reply = Reply::replay(stored);
        // Stored answers are successes and declines: no code needed to advise on them.
        reply.should_retry = errors::should_retry(reply.status, "");
        reply
    }

    fn event_types(&self, kind: ChangeKind) -> &'static [&'static str] {
        events::event_types(kind)
    }

    fn render_event(&self, engine: &Engine, event: &EventView) -> Bytes {
        events::render_event(engine, event)
    }
}
