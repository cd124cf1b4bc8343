//! `Behaviour`: a validated config compiled for speed, and `fate`, the pure function that says
//! what happens to one request.
//!
//! A fate is a function of (seed, merchant, endpoint, identity, seen_before) and, for schedules,
//! the simulator time since start; nothing else (no arrival order, no thread, no wall clock).
//! That is what makes a run replayable: the same request set gets the same fates whatever the
//! concurrency. Latency, fault and decline each draw from their own stream of the request's
//! hash, so they are independent of each other; `seen_before` is part of the hash, so a retry
//! of a failed request draws afresh and can succeed.

use super::config::{
    BehaviourConfig, CapacityConfig, ConfigError, DEFAULT_LOST_DELAY, DEFAULT_SLOW_BODY_DURATION,
    DeclinesConfig, FaultsConfig, RateLimitConfig,
};
use super::declines::{
    DeclineCode, DisputeCard, dispute_card, requires_authentication, test_card_decline,
};
use super::endpoint::Endpoint;
use super::fault::{Fault, FaultKind, FaultParams};
use super::latency::{Dist, seconds_to_duration};
use super::rng::{SplitMix64, Stream, hash_bytes, hash_u64};
use std::time::Duration;

/// The charge being created (Create only): what test cards and decline rules look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChargeFacts<'a> {
    /// Minor units.
    pub amount: i64,
    pub payment_method: Option<&'a str>,
    pub card_number: Option<&'a str>,
}

/// Everything a fate depends on, besides the seed and the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestFacts<'a> {
    /// The merchant account (API key).
    pub merchant: &'a str,
    pub endpoint: Endpoint,
    /// The Idempotency-Key if the request has one, else method + path + body.
    pub identity: &'a [u8],
    /// How many times this same (merchant, endpoint, identity) arrived before (0 = first); see
    /// [`super::SeenCounter`].
    pub seen_before: u32,
    /// Create only.
    pub charge: Option<ChargeFacts<'a>>,
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fate {
    /// Delay before the request is handled (outside every lock).
    pub latency: Duration,
    /// When processed, the charge declines with this code (Create only). Meaningless when the
    /// fault rejects the request before processing.
    pub decline: Option<DeclineCode>,
    /// When processed and not declined, the card asks for the buyer's
    /// authentication (3-D Secure) first (Create only).
    pub authenticate: bool,
    /// When processed and approved, the payment is disputed once captured (a
    /// dispute test card; Create only).
    pub dispute: Option<DisputeCard>,
    pub fault: Option<Fault>,
    /// How long a `[gateway.capacity]` worker is busy with the request once it has one
    /// (zero without that table). Drawn from its own stream, so adding the table changes no
    /// other draw.
    pub service_time: Duration,
}

/// A fault table ready to draw from.
#[derive(Clone, Debug, PartialEq)]
struct FaultTable {
    /// Probabilities in `FaultKind::ALL` order.
    probabilities: [f64; FaultKind::ALL.len()],
    params: FaultParams,
}

impl FaultTable {
    /// `global` is the global `[gateway.faults]` table, whose durations an endpoint's or a
    /// window's table inherits when it sets none.
    fn compile(config: &FaultsConfig, global: &FaultsConfig) -> Self {
        let mut probabilities = [0.0; FaultKind::ALL.len()];
        for (slot, kind) in probabilities.iter_mut().zip(FaultKind::ALL) {
            *slot = config.probability(kind);
        }
        FaultTable {
            probabilities,
            params: FaultParams {
                lost_delay: config
                    .lost_delay
                    .or(global.lost_delay)
                    .unwrap_or(DEFAULT_LOST_DELAY),
                slow_body_duration: config
                    .slow_body_duration
                    .or(global.slow_body_duration)
                    .unwrap_or(DEFAULT_SLOW_BODY_DURATION),
            },
        }
    }

