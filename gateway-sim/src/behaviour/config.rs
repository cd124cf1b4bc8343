//! The `[gateway]` table of a scenario file: what the simulator should do to each request.
//!
//! These types are the serde shape of the table (TOML in scenario files, JSON on
//! `GET`/`PUT /_sim/config`), with unknown keys rejected at every level so a typo fails loudly
//! instead of silently testing nothing. `validate` adds the semantic rules (probabilities in
//! [0, 1], p99 >= p50, windows that end after they start...), each error naming the field's full
//! path such as `gateway.endpoints.capture.faults.http_503`. Every key is documented for users
//! in scenarios/README.md; keep the two in step.

use super::distribution::LatencyConfig;
use super::endpoint::Endpoint;
use super::fault::FaultKind;
use super::settlement::SettlementConfig;
use super::webhooks::WebhooksConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a `lost_after_delay` fault holds the answer when the scenario does not say.
pub const DEFAULT_LOST_DELAY: Duration = Duration::from_secs(10);

/// How long a `slow_body` fault takes to deliver a body when the scenario does not say: longer
/// than a fast client's total timeout, shorter than a typical read timeout.
pub const DEFAULT_SLOW_BODY_DURATION: Duration = Duration::from_secs(2);

/// A configuration the simulator cannot run, and where it is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ConfigError {
    /// Dotted path of the offending field, e.g. `gateway.faults.http_503` or
    /// `gateway.schedule[0].until`; `scenario` for a file that cannot be read or is not TOML.
    pub field: String,
    /// What is wrong, and what would be accepted.
    pub message: String,
}

impl ConfigError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The whole behaviour of the simulator: the `[gateway]` table. `Default` is the happy path: no
/// latency, no faults, no rate limit; only the test cards decline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BehaviourConfig {
    /// Seed for every random draw; the simulator's own `--seed` is used when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Delay added before answering, for every endpoint without its own. Absent: no delay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyConfig>,
    /// Declines of payment creations (on top of the test cards, which always decline).
    #[serde(skip_serializing_if = "DeclinesConfig::is_empty")]
    pub declines: DeclinesConfig,
    /// Fault probabilities, for every endpoint without its own.
    #[serde(skip_serializing_if = "FaultsConfig::is_empty")]
    pub faults: FaultsConfig,
    /// Per-merchant request rate limit. Absent: unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitConfig>,
    /// Per-endpoint replacements of `latency` and `faults`.
    #[serde(skip_serializing_if = "EndpointsConfig::is_empty")]
    pub endpoints: EndpointsConfig,
    /// Time windows that override the behaviour (outages, brownouts). The first matching wins.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub schedule: Vec<ScheduleWindow>,
    /// "The first N attempts of each request fail with F" rules. The first matching wins.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sequences: Vec<SequenceRule>,
    /// Webhook endpoints, retries and delivery faults (`[gateway.webhooks]`).
    #[serde(skip_serializing_if = "WebhooksConfig::is_empty")]
    pub webhooks: WebhooksConfig,
    /// How long uncaptured authorizations last (`[gateway.authorizations]`).
    #[serde(skip_serializing_if = "AuthorizationsConfig::is_empty")]
    pub authorizations: AuthorizationsConfig,
    /// When dispute cards' payments are disputed and decided (`[gateway.disputes]`).
    #[serde(skip_serializing_if = "DisputesConfig::is_empty")]
    pub disputes: DisputesConfig,
    /// The 3-D Secure challenge (`[gateway.three_ds]`).
    #[serde(skip_serializing_if = "ThreeDsConfig::is_empty")]
    pub three_ds: ThreeDsConfig,
    /// Fees, the settlement delay, payouts and the processor's mistakes on purpose
    /// (`[gateway.settlement]`).
    #[serde(skip_serializing_if = "SettlementConfig::is_empty")]
    pub settlement: SettlementConfig,
    /// Workers, their service time and the queue before them (`[gateway.capacity]`).
    /// Absent: every request is served at once, however many arrive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<CapacityConfig>,
}

/// How many requests a `[gateway.capacity]` queue holds when the scenario does not say.
pub const DEFAULT_MAX_QUEUE: u32 = 1000;

