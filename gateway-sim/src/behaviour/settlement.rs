//! `[gateway.settlement]`: fees, the settlement delay, the payout schedule and its failures,
//! and `[gateway.settlement.discrepancies]`, the processor's mistakes on purpose. The serde
//! shape and its rules; the engine takes the terms as plain data (the state converts).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The most days a transaction may wait to be available, or a payout to arrive.
pub(super) const MAX_DAYS: u32 = 90;

/// `[gateway.settlement]`. Absent keys take Stripe's standard terms: 2.9% + 30, available
/// two days later, paid out daily at midnight UTC of simulator time, arriving a day later.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SettlementConfig {
    /// Whole simulator days from a transaction's day to the day it is available. Absent: 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_days: Option<u32>,
    /// The UTC hour (0-23) of simulator time at which the daily payout runs. Absent: 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payout_hour: Option<u32>,
    /// Whole days from a payout to its arrival at the bank. Absent: 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arrival_days: Option<u32>,
    /// The share of payouts the bank returns (the money goes back to the balance).
    #[serde(skip_serializing_if = "is_zero")]
    pub payout_failure_rate: f64,
    /// The fee of each dispute, minor units. Absent: 1500.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dispute_fee: Option<i64>,
    /// Fees by currency (`usd`, `eur`...) and `default` for the rest. Absent: 2.9% + 30.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fees: BTreeMap<String, FeeConfig>,
    #[serde(skip_serializing_if = "DiscrepanciesConfig::is_empty")]
    pub discrepancies: DiscrepanciesConfig,
}

/// A fee: `percent_bps` basis points of the gross (290 is 2.9%) plus `fixed` minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeConfig {
    pub percent_bps: u32,
    pub fixed: i64,
}

/// `[gateway.settlement.discrepancies]`: the probability of each mistake, per balance
/// transaction; they add up to at most 1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscrepanciesConfig {
    #[serde(skip_serializing_if = "is_zero")]
    pub missing_row: f64,
    #[serde(skip_serializing_if = "is_zero")]
    pub duplicate_row: f64,
    #[serde(skip_serializing_if = "is_zero")]
    pub fee_off: f64,
    #[serde(skip_serializing_if = "is_zero")]
    pub late: f64,
    #[serde(skip_serializing_if = "is_zero")]
    pub unknown_row: f64,
}

fn is_zero(value: &f64) -> bool {
    *value == 0.0
}

impl DiscrepanciesConfig {
    fn is_empty(&self) -> bool {
        *self == DiscrepanciesConfig::default()
    }

    /// Each rate by its key.
    pub fn rates(&self) -> [(&'static str, f64); 5] {
        [
            ("missing_row", self.missing_row),
            ("duplicate_row", self.duplicate_row),
            ("fee_off", self.fee_off),
            ("late", self.late),
            ("unknown_row", self.unknown_row),
        ]
    }
}

impl SettlementConfig {
    pub fn is_empty(&self) -> bool {
        *self == SettlementConfig::default()
    }

    pub fn delay_days(&self) -> u32 {
        self.delay_days.unwrap_or(2)
    }

    pub fn payout_hour(&self) -> u32 {
        self.payout_hour.unwrap_or(0)
    }

    pub fn arrival_days(&self) -> u32 {
        self.arrival_days.unwrap_or(1)
    }

    pub fn dispute_fee(&self) -> i64 {
        self.dispute_fee.unwrap_or(1500)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::behaviour::{BehaviourConfig, ConfigError};

    fn table(toml_text: &str) -> SettlementConfig {
        toml::from_str(toml_text).expect("a settlement table")
    }

    fn validate(settlement: SettlementConfig) -> Result<(), ConfigError> {
        BehaviourConfig {
            settlement,
            ..BehaviourConfig::default()
        }
        .validate()
    }

    #[test]
    fn defaults_are_stripes_standard_terms() {
        let config = SettlementConfig::default();
        assert_eq!(
            (
                config.delay_days(),
                config.payout_hour(),
                config.arrival_days()
            ),
            (2, 0, 1)
        );
        assert_eq!(config.dispute_fee(), 1500);
        assert!(validate(config).is_ok());
    }

    #[test]
    fn each_rule_names_its_field() {
        let cases = [
            ("payout_hour = 24", "gateway.settlement.payout_hour"),
            ("delay_days = 91", "gateway.settlement.delay_days"),
            (
                "payout_failure_rate = 1.5",
                "gateway.settlement.payout_failure_rate",
            ),
            (
                "fees.USD = { percent_bps = 290, fixed = 30 }",
                "gateway.settlement.fees.USD",
            ),
            (
                "fees.usd = { percent_bps = 10001, fixed = 30 }",
                "gateway.settlement.fees.usd.percent_bps",
            ),
            (
                "discrepancies.late = -0.1",
                "gateway.settlement.discrepancies.late",
            ),
            (
                "discrepancies.late = 0.6\ndiscrepancies.fee_off = 0.6",
                "gateway.settlement.discrepancies",
            ),
        ];
        for (text, field) in cases {
            let err = validate(table(text)).unwrap_err();
            assert_eq!(err.field, field, "{text}");
        }
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<SettlementConfig>("delay = 2").is_err());
        assert!(toml::from_str::<SettlementConfig>("discrepancies.missing = 0.1").is_err());
    }
}