    fn draw(&self, u: f64) -> Option<Fault> {
        let mut cumulative = 0.0;
        for (probability, kind) in self.probabilities.iter().zip(FaultKind::ALL) {
            cumulative += probability;
            if u < cumulative {
                return Some(kind.with_params(self.params));
            }
        }
        None
    }
}

/// Decline rules ready to apply.
#[derive(Clone, Debug, PartialEq)]
struct DeclinePlan {
    rate: f64,
    /// Codes with cumulative normalised weights (the last is 1.0).
    codes: Vec<(f64, DeclineCode)>,
    /// (min, max, code), inclusive.
    amount_rules: Vec<(i64, i64, DeclineCode)>,
}

impl DeclinePlan {
    fn compile(config: &DeclinesConfig) -> Self {
        let weighted: Vec<(f64, DeclineCode)> = config
            .codes
            .iter()
            .filter(|(_, weight)| **weight > 0.0)
            .filter_map(|(name, weight)| DeclineCode::from_name(name).map(|code| (*weight, code)))
            .collect();
        let total: f64 = weighted.iter().map(|(weight, _)| weight).sum();
        let mut codes = Vec::with_capacity(weighted.len().max(1));
        if total > 0.0 && total.is_finite() {
            let mut cumulative = 0.0;
            for (weight, code) in weighted {
                cumulative += weight / total;
                codes.push((cumulative, code));
            }
            if let Some(last) = codes.last_mut() {
                last.0 = 1.0;
            }
        } else {
            codes.push((1.0, DeclineCode::GENERIC_DECLINE));
        }
        DeclinePlan {
            rate: config.rate,
            codes,
            amount_rules: config
                .amount_rules
                .iter()
                .filter_map(|rule| {
                    DeclineCode::from_name(&rule.code).map(|code| (rule.min, rule.max, code))
                })
                .collect(),
        }
    }

    fn decide(&self, amount: i64, rng: &mut SplitMix64) -> Option<DeclineCode> {
        if let Some((_, _, code)) = self
            .amount_rules
            .iter()
            .find(|(min, max, _)| (*min..=*max).contains(&amount))
        {
            return Some(*code);
        }
        // Always two draws, so a rate change never shifts which requests pick which code.
        let roll = rng.next_unit();
        let pick = rng.next_unit();
        if roll < self.rate {
            self.codes
                .iter()
                .find(|(cumulative, _)| pick < *cumulative)
                .or(self.codes.last())
                .map(|(_, code)| *code)
        } else {
            None
        }
    }
}

/// Bit set of endpoints (bit = `Endpoint::index`).
#[derive(Clone, Copy, Debug, PartialEq)]
struct EndpointMask(u8);

impl EndpointMask {
    fn from_list(list: Option<&[Endpoint]>) -> Self {
        match list {
            None => EndpointMask(0b1_1111),
            Some(list) => EndpointMask(list.iter().fold(0, |mask, e| mask | (1 << e.index()))),
        }
    }

    fn contains(self, endpoint: Endpoint) -> bool {
        self.0 & (1 << endpoint.index()) != 0
    }
}

#[derive(Clone, Debug, PartialEq)]
struct WindowPlan {
    from: Duration,
    until: Option<Duration>,
    endpoints: EndpointMask,
    latency_factor: f64,
    latency: Option<Dist>,
    faults: Option<FaultTable>,
    declines: Option<DeclinePlan>,
}

impl WindowPlan {
    fn applies(&self, endpoint: Endpoint, since_start: Duration) -> bool {
        self.endpoints.contains(endpoint)
            && since_start >= self.from
            && self.until.is_none_or(|until| since_start < until)
    }
}

#[derive(Clone, Debug, PartialEq)]
struct SequencePlan {
    endpoints: EndpointMask,
    fail_first: u32,
    fault: FaultKind,
}

