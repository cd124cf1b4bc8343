//! `MerchantRateLimiter`: one `governor` GCRA bucket per merchant.
//!
//! Real gateways limit each API key (Stripe: about 100 operations/s in live mode), and a
//! merchant must back off on 429 and honour `Retry-After`. The limiter is keyed by a 64-bit
//! hash of the API key so that checking a request allocates nothing.

use super::config::{ConfigError, RateLimitConfig};
use super::rng::hash_bytes;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::num::NonZeroU32;
use std::time::Duration;

const MERCHANT_HASH_SEED: u64 = 0x7261_7465_6c69_6d74;

/// Per-merchant requests/s with a burst allowance. Generic over the clock so tests can use
/// `governor::clock::FakeRelativeClock`.
pub struct MerchantRateLimiter<C: Clock = DefaultClock> {
    limiter: RateLimiter<u64, DefaultKeyedStateStore<u64>, C, NoOpMiddleware<C::Instant>>,
    config: RateLimitConfig,
}

impl MerchantRateLimiter<DefaultClock> {
    pub fn new(config: &RateLimitConfig) -> Result<Self, ConfigError> {
        Self::with_clock(config, DefaultClock::default())
    }
}

impl<C: Clock> MerchantRateLimiter<C> {
    pub fn with_clock(config: &RateLimitConfig, clock: C) -> Result<Self, ConfigError> {
        let rate = config.requests_per_second;
        let invalid = || {
            ConfigError::new(
                "gateway.rate_limit.requests_per_second",
                format!("{rate} is not a valid rate; expected a number > 0 (at most 1e9)"),
            )
        };
        if !(rate.is_finite() && rate > 0.0 && rate <= 1e9) {
            return Err(invalid());
        }
        // A rate just above 0 has a period no `Duration` holds: refused, where
        // `from_secs_f64` would panic.
        let period = Duration::try_from_secs_f64(1.0 / rate).map_err(|_| invalid())?;
        let burst = NonZeroU32::new(config.effective_burst()).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period)
            .ok_or_else(invalid)?
            .allow_burst(burst);
        Ok(MerchantRateLimiter {
            limiter: RateLimiter::new(quota, DefaultKeyedStateStore::default(), clock),
            config: config.clone(),
        })
    }

    /// Admits one request of `merchant`, or says how long until one would be admitted (the
    /// `Retry-After` of the 429).
    pub fn check(&self, merchant: &str) -> Result<(), Duration> {
        let key = hash_bytes(MERCHANT_HASH_SEED, merchant.as_bytes());
        self.limiter
            .check_key(&key)
            .map_err(|not_until| not_until.wait_time_from(self.limiter.clock().now()))
    }

    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    /// Drops the state of merchants whose bucket is full again (bounded memory over long runs).
    pub fn retain_recent(&self) {
        self.limiter.retain_recent();
    }

    /// Number of merchants with state.
    pub fn len(&self) -> usize {
        self.limiter.len()
    }

    pub fn is_empty(&self) -> bool {
        self.limiter.is_empty()
    }
}

impl<C: Clock> std::fmt::Debug for MerchantRateLimiter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerchantRateLimiter")
            .field("config", &self.config)
            .field("merchants", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    #[test]
    fn allows_the_burst_then_answers_with_the_time_to_wait() {
        let clock = FakeRelativeClock::default();
        let limiter =
            MerchantRateLimiter::with_clock(&RateLimitConfig::new(10.0, 3), clock.clone())
                .expect("valid config");
        for attempt in 0..3 {
            assert_eq!(limiter.check("sk_busy"), Ok(()), "burst attempt {attempt}");
        }
        // 10/s replenishes one request every 100 ms.
        assert_eq!(limiter.check("sk_busy"), Err(Duration::from_millis(100)));
        clock.advance(Duration::from_millis(40));
        assert_eq!(limiter.check("sk_busy"), Err(Duration::from_millis(60)));
        clock.advance(Duration::from_millis(60));
        assert_eq!(limiter.check("sk_busy"), Ok(()));
        assert!(limiter.check("sk_busy").is_err());
    }

    #[test]
    fn merchants_have_separate_buckets() {
        let clock = FakeRelativeClock::default();
        let limiter =
            MerchantRateLimiter::with_clock(&RateLimitConfig::new(1.0, 1), clock).expect("valid");
        assert_eq!(limiter.check("sk_a"), Ok(()));
        assert!(limiter.check("sk_a").is_err());
        assert_eq!(limiter.check("sk_b"), Ok(()));
        assert_eq!(limiter.len(), 2);
    }

    #[test]
    fn burst_defaults_to_one_second_of_requests() {
        let clock = FakeRelativeClock::default();
        let config = RateLimitConfig {
            requests_per_second: 5.0,
            burst: None,
        };
        let limiter = MerchantRateLimiter::with_clock(&config, clock).expect("valid");
        let admitted = (0..20).filter(|_| limiter.check("sk").is_ok()).count();
        assert_eq!(admitted, 5);
    }

    #[test]
    fn rejects_rates_it_cannot_enforce() {
        // The tiny ones once panicked: their period, 1/rate, overflows a Duration.
        for rate in [
            0.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            1e-300,
            f64::MIN_POSITIVE,
        ] {
            let config = RateLimitConfig::new(rate, 1);
            let err = MerchantRateLimiter::new(&config).expect_err("invalid rate");
            assert_eq!(err.field, "gateway.rate_limit.requests_per_second");
        }
    }
}
