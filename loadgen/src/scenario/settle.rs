//! `[settle]`: the settlement step of `loadgen run`. When the table is there, the run plays
//! settlement too: during the load it can move the gateway's clock a simulated day every
//! `day_every` of real time (so payouts run while orders arrive, and a refund lands in a later
//! payout than its charge), and after the load it does what `loadgen settle` does (moves the
//! clock past settlement, checks the payout reconciliation report against the ledger, the fee
//! schedule and the bank statement, and the mistakes found against the answer key); its
//! verdict is among the run's checks.
//!
//! Its own file because it is read only by the run, and has its own bounds.

use std::time::Duration;

use gateway_sim::parse_duration;
use serde::Deserialize;

use super::field::{FieldError, field_error};

/// The most simulated days one run may move the clock after its load (a year, far past any
/// settlement delay and payout schedule the gateway accepts).
const MAX_ADVANCE_DAYS: u64 = 366;

/// The shortest `day_every`: a tenth of a second already plays a month in three seconds.
const MIN_DAY_EVERY: Duration = Duration::from_millis(100);

/// `[settle]` as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSettle {
    advance_days: Option<u64>,
    day_every: Option<String>,
}

/// The settlement step of a run, validated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SettlePlan {
    /// Simulated days the clock moves after the load before the check; `None`: enough for
    /// everything booked to be paid out and arrive (as `loadgen settle` without
    /// `--advance-days`).
    pub advance_days: Option<u64>,
    /// During the load, one simulated day every this much real time; `None`: the clock moves
    /// only after the load.
    pub day_every: Option<Duration>,
}

impl RawSettle {
    pub(super) fn validate(self) -> Result<SettlePlan, FieldError> {
        if let Some(days) = self.advance_days
            && days > MAX_ADVANCE_DAYS
        {
            return Err(field_error(
                "advance_days",
                format!("must be at most {MAX_ADVANCE_DAYS} days; got {days}"),
            ));
        }
        let day_every = self
            .day_every
            .as_deref()
            .map(|text| parse_duration(text).map_err(|m| field_error("day_every", m)))
            .transpose()?;
        if let Some(every) = day_every
            && every < MIN_DAY_EVERY
        {
            return Err(field_error(
                "day_every",
                format!(
                    "must be at least {} ms of real time per simulated day; got {} ms",
                    MIN_DAY_EVERY.as_millis(),
                    every.as_millis()
                ),
            ));
        }
        Ok(SettlePlan {
            advance_days: self.advance_days,
            day_every,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_reads_its_two_knobs_and_refuses_what_cannot_run() {
        let plan = RawSettle {
            advance_days: Some(6),
            day_every: Some("1s".into()),
        }
        .validate()
        .expect("valid");
        assert_eq!(plan.advance_days, Some(6));
        assert_eq!(plan.day_every, Some(Duration::from_secs(1)));
        assert_eq!(
            RawSettle::default().validate().expect("valid"),
            SettlePlan::default()
        );
        let fast = RawSettle {
            day_every: Some("10ms".into()),
            ..RawSettle::default()
        };
        assert_eq!(fast.validate().unwrap_err().0, "day_every");
        let far = RawSettle {
            advance_days: Some(10_000),
            ..RawSettle::default()
        };
        assert_eq!(far.validate().unwrap_err().0, "advance_days");
        let garbled = RawSettle {
            day_every: Some("soon".into()),
            ..RawSettle::default()
        };
        assert_eq!(garbled.validate().unwrap_err().0, "day_every");
    }
}
