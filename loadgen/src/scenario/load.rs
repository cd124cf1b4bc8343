//! `[load]`: the traffic of one run (arrival rate, duration, users, merchants, order
//! amounts, timeouts, the flow mix), validated into a [`LoadPlan`], and the command-line
//! values that replace its fields ([`LoadOverrides`]).
//!
//! The bounds live here because a plan is validated twice: when the file is read and again
//! after the flags (or a capacity step's rate) are applied.

use std::time::Duration;

use gateway_sim::parse_duration;
use serde::Deserialize;

use super::field::{FieldError, field_error};
use super::mix::{FlowMix, FlowMixWeights};
use super::three_ds::{ChallengeAnswers, RawThreeDs};
use crate::pacing::ScheduleMath;

/// The largest accepted arrival rate, orders per second.
pub const MAX_RATE: f64 = 10_000_000.0;
/// The largest accepted number of users.
pub const MAX_USERS: usize = 100_000;
/// The largest accepted run duration.
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);
/// The largest accepted request timeout and settle wait.
pub const MAX_WAIT: Duration = Duration::from_secs(600);
/// The largest accepted order amount, in minor units (8 digits, as card networks allow).
pub const MAX_AMOUNT: i64 = 99_999_999;

/// `[load]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLoad {
    #[serde(default = "default_rate")]
    rate: f64,
    #[serde(default = "default_duration")]
    duration: String,
    #[serde(default = "default_users")]
    users: i64,
    #[serde(default)]
    seed: u64,
    #[serde(default = "default_merchants")]
    merchants: i64,
    #[serde(default = "default_currency")]
    currency: String,
    #[serde(default = "default_amount_min")]
    amount_min: i64,
    #[serde(default = "default_amount_max")]
    amount_max: i64,
    #[serde(default = "default_timeout")]
    timeout: String,
    #[serde(default = "default_settle")]
    settle: String,
    mix: Option<FlowMixWeights>,
    three_ds: Option<RawThreeDs>,
}

impl Default for RawLoad {
    fn default() -> Self {
        Self {
            rate: default_rate(),
            duration: default_duration(),
            users: default_users(),
            seed: 0,
            merchants: default_merchants(),
            currency: default_currency(),
            amount_min: default_amount_min(),
            amount_max: default_amount_max(),
            timeout: default_timeout(),
            settle: default_settle(),
            mix: None,
            three_ds: None,
        }
    }
}

fn default_rate() -> f64 {
    100.0
}
fn default_duration() -> String {
    "10s".into()
}
fn default_users() -> i64 {
    32
}
fn default_merchants() -> i64 {
    1
}
fn default_currency() -> String {
    "usd".into()
}
fn default_amount_min() -> i64 {
    500
}
fn default_amount_max() -> i64 {
    20_000
}
fn default_timeout() -> String {
    "2s".into()
}
fn default_settle() -> String {
    "1s".into()
}

impl RawLoad {
    pub(super) fn validate(self) -> Result<LoadPlan, FieldError> {
        let duration = parse_duration(&self.duration).map_err(|m| field_error("duration", m))?;
        let timeout = parse_duration(&self.timeout).map_err(|m| field_error("timeout", m))?;
        let settle = parse_duration(&self.settle).map_err(|m| field_error("settle", m))?;
        let mix = self.mix.unwrap_or(FlowMixWeights {
            purchase: 1,
            ..FlowMixWeights::default()
        });
        let three_ds = self.three_ds.unwrap_or_default().validate()?;
        LoadPlan {
            rate: self.rate,
            duration,
            users: usize::try_from(self.users).unwrap_or(0),
            seed: self.seed,
            merchants: u32::try_from(self.merchants).unwrap_or(0),
            currency: self.currency,
            amount_min: self.amount_min,
            amount_max: self.amount_max,
            timeout,
            settle,
            mix: FlowMix::new(mix),
            three_ds,
            schedule: placeholder_schedule(),
        }
        .checked(self.users, self.merchants)
    }
}

/// A schedule for plans that `checked` has not replaced yet.
fn placeholder_schedule() -> ScheduleMath {
    ScheduleMath::one_per_second()
}

