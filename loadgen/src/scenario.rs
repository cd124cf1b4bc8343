//! Reads a scenario file into a validated plan for one run.
//!
//! One TOML file has several readers. loadgen reads:
//!
//! - `[load]`: the arrival rate, duration, users, order amounts and the weighted
//!   flow mix ([`LoadPlan`]); command-line flags override it ([`LoadOverrides`]);
//! - `[checks]`: the pass/fail thresholds (kept as a TOML table here and turned
//!   into the check's own type by the run);
//! - `[target]`: the request template for `--service` mode ([`TargetTemplate`]);
//! - `[capacity]`: how `loadgen capacity` steps the arrival rate
//!   ([`CapacitySettings`]); its flags override it;
//! - `[gateway]`: not read here beyond being a table; the embedded gateway-sim
//!   reads it from the same text ([`Scenario::text`]).
//!
//! Any other top-level table, and any unknown key inside `[load]`, `[target]` or `[capacity]`,
//! is an error naming it: a misspelt key that is silently ignored would run a
//! different experiment from the one the file describes.
//!
//! No I/O beyond reading the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gateway_sim::parse_duration;
use serde::Deserialize;

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

/// Why a scenario could not be used; the message names the file and the field.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("scenario {origin}: {message}")]
    Syntax { origin: String, message: String },
    #[error("scenario {origin}: {field}: {message}")]
    Invalid {
        origin: String,
        field: String,
        message: String,
    },
}

/// A whole scenario file, validated.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file's stem (`happy-path` for `scenarios/happy-path.toml`): names the report directory.
    pub name: String,
    /// Where it was read from, or a label such as `<inline>`.
    pub origin: String,
    /// The whole file text, for readers of the other tables (gateway-sim's `[gateway]`).
    pub text: String,
    pub load: LoadPlan,
    /// The `[checks]` table as written (empty when absent).
    pub checks: toml::Table,
    /// The `[gateway]` table as written, if any.
    pub gateway: Option<toml::Table>,
    /// The `[target]` template, if any.
    pub target: Option<TargetTemplate>,
    /// The `[capacity]` table, if any (read only by `loadgen capacity`).
    pub capacity: Option<CapacitySettings>,
}

impl Scenario {
    /// Read and validate a scenario file.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "scenario".to_string());
        Self::parse(&text, &name, &path.display().to_string())
    }

    /// Validate scenario text; `name` names reports, `origin` names the source in errors.
    pub fn parse(text: &str, name: &str, origin: &str) -> Result<Self, ScenarioError> {
        let raw: RawScenario = toml::from_str(text).map_err(|e| ScenarioError::Syntax {
            origin: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let invalid = |field: &str, message: String| ScenarioError::Invalid {
            origin: origin.to_string(),
            field: field.to_string(),
            message,
        };
        let load = raw
            .load
            .unwrap_or_default()
            .validate()
            .map_err(|(field, message)| invalid(&format!("[load] {field}"), message))?;
        let target = raw
            .target
            .map(TargetTemplate::compile)
            .transpose()
            .map_err(|(field, message)| invalid(&format!("[target] {field}"), message))?;
        let capacity = raw
            .capacity
            .map(RawCapacity::validate)
            .transpose()
            .map_err(|(field, message)| invalid(&format!("[capacity] {field}"), message))?;
        Ok(Self {
            name: sanitize_name(name),
            origin: origin.to_string(),
            text: text.to_string(),
            load,
            checks: raw.checks.unwrap_or_default(),
            gateway: raw.gateway,
            target,
            capacity,
        })
    }

    /// Apply command-line overrides to `[load]` and validate the result again.
    pub fn override_load(&mut self, overrides: &LoadOverrides) -> Result<(), ScenarioError> {
        self.load = self
            .load
            .with_overrides(overrides)
            .map_err(|(field, message)| ScenarioError::Invalid {
                origin: self.origin.clone(),
                field: format!("--{field}"),
                message,
            })?;
        Ok(())
    }
}

/// Keeps a report directory name to letters, digits, `-`, `_` and `.`.
fn sanitize_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "scenario".to_string()
    } else {
        cleaned
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    gateway: Option<toml::Table>,
    load: Option<RawLoad>,
    checks: Option<toml::Table>,
    target: Option<RawTarget>,
    capacity: Option<RawCapacity>,
}

