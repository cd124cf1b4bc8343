//! The settlement terms the check holds the report to: fees per currency, the dispute fee,
//! the settlement delay and the payout schedule, read from the scenario's
//! `[gateway.settlement]` (Stripe's standard terms when absent). The fee arithmetic is written
//! out again here on purpose: the check must not trust the simulator's own.

use std::collections::BTreeMap;

use gateway_sim::SettlementConfig;

pub const DAY: u64 = 86_400;

#[derive(Debug, Clone, PartialEq)]
pub struct Terms {
    /// (basis points, fixed) per currency, and for the rest.
    pub fees: BTreeMap<String, (u32, i64)>,
    pub default_fee: (u32, i64),
    pub dispute_fee: i64,
    pub delay_days: u64,
    pub payout_hour: u64,
    pub arrival_days: u64,
}

impl Default for Terms {
    fn default() -> Self {
        Terms::from_config(&SettlementConfig::default())
    }
}

impl Terms {
    pub fn from_config(config: &SettlementConfig) -> Terms {
        let pair = |f: &gateway_sim::FeeConfig| (f.percent_bps, f.fixed);
        Terms {
            fees: config
                .fees
                .iter()
                .filter(|(c, _)| c.as_str() != "default")
                .map(|(c, f)| (c.clone(), pair(f)))
                .collect(),
            default_fee: config.fees.get("default").map_or((290, 30), pair),
            dispute_fee: config.dispute_fee(),
            delay_days: u64::from(config.delay_days()),
            payout_hour: u64::from(config.payout_hour()),
            arrival_days: u64::from(config.arrival_days()),
        }
    }

    /// The fee the schedule asks of a row: a charge's percentage and fixed part (rounded
    /// half up), a dispute's fee, nothing on refunds, reversals and payouts.
    pub fn expected_fee(&self, category: &str, currency: &str, gross: i64) -> i64 {
        match category {
            "charge" => {
                let (bps, fixed) = self.fees.get(currency).copied().unwrap_or(self.default_fee);
                let percent = (i128::from(gross) * i128::from(bps) + 5_000) / 10_000;
                i64::try_from(percent).unwrap_or(i64::MAX) + fixed
            }
            "dispute" => self.dispute_fee,
            _ => 0,
        }
    }

    /// The first payout run at or after `t` (Unix seconds).
    pub fn run_at_or_after(&self, t: u64) -> u64 {
        let run = t / DAY * DAY + self.payout_hour * 3600;
        if run >= t { run } else { run + DAY }
    }

    /// When a transaction made at `t` is available.
    pub fn available_on(&self, t: u64) -> u64 {
        (t / DAY + self.delay_days) * DAY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_terms_charge_two_point_nine_percent_plus_thirty() {
        let terms = Terms::default();
        assert_eq!(terms.expected_fee("charge", "usd", 10_000), 320);
        assert_eq!(terms.expected_fee("charge", "usd", 1_500), 74);
        assert_eq!(terms.expected_fee("refund", "usd", -5_000), 0);
        assert_eq!(terms.expected_fee("dispute", "usd", -5_000), 1500);
    }
}
