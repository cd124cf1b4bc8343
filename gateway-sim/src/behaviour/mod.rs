//! The fault model: what the simulator does to each request, as pure, deterministic functions.
//!
//! The server calls [`Behaviour::fate`] once per request and applies the answer (sleeps the
//! latency outside every lock, declines, answers 500/503, resets, hangs, or processes and then
//! loses the answer). Nothing here does I/O, sleeps or reads a clock: time comes in as
//! `since_start`, and every random draw derives from (seed, merchant, endpoint, identity,
//! seen_before), so a run replays identically whatever the arrival order.
//!
//! - [`config`]: the `[gateway]` table of a scenario file ([`BehaviourConfig`]), its validation
//!   and the scenario readers.
//! - [`fate`]: [`Behaviour`] (compiled config) and the [`Fate`] of one request.
//! - `latency`: distributions sampled by inverse CDF, with their true quantiles.
//! - [`declines`]: decline codes and Stripe's test cards.
//! - [`seen`] and [`rate_limit`]: the two pieces of state the server owns (retry counting and
//!   per-merchant rate limiting), still free of I/O.
//! - [`duration`]: "80ms"-style durations.

pub mod config;
pub mod declines;
pub mod duration;
pub mod fate;
mod latency;
pub mod rate_limit;
mod rng;
pub mod seen;

pub use config::{
    AmountRule, BehaviourConfig, ConfigError, DEFAULT_LOST_DELAY, DeclinesConfig, DistributionKind,
    EndpointConfig, EndpointsConfig, FaultsConfig, LatencyConfig, RateLimitConfig, ScheduleWindow,
    SequenceRule, load_scenario_gateway, parse_scenario_gateway,
};
pub use declines::{DeclineCode, KNOWN_DECLINE_CODES, is_known_payment_method, test_card_decline};
pub use duration::{format_duration, parse_duration};
pub use fate::{Behaviour, ChargeFacts, Endpoint, Fate, Fault, FaultKind, RequestFacts};
pub use latency::MAX_INJECTED_LATENCY;
pub use rate_limit::MerchantRateLimiter;
pub use seen::SeenCounter;

#[cfg(test)]
mod tests;