/// `[load]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLoad {
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

type FieldError = (String, String);

fn field_error(field: &str, message: impl Into<String>) -> FieldError {
    (field.to_string(), message.into())
}

impl RawLoad {
    fn validate(self) -> Result<LoadPlan, FieldError> {
        let duration = parse_duration(&self.duration).map_err(|m| field_error("duration", m))?;
        let timeout = parse_duration(&self.timeout).map_err(|m| field_error("timeout", m))?;
        let settle = parse_duration(&self.settle).map_err(|m| field_error("settle", m))?;
        let mix = self.mix.unwrap_or(FlowMixWeights {
            purchase: 1,
            ..FlowMixWeights::default()
        });
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
    /// Derived from rate and duration by validation.
    schedule: ScheduleMath,
}

impl LoadPlan {
    /// The schedule this plan asks for.
    pub fn schedule(&self) -> ScheduleMath {
        self.schedule
    }

    fn with_overrides(&self, o: &LoadOverrides) -> Result<Self, FieldError> {
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

/// The largest accepted step of `[capacity]` (one step holds one rate this long).
pub const MAX_STEP_DURATION: Duration = Duration::from_secs(3600);
/// The largest accepted `[capacity] factor`.
pub const MAX_FACTOR: f64 = 10.0;

/// `[capacity]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCapacity {
    start: Option<f64>,
    step: Option<f64>,
    factor: Option<f64>,
    step_duration: Option<String>,
    warm_up: Option<String>,
    max_rate: Option<f64>,
}

/// How each step's rate follows from the one before.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateIncrease {
    /// Add this many orders per second (a linear staircase).
    Step(f64),
    /// Multiply by this (a geometric staircase: the same relative resolution at every rate).
    Factor(f64),
}

/// `[capacity]`: how `loadgen capacity` steps the arrival rate to find the
/// highest rate that holds the SLO of `[checks]`. Every key is optional, and
/// the command's flags (`--start`, `--step`/`--factor`, `--step-duration`,
/// `--warm-up`, `--max-rate`) override them.
///
/// ```toml
/// [capacity]
/// start = 200            # first step's arrival rate, orders/s (default: [load] rate)
/// factor = 1.25          # each step multiplies the rate by this (default 1.25)...
/// # step = 100           # ...or adds this many orders/s (give step or factor, not both)
/// step_duration = "10s"  # how long each rate is held (default "10s")
/// warm_up = "2s"         # left out of each step's figures (default "0s"; whole seconds)
/// max_rate = 5000        # upper bound: no step above it (default 10 x start)
/// ```
///
/// Each value is checked on its own here; how they fit together (the warm-up
/// shorter than a step, `max_rate` not below `start`, not too many steps) is
/// checked once the flags are applied, by `loadgen capacity`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CapacitySettings {
    pub start: Option<f64>,
    pub increase: Option<RateIncrease>,
    pub step_duration: Option<Duration>,
    pub warm_up: Option<Duration>,
    pub max_rate: Option<f64>,
}

/// An arrival rate for `[capacity]` or its flags: finite, above 0, at most [`MAX_RATE`].
pub fn check_capacity_rate(rate: f64) -> Result<f64, String> {
    if !rate.is_finite() || rate <= 0.0 {
        return Err(format!(
            "must be a number of orders per second above 0, got {rate}"
        ));
    }
    if rate > MAX_RATE {
        return Err(format!("at most {MAX_RATE} orders per second, got {rate}"));
    }
    Ok(rate)
}

/// A `[capacity] factor` or `--factor`: above 1 (the rate must grow), at most [`MAX_FACTOR`].
pub fn check_capacity_factor(factor: f64) -> Result<f64, String> {
    if !factor.is_finite() || factor <= 1.0 || factor > MAX_FACTOR {
        return Err(format!(
            "must be above 1 (each step's rate grows) and at most {MAX_FACTOR}, got {factor}"
        ));
    }
    Ok(factor)
}

