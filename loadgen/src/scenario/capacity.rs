//! `[capacity]`: the staircase of arrival rates `loadgen capacity` climbs ([`CapacitySettings`]),
//! and the checks its values (and the flags that replace them) must pass.
//!
//! Read only by `loadgen capacity`; `loadgen run` ignores the table. How the table, the
//! flags and the defaults become one plan is `crate::capacity::CapacityPlan`'s business.

use std::time::Duration;

use gateway_sim::parse_duration;
use serde::Deserialize;

use super::field::{FieldError, field_error};
use super::load::MAX_RATE;

/// The largest accepted step of `[capacity]` (one step holds one rate this long).
pub const MAX_STEP_DURATION: Duration = Duration::from_secs(3600);
/// The largest accepted `[capacity] factor`.
pub const MAX_FACTOR: f64 = 10.0;

/// `[capacity]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCapacity {
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
/// The flags are the same five settings, so they come in this type too (every
/// field `None` when no flag was given); `CapacityPlan::resolve` lays them over
/// the table.
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
/// Read from the table, each value is checked here, and so are `max_rate`
/// against `start` and `warm_up` against `step_duration` when the table gives
/// both. Flags are checked, and everything again together (not too many steps),
/// once they are laid over the table, by `loadgen capacity`.
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
    pub(super) fn validate(self) -> Result<CapacitySettings, FieldError> {
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
