//! The fault model: what the simulator does to each request, as pure, deterministic functions.
//!
//! The server calls [`Behaviour::fate`] once per request and applies the answer (sleeps the
//! latency outside every lock, declines, answers 500/503, resets, hangs, or processes and then
//! loses the answer). A fate does no I/O, never sleeps and reads no clock: time comes in as
//! `since_start` (simulator time), and every random draw derives from (seed, merchant,
//! endpoint, identity, seen_before), so a run replays identically whatever the arrival order.
//!
//! Two parts live beside the pure core and are not pure, on purpose: `scenario_file.rs` reads a
//! scenario file from disk (the only file I/O here), and [`rate_limit`] counts requests against
//! the wall clock (a real rate limit is about real seconds, not simulator time).
//!
//! - [`config`]: the `[gateway]` table ([`BehaviourConfig`]) as serde types; `validate.rs` its
//!   semantic rules; `scenario_file.rs` reads it from a scenario file (and names it by the file,
//!   [`ScenarioBehaviour`], for switching among several). `distribution.rs`: the
//!   latency distribution as written ([`LatencyConfig`]), a leaf both the table and the webhooks
//!   hold.
//! - [`fate`]: [`Behaviour`] (compiled config) and the [`Fate`] of one request.
//! - `endpoint.rs` and `fault.rs`: the vocabulary the config names and the fate draws
//!   ([`Endpoint`], [`FaultKind`], [`Fault`]); leaves, so config and fate import neither each other.
//! - `latency.rs`: distributions sampled by inverse CDF, with their true quantiles.
//! - [`declines`]: decline codes and Stripe's test cards.
//! - [`seen`] and [`rate_limit`]: the two pieces of state the server owns (retry counting and
//!   per-merchant rate limiting).
//! - [`duration`]: "80ms"-style durations, the one grammar of every scenario file.
//! - `settlement.rs`: the `[gateway.settlement]` table ([`SettlementConfig`]): fees, delays,
//!   the payout schedule and the processor's mistakes on purpose (its rules in `validate.rs`).
//! - `webhooks.rs`: the `[gateway.webhooks]` table ([`WebhooksConfig`]) and the pure decisions
//!   the webhook dispatcher asks of it: a delivery's [`DeliveryFate`], the retry schedule,
//!   outage windows, the default signing secret.

pub mod config;
pub mod declines;
mod distribution;
pub mod duration;
mod endpoint;
pub mod fate;
mod fault;
mod latency;
pub mod rate_limit;
mod rng;
mod scenario_file;
pub mod seen;
mod settlement;
mod validate;
mod webhooks;

pub use config::{
    AmountRule, AuthorizationsConfig, BehaviourConfig, CapacityConfig, ConfigError,
    DEFAULT_AUTHORIZATION_VALIDITY, DeclinesConfig, DisputesConfig, EndpointConfig,
    EndpointsConfig, FaultsConfig, RateLimitConfig, ScheduleWindow, SequenceRule, ThreeDsConfig,
};
pub use declines::{DeclineCode, DisputeCard, is_known_payment_method};
pub use distribution::{DistributionKind, LatencyConfig};
pub use duration::parse_duration;
pub use endpoint::Endpoint;
pub use fate::{Behaviour, ChargeFacts, Fate, RequestFacts};
pub use fault::{Fault, FaultKind};
pub use rate_limit::MerchantRateLimiter;
pub use scenario_file::{
    ScenarioBehaviour, load_scenario_gateway, parse_scenario_gateway, scenario_name,
};
pub use seen::SeenCounter;
pub use settlement::{DiscrepanciesConfig, FeeConfig, SettlementConfig};
pub(crate) use validate::{check_webhook_secret, check_webhook_url};
pub use webhooks::{
    DeliveryFate, Duplicate, OutageWindow, RetryConfig, WebhookDialect, WebhookEndpointConfig,
    WebhookFaultsConfig, WebhooksConfig, default_webhook_secret,
};

#[cfg(test)]
mod tests;