/// A `[capacity] step_duration` or `--step-duration`: above 0, at most [`MAX_STEP_DURATION`].
pub fn check_step_duration(d: Duration) -> Result<Duration, String> {
    if d.is_zero() || d > MAX_STEP_DURATION {
        return Err("must be above 0 and at most 1h (such as \"10s\")".into());
    }
    Ok(d)
}

impl RawCapacity {
    fn validate(self) -> Result<CapacitySettings, FieldError> {
        let start = self
            .start
            .map(check_capacity_rate)
            .transpose()
            .map_err(|m| field_error("start", m))?;
        let increase = match (self.step, self.factor) {
            (Some(_), Some(_)) => {
                return Err(field_error(
                    "step",
                    "give either step (add orders/s per step) or factor (multiply per step), not both",
                ));
            }
            (Some(step), None) => Some(RateIncrease::Step(
                check_capacity_rate(step).map_err(|m| field_error("step", m))?,
            )),
            (None, Some(factor)) => Some(RateIncrease::Factor(
                check_capacity_factor(factor).map_err(|m| field_error("factor", m))?,
            )),
            (None, None) => None,
        };
        let step_duration = self
            .step_duration
            .as_deref()
            .map(|text| parse_duration(text).and_then(check_step_duration))
            .transpose()
            .map_err(|m| field_error("step_duration", m))?;
        let warm_up = self
            .warm_up
            .as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|m| field_error("warm_up", m))?;
        let max_rate = self
            .max_rate
            .map(check_capacity_rate)
            .transpose()
            .map_err(|m| field_error("max_rate", m))?;
        if let (Some(start), Some(max)) = (start, max_rate)
            && max < start
        {
            return Err(field_error(
                "max_rate",
                format!("({max}) is below start ({start}): no step would run"),
            ));
        }
        if let (Some(step), Some(warm_up)) = (step_duration, warm_up)
            && warm_up >= step
        {
            return Err(field_error(
                "warm_up",
                format!("({warm_up:?}) must be shorter than step_duration ({step:?})"),
            ));
        }
        Ok(CapacitySettings {
            start,
            increase,
            step_duration,
            warm_up,
            max_rate,
        })
    }
}

/// The flows loadgen can play against gateway-sim's native API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FlowKind {
    /// Authorize and capture in one create (`capture: true`).
    Purchase,
    /// Authorize, then capture (sometimes part of the amount).
    AuthCapture,
    /// Authorize, then cancel.
    AuthCancel,
    /// Purchase, then refund all or part of it.
    PurchaseRefund,
    /// The same create sent twice at once with one idempotency key (the double click).
    DoubleSubmit,
    /// On an ambiguous failure, retry with the same idempotency key (a correct client).
    RetrySameKey,
    /// On an ambiguous failure, retry with a fresh key (the classic double-charge bug).
    RetryNewKey,
}

impl FlowKind {
    pub const ALL: [FlowKind; 7] = [
        FlowKind::Purchase,
        FlowKind::AuthCapture,
        FlowKind::AuthCancel,
        FlowKind::PurchaseRefund,
        FlowKind::DoubleSubmit,
        FlowKind::RetrySameKey,
        FlowKind::RetryNewKey,
    ];

    /// The name used in `[load.mix]`, reports and request names.
    pub fn name(self) -> &'static str {
        match self {
            FlowKind::Purchase => "purchase",
            FlowKind::AuthCapture => "auth_capture",
            FlowKind::AuthCancel => "auth_cancel",
            FlowKind::PurchaseRefund => "purchase_refund",
            FlowKind::DoubleSubmit => "double_submit",
            FlowKind::RetrySameKey => "retry_same_key",
            FlowKind::RetryNewKey => "retry_new_key",
        }
    }
}

impl std::fmt::Display for FlowKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `[load.mix]` as written: absent flows weigh 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowMixWeights {
    #[serde(default)]
    pub purchase: u32,
    #[serde(default)]
    pub auth_capture: u32,
    #[serde(default)]
    pub auth_cancel: u32,
    #[serde(default)]
    pub purchase_refund: u32,
    #[serde(default)]
    pub double_submit: u32,
    #[serde(default)]
    pub retry_same_key: u32,
    #[serde(default)]
    pub retry_new_key: u32,
}

