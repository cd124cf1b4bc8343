//! Latency distributions, compiled from their config and sampled by inverse CDF.
//!
//! Inverse-CDF sampling (one uniform draw mapped through the quantile function) is used instead
//! of `rand_distr`'s samplers for two reasons: the mapping from a request's draw to its delay is
//! written here and cannot change under a dependency upgrade, and the same quantile function
//! that samples also states the distribution's true p50/p95/p99, which is what the fidelity test
//! and the printed fidelity figures compare against.

use super::distribution::{DistributionKind, LatencyConfig, MAX_INJECTED_LATENCY};
use super::rng::SplitMix64;
use std::time::Duration;

/// The standard normal quantile at 0.99, used to turn a (p50, p99) pair into lognormal sigma.
const Z_99: f64 = 2.326_347_874_040_841;

/// A compiled latency distribution over seconds.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Dist {
    Constant(f64),
    Uniform {
        min: f64,
        max: f64,
    },
    /// Normal, clamped at 0 (a negative delay is no delay).
    Normal {
        mean: f64,
        stddev: f64,
    },
    /// ln(X) ~ Normal(mu, sigma).
    LogNormal {
        mu: f64,
        sigma: f64,
    },
    /// Components with their cumulative, normalised weights (the last is 1.0).
    Mixture(Vec<(f64, Dist)>),
}

impl Dist {
    pub(crate) const ZERO: Dist = Dist::Constant(0.0);

    /// Compiles a validated config. Fields the config lacks read as zero; `validate` has already
    /// rejected such configs, so this never sees them in practice.
    pub(crate) fn compile(config: &LatencyConfig) -> Dist {
        let secs = |d: Option<Duration>| d.map_or(0.0, |d| d.as_secs_f64());
        match config.distribution {
            DistributionKind::Constant => Dist::Constant(secs(config.value)),
            DistributionKind::Uniform => Dist::Uniform {
                min: secs(config.min),
                max: secs(config.max),
            },
            DistributionKind::Normal => Dist::Normal {
                mean: secs(config.mean),
                stddev: secs(config.stddev),
            },
            DistributionKind::Lognormal => {
                let p50 = secs(config.p50).max(f64::MIN_POSITIVE);
                let p99 = secs(config.p99).max(p50);
                Dist::LogNormal {
                    mu: p50.ln(),
                    sigma: (p99.ln() - p50.ln()) / Z_99,
                }
            }
            DistributionKind::Mixture => {
                let total: f64 = config
                    .components
                    .iter()
                    .map(|c| c.weight.unwrap_or(0.0))
                    .sum();
                if config.components.is_empty() || total <= 0.0 || !total.is_finite() {
                    return Dist::ZERO;
                }
                let mut cumulative = 0.0;
                let mut parts: Vec<(f64, Dist)> = config
                    .components
                    .iter()
                    .map(|c| {
                        cumulative += c.weight.unwrap_or(0.0) / total;
                        (cumulative, Dist::compile(c))
                    })
                    .collect();
                // Float sums can end a hair below 1; the last component must catch every draw.
                if let Some(last) = parts.last_mut() {
                    last.0 = 1.0;
                }
                Dist::Mixture(parts)
            }
        }
    }

    /// One delay, in seconds, from the request's latency stream.
    pub(crate) fn sample(&self, rng: &mut SplitMix64) -> f64 {
        match self {
            Dist::Mixture(parts) => {
                let u = rng.next_unit();
                let chosen = parts
                    .iter()
                    .find(|(cumulative, _)| u < *cumulative)
                    .or(parts.last());
                chosen.map_or(0.0, |(_, dist)| dist.sample(rng))
            }
            single => single.quantile(rng.next_open_unit()),
        }
    }

    /// The true quantile at probability `p` (0 < p < 1), in seconds.
    pub(crate) fn quantile(&self, p: f64) -> f64 {
        match self {
            Dist::Constant(value) => *value,
            Dist::Uniform { min, max } => min + p * (max - min),
            Dist::Normal { mean, stddev } => (mean + stddev * normal_quantile(p)).max(0.0),
            Dist::LogNormal { mu, sigma } => (mu + sigma * normal_quantile(p)).exp(),
            Dist::Mixture(parts) => {
                // The mixture CDF has no closed-form inverse: bisect it. The answer lies between
                // 0 and the largest component quantile at p (where every component's CDF is >= p).
                let mut high = parts
                    .iter()
                    .map(|(_, d)| d.quantile(p))
                    .fold(0.0_f64, f64::max);
                let mut low = 0.0_f64;
                if self.cdf(low) >= p {
                    return low;
                }
                for _ in 0..200 {
                    let mid = 0.5 * (low + high);
                    if mid <= low || mid >= high {
                        break;
                    }
                    if self.cdf(mid) >= p {
                        high = mid;
                    } else {
                        low = mid;
                    }
                }
                high
            }
        }
    }

