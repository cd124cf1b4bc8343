//! The client side of a run: what each user does with each order, and the only
//! place that knows goose.
//!
//! A user loops: claim order `n` from the shared [`Schedule`](crate::pacing::Schedule),
//! sleep until it is due, build its plan (amount, merchant, flow: all drawn from the seed
//! and `n`, so a run is reproducible), play the flow's HTTP requests through a
//! transport, record every request's latency and push one
//! [`OrderOutcome`](crate::outcomes::OrderOutcome).
//!
//! One file per concern, in the order a request meets them:
//!
//! - `order_ids.rs`: order ids, seeded draws, order plans, merchant keys. Apart because
//!   the order id is the gateway `reference` the money check finds an order's money by:
//!   it is made in one place, unique per run, worker and capacity step.
//! - `transport.rs`: the request, the answer, the failure, and the `Transport` trait.
//!   Apart because it is the seam: flows speak to it, never to goose, so they are tested
//!   with scripted answers (`scripted.rs`, tests only).
//! - `native_answer.rs`: how an answer of gateway-sim's native API is read (`Brief`,
//!   `PaymentReply`). Apart from `native.rs` because the session reads every answer this way,
//!   and `native.rs` builds on the session.
//! - `session.rs`: one order being played: attempts and timings recorded as requests go
//!   out, closed into a `FlowRun`.
//! - `native.rs` and `service.rs`: the flows themselves, against the native API and
//!   against a merchant's own service (`--service`); `three_ds.rs` and `checkout.rs` the
//!   two flows with a buyer in them (a 3-D Secure challenge answered or abandoned, a Stripe
//!   Checkout session paid on its page), apart because they speak to the buyer's pages.
//! - `error_kind.rs`: what kind of failure a failed request was (timeout, connection, 5xx,
//!   429, 4xx, an answer the client could not take). Apart because the session tags requests
//!   with it and the live metrics count by it.
//! - `driver.rs`: what a run's users share ([`Driver`]) and one user's loop over orders.
//! - `goose_adapter.rs`: the goose transport, goose's configuration and [`run_attack`].
//!   Apart so that one file knows goose, which a test checks.
//!
//! Only what the rest of loadgen uses is exported below.

mod checkout;
mod driver;
mod error_kind;
mod goose_adapter;
mod native;
mod native_answer;
mod order_ids;
#[cfg(test)]
mod scripted;
mod service;
mod session;
mod three_ds;
mod transport;

pub use driver::{Driver, FlowMode};
pub use error_kind::ErrorKind;
pub use goose_adapter::{AttackError, AttackOptions, run_attack};
pub use order_ids::OrderIds;