impl FlowMixWeights {
    fn weight(&self, kind: FlowKind) -> u32 {
        match kind {
            FlowKind::Purchase => self.purchase,
            FlowKind::AuthCapture => self.auth_capture,
            FlowKind::AuthCancel => self.auth_cancel,
            FlowKind::PurchaseRefund => self.purchase_refund,
            FlowKind::DoubleSubmit => self.double_submit,
            FlowKind::RetrySameKey => self.retry_same_key,
            FlowKind::RetryNewKey => self.retry_new_key,
        }
    }
}

/// The weighted flow mix, ready to pick from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowMix {
    weights: FlowMixWeights,
    /// Running totals, one per flow with a weight above 0.
    cumulative: Vec<(u64, FlowKind)>,
    total: u64,
}

impl FlowMix {
    pub fn new(weights: FlowMixWeights) -> Self {
        let mut total = 0u64;
        let mut cumulative = Vec::new();
        for kind in FlowKind::ALL {
            let w = u64::from(weights.weight(kind));
            if w > 0 {
                total += w;
                cumulative.push((total, kind));
            }
        }
        Self {
            weights,
            cumulative,
            total,
        }
    }

    pub fn weights(&self) -> FlowMixWeights {
        self.weights
    }

    pub fn total_weight(&self) -> u64 {
        self.total
    }

    /// The flow a uniformly random `draw` picks; each flow gets a share of draws
    /// in proportion to its weight. `None` only when every weight is 0.
    pub fn pick(&self, draw: u64) -> Option<FlowKind> {
        if self.total == 0 {
            return None;
        }
        let point = draw % self.total;
        self.cumulative
            .iter()
            .find(|(upto, _)| point < *upto)
            .map(|(_, kind)| *kind)
    }
}

/// `[target]` as written; see [`TargetTemplate`] for the format.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    #[serde(default = "default_method")]
    method: String,
    path: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    success: Option<RawRule>,
    decline: Option<RawRule>,
    timeout: Option<String>,
}

fn default_method() -> String {
    "POST".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default)]
    status: Vec<u16>,
    pointer: Option<String>,
    equals: Option<toml::Value>,
}

/// One placeholder of a [`Template`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    OrderId,
    Amount,
    Currency,
    IdempotencyKey,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Slot(Placeholder),
}

/// A text with `{{name}}` placeholders, checked when the scenario is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    segments: Vec<Segment>,
}

/// The values a [`Template`] is filled with.
#[derive(Debug, Clone, Copy)]
pub struct TemplateValues<'a> {
    pub order_id: &'a str,
    pub amount: i64,
    pub currency: &'a str,
    pub idempotency_key: &'a str,
}

impl Template {
    pub fn compile(text: &str) -> Result<Self, String> {
        let mut segments = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                segments.push(Segment::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                return Err(format!("unclosed \"{{{{\" in {text:?}"));
            };
            let name = after[..close].trim();
            let slot = match name {
                "order_id" => Placeholder::OrderId,
                "amount" => Placeholder::Amount,
                "currency" => Placeholder::Currency,
                "idempotency_key" => Placeholder::IdempotencyKey,
                other => {
                    return Err(format!(
                        "unknown placeholder {{{{{other}}}}}; known: {{{{order_id}}}}, {{{{amount}}}}, {{{{currency}}}}, {{{{idempotency_key}}}}"
                    ));
                }
            };
            segments.push(Segment::Slot(slot));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            segments.push(Segment::Text(rest.to_string()));
        }
        Ok(Self { segments })
    }

    pub fn render(&self, values: &TemplateValues<'_>) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Text(t) => out.push_str(t),
                Segment::Slot(Placeholder::OrderId) => out.push_str(values.order_id),
                Segment::Slot(Placeholder::Amount) => out.push_str(&values.amount.to_string()),
                Segment::Slot(Placeholder::Currency) => out.push_str(values.currency),
                Segment::Slot(Placeholder::IdempotencyKey) => out.push_str(values.idempotency_key),
            }
        }
        out
    }

    pub fn uses(&self, placeholder: Placeholder) -> bool {
        self.segments.contains(&Segment::Slot(placeholder))
    }
}