/// A behaviour compiled from a validated config and a seed: distributions prepared, ready to
/// answer `fate` without allocating. Immutable; share it behind an `Arc` and swap the `Arc` to
/// change the configuration at runtime.
#[derive(Clone, Debug)]
pub struct Behaviour {
    config: BehaviourConfig,
    seed: u64,
    /// Latency per endpoint (by `Endpoint::index`), after per-endpoint overrides.
    latency: [Dist; 5],
    faults: [FaultTable; 5],
    declines: DeclinePlan,
    windows: Vec<WindowPlan>,
    sequences: Vec<SequencePlan>,
    /// How long answering a 3-D Secure challenge takes (`[gateway.three_ds] latency`).
    authentication: Dist,
    /// A worker's service time (`[gateway.capacity] service_time`); `None` without the table.
    service: Option<Dist>,
}

impl Behaviour {
    /// Validates `config` and compiles it. `seed` is the simulator's seed (callers typically
    /// use `config.seed` when a scenario sets one, else their own).
    pub fn new(config: BehaviourConfig, seed: u64) -> Result<Behaviour, ConfigError> {
        config.validate()?;
        let global_latency = config.latency.as_ref().map_or(Dist::ZERO, Dist::compile);
        let global_faults = FaultTable::compile(&config.faults, &config.faults);
        let latency = Endpoint::ALL.map(|endpoint| {
            config
                .endpoints
                .get(endpoint)
                .and_then(|e| e.latency.as_ref())
                .map_or_else(|| global_latency.clone(), Dist::compile)
        });
        let faults = Endpoint::ALL.map(|endpoint| {
            config
                .endpoints
                .get(endpoint)
                .and_then(|e| e.faults.as_ref())
                .map_or_else(
                    || global_faults.clone(),
                    |f| FaultTable::compile(f, &config.faults),
                )
        });
        let windows = config
            .schedule
            .iter()
            .map(|window| WindowPlan {
                from: window.from,
                until: window.until,
                endpoints: EndpointMask::from_list(window.endpoints.as_deref()),
                latency_factor: window.latency_factor.unwrap_or(1.0),
                latency: window.latency.as_ref().map(Dist::compile),
                faults: window
                    .faults
                    .as_ref()
                    .map(|f| FaultTable::compile(f, &config.faults)),
                declines: window.declines.as_ref().map(DeclinePlan::compile),
            })
            .collect();
        let sequences = config
            .sequences
            .iter()
            .map(|rule| SequencePlan {
                endpoints: EndpointMask::from_list(rule.endpoints.as_deref()),
                fail_first: rule.fail_first,
                fault: rule.fault,
            })
            .collect();
        let authentication = config
            .three_ds
            .latency
            .as_ref()
            .map_or(Dist::ZERO, Dist::compile);
        let service = config
            .capacity
            .as_ref()
            .map(|c| Dist::compile(&c.service_time));
        Ok(Behaviour {
            authentication,
            service,
            declines: DeclinePlan::compile(&config.declines),
            config,
            seed,
            latency,
            faults,
            windows,
            sequences,
        })
    }

    /// The configuration this behaviour was compiled from (for `GET /_sim/config`).
    pub fn config(&self) -> &BehaviourConfig {
        &self.config
    }

    /// The seed every draw derives from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// How long answering the challenge of payment `challenge` (its id) takes:
    /// drawn from `[gateway.three_ds] latency` with the seed and the id, so the same
    /// payment waits the same time in every run.
    pub fn authentication_latency(&self, challenge: &str) -> Duration {
        let request = hash_bytes(
            hash_u64(0x3364_7365_6375_7265, self.seed),
            challenge.as_bytes(),
        );
        let mut rng = SplitMix64::for_request(request, Stream::Authentication);
        seconds_to_duration(self.authentication.sample(&mut rng))
    }

    /// The per-merchant rate limit, if any (build a [`super::MerchantRateLimiter`] from it).
    pub fn rate_limit(&self) -> Option<&RateLimitConfig> {
        self.config.rate_limit.as_ref()
    }

