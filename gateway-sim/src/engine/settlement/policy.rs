//! The settlement terms in force: fees, the settlement delay, the payout schedule, and the
//! processor's mistakes on purpose. Plain data handed in by the state (from
//! `[gateway.settlement]`), so the engine never reads the fault model's config types.

use crate::engine::money::Currency;

/// Milliseconds in a simulator day.
pub const DAY_MS: u64 = 24 * 3600 * 1000;

/// A processing fee: `percent_bps` basis points of the gross (290 = 2.9%) plus `fixed`
/// minor units. Basis points keep the schedule in integers, as money always is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fee {
    pub percent_bps: u32,
    pub fixed: i64,
}

impl Fee {
    /// Stripe's standard card pricing: 2.9% + 30.
    pub const STANDARD: Fee = Fee {
        percent_bps: 290,
        fixed: 30,
    };

    /// The fee on a charge of `gross` minor units, rounded half up. Computed in i128 so no
    /// gross the engine accepts can overflow the multiplication.
    pub fn on(self, gross: i64) -> i64 {
        let percent = (i128::from(gross) * i128::from(self.percent_bps) + 5_000) / 10_000;
        i64::try_from(percent).unwrap_or(i64::MAX) + self.fixed
    }
}

/// The probability of each of the processor's mistakes, per balance transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DiscrepancyRates {
    pub missing_row: f64,
    pub duplicate_row: f64,
    pub fee_off: f64,
    pub late: f64,
    pub unknown_row: f64,
}

/// Everything settlement is a function of, besides the ledger and the clock.
#[derive(Debug, Clone, PartialEq)]
pub struct SettlementPolicy {
    /// Seeds every draw (discrepancies, payout failures).
    pub seed: u64,
    /// Whole simulator days from a transaction's day to the day it becomes available.
    pub delay_days: u32,
    /// The hour of each simulator day (UTC) at which automatic payouts run.
    pub payout_hour: u32,
    /// Whole days from a payout's creation to its arrival at the bank.
    pub arrival_days: u32,
    /// The share of payouts the bank returns.
    pub payout_failure_rate: f64,
    /// Fees per currency; [`SettlementPolicy::default_fee`] for the rest.
    pub fees: Vec<(Currency, Fee)>,
    pub default_fee: Fee,
    /// Charged on each dispute, in the dispute's currency.
    pub dispute_fee: i64,
    pub discrepancies: DiscrepancyRates,
}

impl Default for SettlementPolicy {
    fn default() -> Self {
        SettlementPolicy {
            seed: 0,
            delay_days: 2,
            payout_hour: 0,
            arrival_days: 1,
            payout_failure_rate: 0.0,
            fees: Vec::new(),
            default_fee: Fee::STANDARD,
            dispute_fee: 1500,
            discrepancies: DiscrepancyRates::default(),
        }
    }
}

impl SettlementPolicy {
    pub fn fee_for(&self, currency: Currency) -> Fee {
        self.fees
            .iter()
            .find(|(c, _)| *c == currency)
            .map_or(self.default_fee, |(_, fee)| *fee)
    }

    /// When a transaction made at `created_ms` becomes available: midnight (UTC) of its
    /// day plus the delay, as Stripe dates `available_on`.
    pub fn available_on_ms(&self, created_ms: u64) -> u64 {
        (created_ms / DAY_MS + u64::from(self.delay_days)) * DAY_MS
    }

    /// The first payout run at or after `t_ms`.
    pub fn payout_run_at_or_after(&self, t_ms: u64) -> u64 {
        let run = (t_ms / DAY_MS) * DAY_MS + u64::from(self.payout_hour) * 3_600_000;
        if run >= t_ms { run } else { run + DAY_MS }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_fee_is_two_point_nine_percent_plus_thirty() {
        assert_eq!(Fee::STANDARD.on(10_000), 320);
        // 2.9% of 1,050 is 30.45: rounded to 30, plus 30.
        assert_eq!(Fee::STANDARD.on(1_050), 60);
        // 2.9% of 1,500 is 43.5: half rounds up.
        assert_eq!(Fee::STANDARD.on(1_500), 74);
        assert_eq!(Fee::STANDARD.on(9_999_999_999), 290_000_030);
    }

    #[test]
    fn availability_counts_whole_days_from_midnight() {
        let policy = SettlementPolicy::default();
        let noon_day_3 = 3 * DAY_MS + DAY_MS / 2;
        assert_eq!(policy.available_on_ms(noon_day_3), 5 * DAY_MS);
        assert_eq!(policy.available_on_ms(3 * DAY_MS), 5 * DAY_MS);
    }

    #[test]
    fn payout_runs_fall_at_the_configured_hour() {
        let policy = SettlementPolicy {
            payout_hour: 6,
            ..SettlementPolicy::default()
        };
        let six = 6 * 3_600_000;
        assert_eq!(policy.payout_run_at_or_after(DAY_MS), DAY_MS + six);
        assert_eq!(policy.payout_run_at_or_after(DAY_MS + six), DAY_MS + six);
        assert_eq!(
            policy.payout_run_at_or_after(DAY_MS + six + 1),
            2 * DAY_MS + six
        );
    }
}