/// How to recognise one kind of answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseRule {
    /// Status codes that match; empty means any.
    pub status: Vec<u16>,
    /// A JSON pointer (RFC 6901) into the body, and the value it must hold.
    pub pointer: Option<(String, serde_json::Value)>,
}

impl ResponseRule {
    fn compile(raw: RawRule, default_status: &[u16]) -> Result<Self, String> {
        let status = if raw.status.is_empty() && raw.pointer.is_none() {
            default_status.to_vec()
        } else {
            raw.status
        };
        if let Some(bad) = status.iter().find(|s| !(100..=599).contains(*s)) {
            return Err(format!("status {bad} is not an HTTP status code"));
        }
        let pointer = match (raw.pointer, raw.equals) {
            (Some(p), Some(v)) => {
                if !p.is_empty() && !p.starts_with('/') {
                    return Err(format!(
                        "pointer {p:?} must start with \"/\", such as \"/status\""
                    ));
                }
                let value = serde_json::to_value(v).map_err(|e| e.to_string())?;
                Some((p, value))
            }
            (Some(_), None) => return Err("pointer needs equals = <expected value>".into()),
            (None, Some(_)) => return Err("equals needs pointer = \"/json/pointer\"".into()),
            (None, None) => None,
        };
        Ok(Self { status, pointer })
    }

    /// Whether an answer with this status and body matches the rule.
    pub fn matches(&self, status: u16, body: &[u8]) -> bool {
        if !self.status.is_empty() && !self.status.contains(&status) {
            return false;
        }
        match &self.pointer {
            None => true,
            Some((pointer, expected)) => serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|doc| doc.pointer(pointer).cloned())
                .is_some_and(|found| &found == expected),
        }
    }
}

/// `[target]`: the merchant service's endpoint, for `--service` mode, compiled.
///
/// ```toml
/// [target]
/// method = "POST"                     # default POST
/// path = "/checkout"                  # joined to --service URL
/// headers = { "X-Api-Key" = "secret", "Idempotency-Key" = "{{idempotency_key}}" }
/// body = '{"order_id":"{{order_id}}","amount":{{amount}},"currency":"{{currency}}"}'
///
/// [target.success]                    # the order was charged
/// status = [200, 201]                 # any of these codes (default [200, 201])
/// pointer = "/status"                 # optional: and the JSON body at this pointer...
/// equals = "succeeded"                # ...equals this value
///
/// [target.decline]                    # the card was declined: no money moved
/// status = [402]                      # default [402]
/// ```
///
/// Placeholders, in the body, path and header values: `{{order_id}}`,
/// `{{amount}}` (minor units, a bare integer), `{{currency}}`,
/// `{{idempotency_key}}`. The body is a text template: put quotes around
/// string placeholders yourself. It must be JSON once filled in (checked when
/// the file is read); `Content-Type: application/json` is sent unless a header
/// says otherwise.
///
/// An answer is read in this order: the success rule matches → charged; the
/// decline rule matches → declined; a timeout, a dropped connection or a 5xx
/// → outcome unknown (the checker decides from the ledger); anything else →
/// failed (the client was told no money moved).
///
/// `path` is taken from the root of the `--service` host (a path in the
/// `--service` URL is replaced, as URL joining does). The service must pass
/// `{{order_id}}` to the gateway as the payment's `reference`: that is how the
/// check finds each order's money in the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetTemplate {
    /// Upper-case HTTP method.
    pub method: String,
    pub path: Template,
    pub headers: Vec<(String, Template)>,
    pub body: Option<Template>,
    pub success: ResponseRule,
    pub decline: ResponseRule,
    /// How long to wait for the service's answer. A service retries the gateway
    /// before it answers, so this is longer than `[load] timeout`, which is about
    /// one gateway call. Absent: `[load] timeout`.
    pub timeout: Option<Duration>,
}