    /// The workers and their queue (`[gateway.capacity]`), if any (the server builds its
    /// worker pool from it).
    pub fn capacity(&self) -> Option<&CapacityConfig> {
        self.config.capacity.as_ref()
    }

    /// The true quantile `q` (0 < q < 1) of the delay `endpoint` gets outside schedule windows:
    /// what a latency-fidelity report compares measured delays against.
    pub fn latency_quantile(&self, endpoint: Endpoint, q: f64) -> Duration {
        let q = if q.is_nan() {
            0.5
        } else {
            q.clamp(1e-12, 1.0 - 1e-12)
        };
        seconds_to_duration(self.latency[endpoint.index()].quantile(q))
    }

    /// What happens to this request. Pure: the same facts, seed and `since_start` always give
    /// the same fate.
    pub fn fate(&self, facts: &RequestFacts, since_start: Duration) -> Fate {
        let request = self.request_hash(facts);
        let endpoint = facts.endpoint;
        let window = self
            .windows
            .iter()
            .find(|w| w.applies(endpoint, since_start));

        let dist = window
            .and_then(|w| w.latency.as_ref())
            .unwrap_or(&self.latency[endpoint.index()]);
        let mut latency_rng = SplitMix64::for_request(request, Stream::Latency);
        let mut seconds = dist.sample(&mut latency_rng);
        if let Some(window) = window {
            seconds *= window.latency_factor;
        }

        let fault = match self
            .sequences
            .iter()
            .find(|s| s.endpoints.contains(endpoint) && facts.seen_before < s.fail_first)
        {
            Some(sequence) => Some(
                sequence
                    .fault
                    .with_params(self.fault_params_for(endpoint, window)),
            ),
            None => {
                let table = window
                    .and_then(|w| w.faults.as_ref())
                    .unwrap_or(&self.faults[endpoint.index()]);
                table.draw(SplitMix64::for_request(request, Stream::Fault).next_unit())
            }
        };

        let decline = match (endpoint, facts.charge) {
            (Endpoint::Create, Some(charge)) => {
                test_card_decline(charge.payment_method, charge.card_number).or_else(|| {
                    let plan = window
                        .and_then(|w| w.declines.as_ref())
                        .unwrap_or(&self.declines);
                    plan.decide(
                        charge.amount,
                        &mut SplitMix64::for_request(request, Stream::Decline),
                    )
                })
            }
            _ => None,
        };

        // A card that asks for authentication is declined first when a rule says
        // so: the issuer's answer to a challenged payment is not modelled.
        let authenticate = decline.is_none()
            && endpoint == Endpoint::Create
            && facts
                .charge
                .is_some_and(|c| requires_authentication(c.payment_method, c.card_number));
        let dispute = facts
            .charge
            .filter(|_| decline.is_none() && endpoint == Endpoint::Create)
            .and_then(|c| dispute_card(c.payment_method, c.card_number));
        let service_time = self.service.as_ref().map_or(Duration::ZERO, |dist| {
            seconds_to_duration(dist.sample(&mut SplitMix64::for_request(request, Stream::Service)))
        });
        Fate {
            latency: seconds_to_duration(seconds),
            decline,
            authenticate,
            dispute,
            fault,
            service_time,
        }
    }

    fn fault_params_for(&self, endpoint: Endpoint, window: Option<&WindowPlan>) -> FaultParams {
        window
            .and_then(|w| w.faults.as_ref())
            .unwrap_or(&self.faults[endpoint.index()])
            .params
    }

    fn request_hash(&self, facts: &RequestFacts) -> u64 {
        let mut h = hash_u64(0x6761_7465_7761_7973, self.seed);
        h = hash_bytes(h, facts.merchant.as_bytes());
        h = hash_bytes(h, facts.endpoint.as_str().as_bytes());
        h = hash_bytes(h, facts.identity);
        hash_u64(h, u64::from(facts.seen_before))
    }
}