/// `[gateway.capacity]`: a processor with `workers` that each serve one API request at a time
/// for a drawn `service_time`; requests beyond them wait in arrival order, up to `max_queue`,
/// beyond which they are answered 503 at once. Latency then grows with load, as in a real
/// gateway: the capacity is `workers / mean(service_time)` requests per second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityConfig {
    /// Requests served at once (>= 1).
    pub workers: u32,
    /// How long a worker is busy with one request, drawn per request from the seed.
    pub service_time: LatencyConfig,
    /// Requests that may wait for a worker (>= 0). Absent: 1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_queue: Option<u32>,
}

impl CapacityConfig {
    /// The queue bound in force: the configured one, else [`DEFAULT_MAX_QUEUE`].
    pub fn max_queue(&self) -> u32 {
        self.max_queue.unwrap_or(DEFAULT_MAX_QUEUE)
    }
}

/// `[gateway.three_ds]`: the buyer's authentication, as the issuer's access
/// control server answers it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThreeDsConfig {
    /// How long answering a challenge (`POST /_sim/3ds/{id}`) takes before the
    /// payment proceeds: the issuer's authentication time. Absent: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyConfig>,
    /// How long a challenge nobody answers stays open, in simulator time; then the
    /// buyer is taken to have abandoned it and the payment waits for another payment
    /// method, as after a failed challenge. Absent: one hour.
    #[serde(
        with = "super::duration::option_as_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub abandon_after: Option<Duration>,
}

/// How long an unanswered 3-D Secure challenge stays open when the scenario does not
/// say: an hour. Stripe documents no such limit (a PaymentIntent can wait in
/// `requires_action`); an issuer's challenge session lasts minutes, and an hour lets
/// a slow buyer finish while still ending every abandoned order within a test run.
pub const DEFAULT_CHALLENGE_ABANDON_AFTER: Duration = Duration::from_secs(3600);

impl ThreeDsConfig {
    /// The abandonment time in force: the configured one, else an hour.
    pub fn abandon_after(&self) -> Duration {
        self.abandon_after
            .unwrap_or(DEFAULT_CHALLENGE_ABANDON_AFTER)
    }

    fn is_empty(&self) -> bool {
        *self == ThreeDsConfig::default()
    }
}

/// How long an uncaptured authorization lasts when the scenario does not say:
/// seven days, what card networks give a customer-initiated card payment.
pub const DEFAULT_AUTHORIZATION_VALIDITY: Duration = Duration::from_secs(7 * 24 * 3600);

/// `[gateway.authorizations]`: the life of an authorization not captured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthorizationsConfig {
    /// How long after it is authorized a manual-capture payment can be captured,
    /// in simulator time; then it is released and canceled. Absent: 7 days.
    #[serde(
        with = "super::duration::option_as_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub validity: Option<Duration>,
}

impl AuthorizationsConfig {
    /// The validity in force: the configured one, else seven days.
    pub fn validity(&self) -> Duration {
        self.validity.unwrap_or(DEFAULT_AUTHORIZATION_VALIDITY)
    }

    fn is_empty(&self) -> bool {
        *self == AuthorizationsConfig::default()
    }
}

/// `[gateway.disputes]`: the life of a dispute opened by a dispute test card.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DisputesConfig {
    /// How long after capture the dispute opens, in simulator time. Absent: 1 day.
    #[serde(
        with = "super::duration::option_as_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub open_after: Option<Duration>,
    /// How long after evidence is submitted the bank decides. Absent: 7 days.
    #[serde(
        with = "super::duration::option_as_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub decided_after: Option<Duration>,
}

impl DisputesConfig {
    /// The opening delay in force: the configured one, else a day.
    pub fn open_after(&self) -> Duration {
        self.open_after.unwrap_or(Duration::from_secs(24 * 3600))
    }

    /// The decision delay in force: the configured one, else seven days.
    pub fn decided_after(&self) -> Duration {
        self.decided_after
            .unwrap_or(Duration::from_secs(7 * 24 * 3600))
    }

    fn is_empty(&self) -> bool {
        *self == DisputesConfig::default()
    }
}