impl TargetTemplate {
    fn compile(raw: RawTarget) -> Result<Self, FieldError> {
        let method = raw.method.to_ascii_uppercase();
        if !matches!(method.as_str(), "POST" | "PUT" | "PATCH" | "GET" | "DELETE") {
            return Err(field_error(
                "method",
                format!(
                    "must be POST, PUT, PATCH, GET or DELETE, got {:?}",
                    raw.method
                ),
            ));
        }
        if !raw.path.starts_with('/') {
            return Err(field_error(
                "path",
                format!("must start with \"/\", got {:?}", raw.path),
            ));
        }
        let path = Template::compile(&raw.path).map_err(|m| field_error("path", m))?;
        let mut headers = Vec::new();
        for (name, value) in raw.headers {
            if http_header_name_invalid(&name) {
                return Err(field_error(
                    "headers",
                    format!("{name:?} is not a header name"),
                ));
            }
            let t = Template::compile(&value)
                .map_err(|m| field_error(&format!("headers.{name}"), m))?;
            headers.push((name, t));
        }
        let body = raw
            .body
            .as_deref()
            .map(Template::compile)
            .transpose()
            .map_err(|m| field_error("body", m))?;
        if let Some(body) = &body {
            let sample = body.render(&TemplateValues {
                order_id: "ord-0-0",
                amount: 1234,
                currency: "usd",
                idempotency_key: "ord-0-0-k0",
            });
            if let Err(e) = serde_json::from_str::<serde_json::Value>(&sample) {
                return Err(field_error(
                    "body",
                    format!(
                        "is not JSON once filled in ({e}): {sample}; put quotes around string placeholders such as \"{{{{order_id}}}}\""
                    ),
                ));
            }
        }
        let success = ResponseRule::compile(
            raw.success.unwrap_or(RawRule {
                status: vec![],
                pointer: None,
                equals: None,
            }),
            &[200, 201],
        )
        .map_err(|m| field_error("success", m))?;
        let decline = ResponseRule::compile(
            raw.decline.unwrap_or(RawRule {
                status: vec![],
                pointer: None,
                equals: None,
            }),
            &[402],
        )
        .map_err(|m| field_error("decline", m))?;
        let timeout = raw
            .timeout
            .as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|m| field_error("timeout", m))?;
        if timeout.is_some_and(|t| t.is_zero() || t > MAX_WAIT) {
            return Err(field_error("timeout", "must be above 0 and at most 10m"));
        }
        Ok(Self {
            method,
            path,
            headers,
            body,
            success,
            decline,
            timeout,
        })
    }
}