/// What `[load]` asks for, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadPlan {
    /// Target arrival rate, orders per second (open model).
    pub rate: f64,
    pub duration: Duration,
    /// Concurrent goose users (client connections).
    pub users: usize,
    /// Seeds order amounts, flow choices and partial amounts.
    pub seed: u64,
    /// How many merchant API keys (`sk_test_loadgen_0..`) orders are spread over.
    pub merchants: u32,
    /// Three lowercase letters.
    pub currency: String,
    /// Order amounts are drawn uniformly from `amount_min..=amount_max`, minor units.
    pub amount_min: i64,
    pub amount_max: i64,
    /// Client timeout per request.
    pub timeout: Duration,
    /// Wait after the run before the ledger is read.
    pub settle: Duration,
    pub mix: FlowMix,
    /// How the `three_ds` flow's buyers answer their challenge (`[load.three_ds]`).
    pub three_ds: ChallengeAnswers,
    /// Derived from rate and duration by validation.
    schedule: ScheduleMath,
}

impl LoadPlan {
    /// The schedule this plan asks for.
    pub fn schedule(&self) -> ScheduleMath {
        self.schedule
    }

    pub(super) fn with_overrides(&self, o: &LoadOverrides) -> Result<Self, FieldError> {
        let mut plan = self.clone();
        if let Some(rate) = o.rate {
            plan.rate = rate;
        }
        if let Some(duration) = o.duration {
            plan.duration = duration;
        }
        let users_raw = match o.users {
            Some(users) => {
                plan.users = users;
                i64::try_from(users).unwrap_or(i64::MAX)
            }
            None => i64::try_from(plan.users).unwrap_or(i64::MAX),
        };
        if let Some(seed) = o.seed {
            plan.seed = seed;
        }
        let merchants = i64::from(plan.merchants);
        plan.checked(users_raw, merchants)
    }

    fn checked(mut self, users_raw: i64, merchants_raw: i64) -> Result<Self, FieldError> {
        if !self.rate.is_finite() || self.rate <= 0.0 {
            return Err(field_error(
                "rate",
                format!(
                    "must be a number of orders per second above 0, got {}",
                    self.rate
                ),
            ));
        }
        if self.rate > MAX_RATE {
            return Err(field_error(
                "rate",
                format!("at most {MAX_RATE} orders per second, got {}", self.rate),
            ));
        }
        if self.duration.is_zero() || self.duration > MAX_DURATION {
            return Err(field_error(
                "duration",
                "must be above 0 and at most 7 days (such as \"20s\")",
            ));
        }
        self.schedule = ScheduleMath::new(self.rate, self.duration)
            .map_err(|e| field_error("rate", e.to_string()))?;
        if users_raw < 1 || self.users > MAX_USERS {
            return Err(field_error(
                "users",
                format!("must be from 1 to {MAX_USERS}, got {users_raw}"),
            ));
        }
        if !(1..=1_000_000).contains(&merchants_raw) {
            return Err(field_error(
                "merchants",
                format!("must be from 1 to 1000000, got {merchants_raw}"),
            ));
        }
        let currency = self.currency.to_ascii_lowercase();
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(field_error(
                "currency",
                format!(
                    "must be a three-letter code such as \"usd\", got {:?}",
                    self.currency
                ),
            ));
        }
        self.currency = currency;
        if self.amount_min < 1 || self.amount_max > MAX_AMOUNT {
            return Err(field_error(
                "amount_min",
                format!(
                    "amounts must be from 1 to {MAX_AMOUNT} minor units, got {}..={}",
                    self.amount_min, self.amount_max
                ),
            ));
        }
        if self.amount_min > self.amount_max {
            return Err(field_error(
                "amount_min",
                format!(
                    "amount_min ({}) is above amount_max ({})",
                    self.amount_min, self.amount_max
                ),
            ));
        }
        if self.timeout.is_zero() || self.timeout > MAX_WAIT {
            return Err(field_error("timeout", "must be above 0 and at most 10m"));
        }
        if self.settle > MAX_WAIT {
            return Err(field_error("settle", "must be at most 10m"));
        }
        if self.mix.total_weight() == 0 {
            return Err(field_error(
                "mix",
                "every flow weighs 0: give at least one flow a weight, such as purchase = 1",
            ));
        }
        Ok(self)
    }
}

/// Command-line values that replace `[load]` fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadOverrides {
    pub rate: Option<f64>,
    pub duration: Option<Duration>,
    pub users: Option<usize>,
    pub seed: Option<u64>,
}
