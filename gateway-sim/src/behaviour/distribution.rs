//! A latency distribution as a scenario writes it (`{ distribution = "lognormal", p50 = "80ms",
//! p99 = "400ms" }`): the serde shape shared by the API's latency and the webhooks' delay.
//!
//! A leaf of its own, below `config.rs` and `webhooks.rs` (both hold one) and `latency.rs`
//! (which compiles it), so none of them has to import another in a circle.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The longest delay the simulator injects; a heavy lognormal tail is cut here. Longer waits are
/// what the `hang` fault is for.
pub const MAX_INJECTED_LATENCY: Duration = Duration::from_secs(3600);

/// The shape of a latency distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DistributionKind {
    /// Always `value`.
    Constant,
    /// Evenly between `min` and `max`.
    Uniform,
    /// Normal with `mean` and `stddev`, negative draws cut to 0.
    Normal,
    /// Lognormal with the given median `p50` and 99th percentile `p99`.
    Lognormal,
    /// One of `components`, chosen by `weight`.
    Mixture,
}

impl DistributionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DistributionKind::Constant => "constant",
            DistributionKind::Uniform => "uniform",
            DistributionKind::Normal => "normal",
            DistributionKind::Lognormal => "lognormal",
            DistributionKind::Mixture => "mixture",
        }
    }

    /// The keys this kind takes (besides `distribution`, and `weight` inside a mixture).
    pub(super) fn keys(self) -> &'static [&'static str] {
        match self {
            DistributionKind::Constant => &["value"],
            DistributionKind::Uniform => &["min", "max"],
            DistributionKind::Normal => &["mean", "stddev"],
            DistributionKind::Lognormal => &["p50", "p99"],
            DistributionKind::Mixture => &["components"],
        }
    }
}

/// A latency distribution. One flat table whose `distribution` says which other keys apply:
/// `{ distribution = "lognormal", p50 = "80ms", p99 = "400ms" }`. (Flat rather than a serde
/// tagged enum so that unknown keys and wrong types are reported with their full path.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyConfig {
    pub distribution: DistributionKind,
    /// constant: the delay.
    #[serde(
        default,
        with = "super::duration::option_as_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub value: Option<Duration>,
    /// uniform: the shortest delay.
    #[serde(
        default,
        with = "super::duration::option_as_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub min: Option<Duration>,
    /// uniform: the longest delay.
    #[serde(
        default,
        with = "super::duration::option_as_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub max: Option<Duration>,
    /// normal: the mean delay.
    #[serde(
        default,
        with = "super::duration::option_as_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub mean: Option<Duration>,
    /// normal: the standard deviation.
    #[serde(
        default,
        with = "super::duration::option_as_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub stddev: Option<Duration>,
    /// lognormal: the median delay.
    #[serde(
        default,
        with = "super::duration::option_as_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub p50: Option<Duration>,
    /// lognormal: the 99th percentile delay.
    #[serde(
        default,
        with = "super::duration::option_as_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub p99: Option<Duration>,
    /// mixture component only: relative weight (> 0; weights need not sum to 1 or 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// mixture: the weighted components (none of them itself a mixture).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<LatencyConfig>,
}

impl LatencyConfig {
    fn empty(distribution: DistributionKind) -> Self {
        LatencyConfig {
            distribution,
            value: None,
            min: None,
            max: None,
            mean: None,
            stddev: None,
            p50: None,
            p99: None,
            weight: None,
            components: Vec::new(),
        }
    }

    pub fn constant(value: Duration) -> Self {
        LatencyConfig {
            value: Some(value),
            ..Self::empty(DistributionKind::Constant)
        }
    }

    pub fn uniform(min: Duration, max: Duration) -> Self {
        LatencyConfig {
            min: Some(min),
            max: Some(max),
            ..Self::empty(DistributionKind::Uniform)
        }
    }

    pub fn normal(mean: Duration, stddev: Duration) -> Self {
        LatencyConfig {
            mean: Some(mean),
            stddev: Some(stddev),
            ..Self::empty(DistributionKind::Normal)
        }
    }

    pub fn lognormal(p50: Duration, p99: Duration) -> Self {
        LatencyConfig {
            p50: Some(p50),
            p99: Some(p99),
            ..Self::empty(DistributionKind::Lognormal)
        }
    }

    /// A weighted mixture of `(weight, component)` pairs.
    pub fn mixture(components: Vec<(f64, LatencyConfig)>) -> Self {
        LatencyConfig {
            components: components
                .into_iter()
                .map(|(weight, component)| LatencyConfig {
                    weight: Some(weight),
                    ..component
                })
                .collect(),
            ..Self::empty(DistributionKind::Mixture)
        }
    }

    pub(super) fn durations(&self) -> [(&'static str, Option<Duration>); 7] {
        [
            ("value", self.value),
            ("min", self.min),
            ("max", self.max),
            ("mean", self.mean),
            ("stddev", self.stddev),
            ("p50", self.p50),
            ("p99", self.p99),
        ]
    }
}
