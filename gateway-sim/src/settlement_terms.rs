//! `[gateway.settlement]` as the engine's [`SettlementPolicy`]. Its own file because neither
//! side may name the other: the fault model never imports the engine, nor the engine the
//! fault model, and the state (which holds both) only asks for the conversion.

use crate::behaviour::SettlementConfig;
use crate::engine::money::Currency;
use crate::engine::{DiscrepancyRates, Fee, SettlementPolicy};

/// The terms `config` sets, with every draw seeded by `seed`. The table was validated, so a
/// currency key that does not parse can only be `default`.
pub(crate) fn settlement_policy(config: &SettlementConfig, seed: u64) -> SettlementPolicy {
    let fee = |f: &crate::behaviour::FeeConfig| Fee {
        percent_bps: f.percent_bps,
        fixed: f.fixed,
    };
    let d = &config.discrepancies;
    SettlementPolicy {
        seed,
        delay_days: config.delay_days(),
        payout_hour: config.payout_hour(),
        arrival_days: config.arrival_days(),
        payout_failure_rate: config.payout_failure_rate,
        fees: config
            .fees
            .iter()
            .filter_map(|(currency, f)| Some((Currency::parse(currency)?, fee(f))))
            .collect(),
        default_fee: config.fees.get("default").map_or(Fee::STANDARD, fee),
        dispute_fee: config.dispute_fee(),
        discrepancies: DiscrepancyRates {
            missing_row: d.missing_row,
            duplicate_row: d.duplicate_row,
            fee_off: d.fee_off,
            late: d.late,
            unknown_row: d.unknown_row,
        },
    }
}