    /// P(delay <= x), x in seconds.
    pub(crate) fn cdf(&self, x: f64) -> f64 {
        match self {
            Dist::Constant(value) => step(x >= *value),
            Dist::Uniform { min, max } => {
                if max <= min {
                    step(x >= *min)
                } else {
                    ((x - min) / (max - min)).clamp(0.0, 1.0)
                }
            }
            Dist::Normal { mean, stddev } => {
                if x < 0.0 {
                    0.0
                } else if *stddev <= 0.0 {
                    step(x >= *mean)
                } else {
                    normal_cdf((x - mean) / stddev)
                }
            }
            Dist::LogNormal { mu, sigma } => {
                if x <= 0.0 {
                    0.0
                } else if *sigma <= 0.0 {
                    step(x >= mu.exp())
                } else {
                    normal_cdf((x.ln() - mu) / sigma)
                }
            }
            Dist::Mixture(parts) => {
                let mut previous = 0.0;
                let mut total = 0.0;
                for (cumulative, dist) in parts {
                    total += (cumulative - previous) * dist.cdf(x);
                    previous = *cumulative;
                }
                total
            }
        }
    }
}

fn step(reached: bool) -> f64 {
    if reached { 1.0 } else { 0.0 }
}

/// Converts seconds to a Duration, cut at `MAX_INJECTED_LATENCY` (and at 0, and NaN to 0).
pub(crate) fn seconds_to_duration(seconds: f64) -> Duration {
    if seconds.is_nan() || seconds <= 0.0 {
        return Duration::ZERO;
    }
    if seconds >= MAX_INJECTED_LATENCY.as_secs_f64() {
        return MAX_INJECTED_LATENCY;
    }
    Duration::from_secs_f64(seconds)
}

/// Standard normal CDF.
pub(crate) fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// Complementary error function, Chebyshev fit with fractional error below 1.2e-7 everywhere
/// (Numerical Recipes' `erfcc`): ample for stating quantiles to well under 0.1%.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let ans = t * poly.exp();
    if x >= 0.0 { ans } else { 2.0 - ans }
}

/// Standard normal quantile (inverse CDF), Acklam's rational approximation: relative error below
/// 1.15e-9 on (0, 1). Returns ±infinity at 0 and 1.
pub(crate) fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.02425;
    if p.is_nan() {
        return f64::NAN;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p <= 1.0 - P_LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantile_and_cdf_agree_with_tables() {
        assert!((normal_quantile(0.5)).abs() < 1e-9);
        assert!((normal_quantile(0.99) - Z_99).abs() < 1e-8);
        assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-8);
        assert!((normal_quantile(0.001) + 3.090_232_306_167_813_5).abs() < 1e-8);
        for p in [0.001, 0.01, 0.1, 0.3, 0.5, 0.7, 0.95, 0.999] {
            let back = normal_cdf(normal_quantile(p));
            assert!((back - p).abs() < 1e-6, "p={p} back={back}");
        }
        assert!(normal_quantile(0.0).is_infinite());
        assert!(normal_quantile(1.0).is_infinite());
    }

    #[test]
    fn lognormal_from_p50_and_p99_has_those_quantiles() {
        let config =
            LatencyConfig::lognormal(Duration::from_millis(80), Duration::from_millis(400));
        let dist = Dist::compile(&config);
        assert!((dist.quantile(0.5) - 0.080).abs() < 1e-9);
        assert!((dist.quantile(0.99) - 0.400).abs() < 1e-7);
        assert!((dist.cdf(0.080) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn mixture_quantile_inverts_its_cdf() {
        let config = LatencyConfig::mixture(vec![
            (
                98.0,
                LatencyConfig::lognormal(Duration::from_millis(80), Duration::from_millis(400)),
            ),
            (2.0, LatencyConfig::constant(Duration::from_secs(3))),
        ]);
        let dist = Dist::compile(&config);
        // Below 3 s only the lognormal part (98%) contributes, so p99 is the 3 s spike.
        assert!((dist.quantile(0.99) - 3.0).abs() < 1e-6);
        let p95 = dist.quantile(0.95);
        assert!((dist.cdf(p95) - 0.95).abs() < 1e-6);
        assert!(p95 < 0.4);
    }

    #[test]
    fn clamped_normal_puts_its_negative_mass_at_zero() {
        let dist = Dist::Normal {
            mean: 0.010,
            stddev: 0.010,
        };
        // P(X < 0) is about 16%, so every quantile up to it is 0.
        assert_eq!(dist.quantile(0.1), 0.0);
        assert!((dist.cdf(0.0) - 0.158_655_25).abs() < 1e-6);
        assert!((dist.quantile(0.5) - 0.010).abs() < 1e-9);
    }

    #[test]
    fn seconds_to_duration_is_total() {
        assert_eq!(seconds_to_duration(f64::NAN), Duration::ZERO);
        assert_eq!(seconds_to_duration(-1.0), Duration::ZERO);
        assert_eq!(seconds_to_duration(f64::INFINITY), MAX_INJECTED_LATENCY);
        assert_eq!(seconds_to_duration(0.25), Duration::from_millis(250));
    }
}
