//! `[load.three_ds]`: how the buyers of the `three_ds` flow answer the 3-D Secure challenge
//! their card asks for: the share of orders whose buyer walks away from it (`abandon`);
//! every other buyer completes it.
//!
//! Its own file because it is read apart from the mix (a weight says how often the flow
//! runs, this says what its buyers do) and validated with its own bounds.

use serde::Deserialize;

use super::field::{FieldError, field_error};

/// `[load.three_ds]` as written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawThreeDs {
    #[serde(default)]
    abandon: f64,
}

/// What the `three_ds` flow's buyers do, validated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChallengeAnswers {
    /// Orders in a million whose buyer abandons the challenge. Kept as an integer so an
    /// order's choice is an exact comparison of a seeded draw, the same on every machine.
    abandon_per_million: u64,
}

impl ChallengeAnswers {
    /// Whether the buyer whose seeded draw is `draw` abandons the challenge.
    pub fn abandons(&self, draw: u64) -> bool {
        draw % 1_000_000 < self.abandon_per_million
    }

    /// The share of buyers who abandon, from 0 to 1.
    pub fn abandon_share(&self) -> f64 {
        self.abandon_per_million as f64 / 1_000_000.0
    }
}

impl RawThreeDs {
    pub(super) fn validate(self) -> Result<ChallengeAnswers, FieldError> {
        if !self.abandon.is_finite() || !(0.0..=1.0).contains(&self.abandon) {
            return Err(field_error(
                "three_ds.abandon",
                format!(
                    "must be a share of orders from 0 to 1 (such as 0.2), got {}",
                    self.abandon
                ),
            ));
        }
        Ok(ChallengeAnswers {
            abandon_per_million: (self.abandon * 1_000_000.0).round() as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_abandon_share_is_a_fraction_and_splits_draws_by_it() {
        let answers = RawThreeDs { abandon: 0.25 }.validate().expect("valid");
        let abandoned = (0..1_000_000u64).filter(|d| answers.abandons(*d)).count();
        assert_eq!(abandoned, 250_000);
        assert_eq!(answers.abandon_share(), 0.25);
        let never = RawThreeDs::default().validate().expect("valid");
        assert!(!(0..1000u64).any(|d| never.abandons(d)));
        for bad in [-0.1, 1.5, f64::NAN] {
            let e = RawThreeDs { abandon: bad }.validate().unwrap_err();
            assert_eq!(e.0, "three_ds.abandon");
        }
    }
}