/// Probability of each fault, per request. Their sum must not exceed 1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultsConfig {
    /// Answer 500 without processing.
    #[serde(skip_serializing_if = "is_zero")]
    pub http_500: f64,
    /// Answer 503 without processing.
    #[serde(skip_serializing_if = "is_zero")]
    pub http_503: f64,
    /// Reset the connection without processing.
    #[serde(skip_serializing_if = "is_zero")]
    pub reset: f64,
    /// Never answer (until the client gives up); nothing processed.
    #[serde(skip_serializing_if = "is_zero")]
    pub hang: f64,
    /// Process, hold the answer for `lost_delay`, then drop the connection unanswered.
    #[serde(skip_serializing_if = "is_zero")]
    pub lost_after_delay: f64,
    /// Process, then reset the connection instead of answering.
    #[serde(skip_serializing_if = "is_zero")]
    pub reset_after_commit: f64,
    /// Process, then answer 500 as if it had failed.
    #[serde(skip_serializing_if = "is_zero")]
    pub http_500_after_commit: f64,
    /// Answer 200 with a whole body's Content-Length, send half of it, close; nothing processed.
    #[serde(skip_serializing_if = "is_zero")]
    pub truncated_body: f64,
    /// Process, then send the answer's headers and half its body, and close.
    #[serde(skip_serializing_if = "is_zero")]
    pub truncated_body_after_commit: f64,
    /// Process, then dribble the answer's body over `slow_body_duration`.
    #[serde(skip_serializing_if = "is_zero")]
    pub slow_body: f64,
    /// Answer a load balancer's HTML 502 page; nothing processed.
    #[serde(skip_serializing_if = "is_zero")]
    pub html_502: f64,
    /// Process, then answer a load balancer's HTML 502 page instead.
    #[serde(skip_serializing_if = "is_zero")]
    pub html_502_after_commit: f64,
    /// Close the connection without a byte of answer; nothing processed.
    #[serde(skip_serializing_if = "is_zero")]
    pub empty_reply: f64,
    /// Process, then close the connection without a byte of answer.
    #[serde(skip_serializing_if = "is_zero")]
    pub empty_reply_after_commit: f64,
    /// How long `lost_after_delay` holds the answer. Absent: the global `faults.lost_delay`,
    /// else 10s.
    #[serde(
        with = "super::duration::option_as_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub lost_delay: Option<Duration>,
    /// How long `slow_body` takes to deliver a body. Absent: the global
    /// `faults.slow_body_duration`, else 2s.
    #[serde(
        with = "super::duration::option_as_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub slow_body_duration: Option<Duration>,
}

fn is_zero(value: &f64) -> bool {
    *value == 0.0
}

impl FaultsConfig {
    /// The probability configured for `kind`.
    pub fn probability(&self, kind: FaultKind) -> f64 {
        match kind {
            FaultKind::Http500 => self.http_500,
            FaultKind::Http503 => self.http_503,
            FaultKind::Reset => self.reset,
            FaultKind::Hang => self.hang,
            FaultKind::LostAfterDelay => self.lost_after_delay,
            FaultKind::ResetAfterCommit => self.reset_after_commit,
            FaultKind::Http500AfterCommit => self.http_500_after_commit,
            FaultKind::TruncatedBody => self.truncated_body,
            FaultKind::TruncatedBodyAfterCommit => self.truncated_body_after_commit,
            FaultKind::SlowBody => self.slow_body,
            FaultKind::Html502 => self.html_502,
            FaultKind::Html502AfterCommit => self.html_502_after_commit,
            FaultKind::EmptyReply => self.empty_reply,
            FaultKind::EmptyReplyAfterCommit => self.empty_reply_after_commit,
        }
    }

    /// Sets the probability for `kind` (builder style, for tests and programmatic configs).
    pub fn with(mut self, kind: FaultKind, probability: f64) -> Self {
        let slot = match kind {
            FaultKind::Http500 => &mut self.http_500,
            FaultKind::Http503 => &mut self.http_503,
            FaultKind::Reset => &mut self.reset,
            FaultKind::Hang => &mut self.hang,
            FaultKind::LostAfterDelay => &mut self.lost_after_delay,
            FaultKind::ResetAfterCommit => &mut self.reset_after_commit,
            FaultKind::Http500AfterCommit => &mut self.http_500_after_commit,
            FaultKind::TruncatedBody => &mut self.truncated_body,
            FaultKind::TruncatedBodyAfterCommit => &mut self.truncated_body_after_commit,
            FaultKind::SlowBody => &mut self.slow_body,
            FaultKind::Html502 => &mut self.html_502,
            FaultKind::Html502AfterCommit => &mut self.html_502_after_commit,
            FaultKind::EmptyReply => &mut self.empty_reply,
            FaultKind::EmptyReplyAfterCommit => &mut self.empty_reply_after_commit,
        };
        *slot = probability;
        self
    }