fn http_header_name_invalid(name: &str) -> bool {
    name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
[gateway]
seed = 42

[load]
rate = 1000
duration = "20s"
users = 64
seed = 7
merchants = 2
currency = "usd"
amount_min = 500
amount_max = 20000
timeout = "2s"
settle = "1s"
[load.mix]
purchase = 60
auth_capture = 15
auth_cancel = 5
purchase_refund = 10
double_submit = 5
retry_same_key = 5
retry_new_key = 0

[checks]
max_double_charges = 0
p95_ms = 250.0
"#;

    fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse(text, "test", "test.toml")
    }

    fn error_text(text: &str) -> String {
        match parse(text) {
            Ok(_) => panic!("expected an error for {text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn reads_the_documented_example() {
        let s = parse(FULL).expect("valid");
        assert_eq!(s.load.rate, 1000.0);
        assert_eq!(s.load.duration, Duration::from_secs(20));
        assert_eq!(s.load.users, 64);
        assert_eq!(s.load.seed, 7);
        assert_eq!(s.load.merchants, 2);
        assert_eq!(s.load.timeout, Duration::from_secs(2));
        assert_eq!(s.load.mix.total_weight(), 100);
        assert_eq!(s.load.schedule().total_orders(), 20_000);
        assert!(s.gateway.is_some());
        assert_eq!(
            s.checks.get("p95_ms").and_then(|v| v.as_float()),
            Some(250.0)
        );
        assert!(s.target.is_none());
    }

    #[test]
    fn missing_load_means_defaults_and_all_purchases() {
        let s = parse("").expect("valid");
        assert_eq!(s.load.rate, 100.0);
        assert_eq!(s.load.mix.pick(12345), Some(FlowKind::Purchase));
    }

    #[test]
    fn unknown_keys_and_tables_are_named() {
        assert!(error_text("[load]\nrat = 5\n").contains("rat"));
        assert!(error_text("[laod]\nrate = 5\n").contains("laod"));
        assert!(error_text("[load.mix]\npurchse = 1\n").contains("purchse"));
    }

    #[test]
    fn invalid_values_name_the_field() {
        let cases = [
            ("[load]\nrate = 0\n", "rate"),
            ("[load]\nrate = -5.0\n", "rate"),
            ("[load]\nusers = 0\n", "users"),
            ("[load]\nmerchants = 0\n", "merchants"),
            ("[load]\namount_min = 900\namount_max = 100\n", "amount_min"),
            ("[load]\namount_min = 0\n", "amount_min"),
            ("[load]\ncurrency = \"dollars\"\n", "currency"),
            ("[load]\nduration = \"20\"\n", "duration"),
            ("[load]\nduration = \"0s\"\n", "duration"),
            ("[load]\ntimeout = \"soon\"\n", "timeout"),
            ("[load.mix]\npurchase = 0\n", "mix"),
            ("[load]\nrate = 10000000\nduration = \"7d\"\n", "duration"),
        ];
        for (text, field) in cases {
            let e = error_text(text);
            assert!(e.contains(field), "{text:?} gave {e:?}, expected {field}");
            assert!(e.contains("test.toml"), "{e:?} should name the file");
        }
    }

    #[test]
    fn overrides_replace_load_and_are_validated() {
        let mut s = parse(FULL).expect("valid");
        s.override_load(&LoadOverrides {
            rate: Some(50.0),
            duration: Some(Duration::from_millis(1500)),
            users: Some(4),
            seed: Some(99),
        })
        .expect("valid overrides");
        assert_eq!(s.load.rate, 50.0);
        assert_eq!(s.load.users, 4);
        assert_eq!(s.load.seed, 99);
        assert_eq!(s.load.schedule().total_orders(), 75);
        let e = s
            .override_load(&LoadOverrides {
                users: Some(0),
                ..LoadOverrides::default()
            })
            .expect_err("zero users");
        assert!(e.to_string().contains("--users"), "{e}");
    }

    /// loadgen reads durations with gateway-sim's parser, so one file has one grammar;
    /// the spellings loadgen has always documented keep their meaning.
    #[test]
    fn durations() {
        let ms = Duration::from_millis;
        assert_eq!(parse_duration("500ms"), Ok(ms(500)));
        assert_eq!(parse_duration("20s"), Ok(ms(20_000)));
        assert_eq!(parse_duration("2m"), Ok(ms(120_000)));
        assert_eq!(parse_duration("1h"), Ok(ms(3_600_000)));
        assert_eq!(parse_duration("1m30s"), Ok(ms(90_000)));
        assert_eq!(parse_duration("1.5s"), Ok(ms(1_500)));
        assert_eq!(parse_duration(" 250us "), Ok(Duration::from_micros(250)));
        for bad in [
            "",
            "20",
            "s",
            "1.2.3s",
            "5d",
            "-1s",
            "99999999999999999999999h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn mix_picks_in_proportion_to_weights() {
        let mix = FlowMix::new(FlowMixWeights {
            purchase: 3,
            retry_new_key: 1,
            ..FlowMixWeights::default()
        });
        let picks: Vec<_> = (0..8).filter_map(|d| mix.pick(d)).collect();
        let purchases = picks.iter().filter(|k| **k == FlowKind::Purchase).count();
        assert_eq!(purchases, 6);
        assert_eq!(picks.len() - purchases, 2);
        assert!(
            !picks.contains(&FlowKind::AuthCapture),
            "weight 0 never picked"
        );
        assert_eq!(FlowMix::new(FlowMixWeights::default()).pick(1), None);
    }

    const TARGET: &str = r#"
[target]
path = "/orders/{{order_id}}/pay"
headers = { "Idempotency-Key" = "{{idempotency_key}}" }
body = '{"order_id":"{{order_id}}","amount":{{amount}},"currency":"{{currency}}"}'
[target.success]
status = [200]
pointer = "/status"
equals = "paid"
"#;

    #[test]
    fn target_template_renders_and_reads_answers() {
        let s = parse(TARGET).expect("valid");
        let t = s.target.expect("a target");
        assert_eq!(t.method, "POST");
        let v = TemplateValues {
            order_id: "ord-7-3",
            amount: 1999,
            currency: "eur",
            idempotency_key: "ord-7-3-k0",
        };
        assert_eq!(t.path.render(&v), "/orders/ord-7-3/pay");
        let body: serde_json::Value =
            serde_json::from_str(&t.body.as_ref().expect("body").render(&v)).expect("json");
        assert_eq!(body["amount"], 1999);
        assert_eq!(body["order_id"], "ord-7-3");
        assert_eq!(t.headers[0].1.render(&v), "ord-7-3-k0");
        assert!(t.success.matches(200, br#"{"status":"paid"}"#));
        assert!(!t.success.matches(200, br#"{"status":"failed"}"#));
        assert!(!t.success.matches(201, br#"{"status":"paid"}"#));
        assert!(!t.success.matches(200, b"not json"));
        assert!(t.decline.matches(402, b""));
    }

    #[test]
    fn bad_targets_are_refused() {
        let cases = [
            ("[target]\npath = \"pay\"\n", "path"),
            (
                "[target]\npath = \"/pay\"\nbody = '{\"id\": {{order_id}}}'\n",
                "body",
            ),
            ("[target]\npath = \"/pay/{{order}}\"\n", "order"),
            ("[target]\npath = \"/pay\"\nmethod = \"BREW\"\n", "method"),
            (
                "[target]\npath = \"/pay\"\n[target.success]\npointer = \"/s\"\n",
                "equals",
            ),
            ("[target]\npath = \"/pay\"\nverb = \"POST\"\n", "verb"),
        ];
        for (text, needle) in cases {
            let e = error_text(text);
            assert!(e.contains(needle), "{text:?} gave {e:?}");
        }
    }

    #[test]
    fn capacity_table_is_read_and_checked() {
        let s = parse(
            "[capacity]\nstart = 200\nfactor = 1.25\nstep_duration = \"2s\"\nwarm_up = \"1s\"\nmax_rate = 800\n",
        )
        .expect("valid");
        let c = s.capacity.expect("a [capacity] table");
        assert_eq!(c.start, Some(200.0));
        assert_eq!(c.increase, Some(RateIncrease::Factor(1.25)));
        assert_eq!(c.step_duration, Some(Duration::from_secs(2)));
        assert_eq!(c.warm_up, Some(Duration::from_secs(1)));
        assert_eq!(c.max_rate, Some(800.0));
        let linear = parse("[capacity]\nstep = 50\n").expect("valid");
        assert_eq!(
            linear.capacity.and_then(|c| c.increase),
            Some(RateIncrease::Step(50.0))
        );
        assert!(parse("").expect("valid").capacity.is_none());
    }

    #[test]
    fn bad_capacity_tables_name_the_field() {
        let cases = [
            ("[capacity]\nstrat = 100\n", "strat"),
            ("[capacity]\nstart = 0\n", "start"),
            ("[capacity]\nstep = 10\nfactor = 1.5\n", "step"),
            ("[capacity]\nfactor = 1.0\n", "factor"),
            ("[capacity]\nfactor = 100.0\n", "factor"),
            ("[capacity]\nstep = -5\n", "step"),
            ("[capacity]\nstep_duration = \"10\"\n", "step_duration"),
            ("[capacity]\nstep_duration = \"0s\"\n", "step_duration"),
            ("[capacity]\nstart = 500\nmax_rate = 100\n", "max_rate"),
            (
                "[capacity]\nstep_duration = \"2s\"\nwarm_up = \"2s\"\n",
                "warm_up",
            ),
        ];
        for (text, field) in cases {
            let e = error_text(text);
            assert!(e.contains(field), "{text:?} gave {e:?}, expected {field}");
            assert!(e.contains("test.toml"), "{e:?} should name the file");
        }
    }
}