    fn is_empty(&self) -> bool {
        *self == FaultsConfig::default()
    }
}

/// Declines of payment creations, beyond the test cards.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeclinesConfig {
    /// Share of otherwise approved charges declined at random, in [0, 1].
    #[serde(skip_serializing_if = "is_zero")]
    pub rate: f64,
    /// Relative weights of the codes random declines use. Empty: `generic_decline`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub codes: BTreeMap<String, f64>,
    /// Amount ranges that always decline (as Braintree's sandbox does). The first match wins.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub amount_rules: Vec<AmountRule>,
}

impl DeclinesConfig {
    fn is_empty(&self) -> bool {
        *self == DeclinesConfig::default()
    }
}

/// Charges whose amount lies in [min, max] (minor units, inclusive) decline with `code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmountRule {
    pub min: i64,
    pub max: i64,
    pub code: String,
}

/// Per-merchant rate limit (one bucket per API key), enforced with `governor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Sustained requests per second allowed per merchant (> 0; fractions allowed).
    pub requests_per_second: f64,
    /// How many requests may arrive at once after a quiet spell. Absent: one second's worth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
}

impl RateLimitConfig {
    pub fn new(requests_per_second: f64, burst: u32) -> Self {
        RateLimitConfig {
            requests_per_second,
            burst: Some(burst),
        }
    }

    /// The burst actually allowed: the configured one, else one second's worth (at least 1).
    pub fn effective_burst(&self) -> u32 {
        match self.burst {
            Some(burst) => burst.max(1),
            None if self.requests_per_second.is_finite() && self.requests_per_second >= 1.0 => {
                // Saturating float-to-int conversion: at most u32::MAX.
                self.requests_per_second.ceil() as u32
            }
            None => 1,
        }
    }
}

/// Per-endpoint overrides: `[gateway.endpoints.capture]` and so on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EndpointsConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create: Option<EndpointConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture: Option<EndpointConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel: Option<EndpointConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund: Option<EndpointConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retrieve: Option<EndpointConfig>,
}

impl EndpointsConfig {
    pub fn get(&self, endpoint: Endpoint) -> Option<&EndpointConfig> {
        match endpoint {
            Endpoint::Create => self.create.as_ref(),
            Endpoint::Capture => self.capture.as_ref(),
            Endpoint::Cancel => self.cancel.as_ref(),
            Endpoint::Refund => self.refund.as_ref(),
            Endpoint::Retrieve => self.retrieve.as_ref(),
        }
    }

    pub fn get_mut(&mut self, endpoint: Endpoint) -> &mut Option<EndpointConfig> {
        match endpoint {
            Endpoint::Create => &mut self.create,
            Endpoint::Capture => &mut self.capture,
            Endpoint::Cancel => &mut self.cancel,
            Endpoint::Refund => &mut self.refund,
            Endpoint::Retrieve => &mut self.retrieve,
        }
    }

    fn is_empty(&self) -> bool {
        *self == EndpointsConfig::default()
    }
}

/// What one endpoint does instead of the global settings. Each table given replaces the global
/// one whole (a `faults` table here is the complete fault table for this endpoint).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EndpointConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faults: Option<FaultsConfig>,
}

/// A time window, measured from the simulator's start, that overrides the behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleWindow {
    /// Start of the window (inclusive), e.g. "10s".
    #[serde(with = "super::duration::as_string")]
    pub from: Duration,
    /// End of the window (exclusive). Absent: until the simulator stops.
    #[serde(
        default,
        with = "super::duration::option_as_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub until: Option<Duration>,
    /// Endpoints the window applies to. Absent: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Vec<Endpoint>>,
    /// Multiplies every sampled delay (after `latency`, if given, replaced it), e.g. 10.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_factor: Option<f64>,
    /// Replaces the latency distribution during the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyConfig>,
    /// Replaces the fault table during the window, e.g. `{ http_503 = 0.5 }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<FaultsConfig>,
    /// Replaces the decline rules (not the test cards) during the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declines: Option<DeclinesConfig>,
}

/// The first `fail_first` attempts of each request (same merchant, endpoint and idempotency key
/// or body) get `fault`; later attempts behave normally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceRule {
    /// Endpoints the rule applies to. Absent: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Vec<Endpoint>>,
    /// How many attempts fail (>= 1).
    pub fail_first: u32,
    /// The fault they get.
    pub fault: FaultKind,
}
