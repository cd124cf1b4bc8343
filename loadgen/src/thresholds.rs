//! Pass/fail thresholds: the scenario's `[checks]` table, and their evaluation against a run's
//! money reconciliation and latency figures.
//!
//! Money checks apply even when absent (0 allowed: money must never go wrong by default);
//! latency and rate checks apply only when set; `unresolved` is allowed by default (an unresolved
//! order's charges are still checked by the money checks).
//!
//! Apart from the money check (`reconcile.rs`) because it judges counts, it does not count:
//! it depends on the check's [`ViolationCounts`], and the check knows nothing of thresholds.

use serde::{Deserialize, Serialize};

use crate::latency::LatencySummary;
use crate::reconcile::{MerchantViewCounts, ViolationCounts};

/// The `[checks]` table of a scenario file. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckThresholds {
    /// Default 0.
    pub max_double_charges: Option<u64>,
    /// Default 0.
    pub max_lost_charges: Option<u64>,
    /// Default 0.
    pub max_orphan_charges: Option<u64>,
    /// Default 0.
    pub max_amount_mismatches: Option<u64>,
    /// Default: unlimited.
    pub max_unresolved: Option<u64>,
    /// Default 0. The merchant-view limits are judged only when the run read the merchant's
    /// views (`[target.order]`).
    pub max_double_fulfilments: Option<u64>,
    /// Default 0.
    pub max_paid_not_charged: Option<u64>,
    /// Default 0.
    pub max_charged_not_paid: Option<u64>,
    /// Default 0.
    pub max_state_regressions: Option<u64>,
    /// Default 0.
    pub max_refund_mismatches: Option<u64>,
    /// Overall corrected p95, ms. Checked only when set.
    pub p95_ms: Option<f64>,
    /// Overall corrected p99, ms. Checked only when set.
    pub p99_ms: Option<f64>,
    /// errors / requests, 0..=1. Checked only when set.
    pub max_error_rate: Option<f64>,
    /// achieved rate / target rate. Checked only when set.
    pub min_achieved_rate_ratio: Option<f64>,
    /// `loadgen settle --score`: the least precision and recall, per discrepancy kind, a
    /// merchant's reconciliation job must reach. Default 1: every mistake found, none invented.
    pub min_reconciliation_precision: Option<f64>,
    pub min_reconciliation_recall: Option<f64>,
}

/// One check's verdict (one JUnit test case).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Stable name, e.g. "double_charges", "p95_ms".
    pub name: String,
    pub passed: bool,
    /// What the run showed (a count, ms, or a ratio).
    pub observed: f64,
    /// The threshold; `None` when the check only reports (e.g. unresolved with no limit).
    pub limit: Option<f64>,
    /// One sentence for a human.
    pub detail: String,
}

impl CheckThresholds {
    /// The money checks only (what `loadgen check` can judge offline).
    pub fn evaluate_money(&self, counts: &ViolationCounts) -> Vec<CheckResult> {
        let money = [
            (
                "double_charges",
                counts.double_charges,
                self.max_double_charges,
                "orders charged more than once or above their amount",
            ),
            (
                "lost_charges",
                counts.lost_charges,
                self.max_lost_charges,
                "orders told success with nothing captured",
            ),
            (
                "orphan_charges",
                counts.orphan_charges,
                self.max_orphan_charges,
                "orders told failure with money left captured",
            ),
            (
                "amount_mismatches",
                counts.amount_mismatches,
                self.max_amount_mismatches,
                "orders whose captured or refunded amount differs from the client's",
            ),
        ];
        let mut results: Vec<CheckResult> = money
            .into_iter()
            .map(|(name, observed, limit, what)| {
                // Money must never go wrong by default: an absent limit allows none.
                let limit = limit.unwrap_or(0);
                count_check(name, observed, Some(limit), what)
            })
            .collect();
        results.push(count_check(
            "unresolved",
            counts.unresolved,
            self.max_unresolved,
            "orders whose client never learned the outcome",
        ));
        if let Some(merchant) = &counts.merchant {
            results.extend(self.evaluate_merchant_views(merchant));
        }
        results
    }

    /// The checks of the merchant's books against the ledger (none allowed by default).
    fn evaluate_merchant_views(&self, counts: &MerchantViewCounts) -> Vec<CheckResult> {
        let kinds = [
            (
                "double_fulfilments",
                counts.double_fulfilments,
                self.max_double_fulfilments,
                "orders the merchant fulfilled more than once",
            ),
            (
                "paid_not_charged",
                counts.paid_not_charged,
                self.max_paid_not_charged,
                "orders the merchant says paid with nothing captured",
            ),
            (
                "charged_not_paid",
                counts.charged_not_paid,
                self.max_charged_not_paid,
                "orders captured that the merchant never saw paid",
            ),
            (
                "state_regressions",
                counts.state_regressions,
                self.max_state_regressions,
                "orders whose merchant state contradicts the gateway's final state",
            ),
            (
                "refund_mismatches",
                counts.refund_mismatches,
                self.max_refund_mismatches,
                "orders whose merchant refunds differ from the gateway's",
            ),
        ];
        kinds
            .into_iter()
            .map(|(name, observed, limit, what)| {
                count_check(name, observed, Some(limit.unwrap_or(0)), what)
            })
            .collect()
    }

    /// Every check: money, then latency and rates (those only when set). Latency checks use the
    /// overall coordinated-omission-corrected figures.
    pub fn evaluate(
        &self,
        counts: &ViolationCounts,
        latency: &LatencySummary,
        target_rate: f64,
        achieved_rate: f64,
        error_rate: f64,
    ) -> Vec<CheckResult> {
        let mut results = self.evaluate_money(counts);
        let corrected = &latency.overall.corrected;
        if let Some(limit) = self.p95_ms {
            results.push(at_most(
                "p95_ms",
                corrected.p95_ms,
                limit,
                "overall p95 latency (corrected), ms",
            ));
        }
        if let Some(limit) = self.p99_ms {
            results.push(at_most(
                "p99_ms",
                corrected.p99_ms,
                limit,
                "overall p99 latency (corrected), ms",
            ));
        }
        if let Some(limit) = self.max_error_rate {
            results.push(at_most(
                "error_rate",
                error_rate,
                limit,
                "failed requests / requests",
            ));
        }
        if let Some(limit) = self.min_achieved_rate_ratio {
            results.push(achieved_ratio(target_rate, achieved_rate, limit));
        }
        results
    }
}

fn count_check(name: &str, observed: u64, limit: Option<u64>, what: &str) -> CheckResult {
    let (passed, detail) = match limit {
        Some(limit) if observed > limit => {
            (false, format!("{observed} {what}; at most {limit} allowed"))
        }
        Some(limit) => (true, format!("{observed} {what} (at most {limit} allowed)")),
        None => (true, format!("{observed} {what} (no limit set)")),
    };
    CheckResult {
        name: name.to_owned(),
        passed,
        observed: observed as f64,
        limit: limit.map(|l| l as f64),
        detail,
    }
}

fn at_most(name: &str, observed: f64, limit: f64, what: &str) -> CheckResult {
    // NaN (nothing measured) must not pass a limit silently.
    let passed = observed <= limit;
    let verdict = if passed { "within" } else { "above" };
    CheckResult {
        name: name.to_owned(),
        passed,
        observed,
        limit: Some(limit),
        detail: format!("{what}: {observed:.3}, {verdict} the limit {limit}"),
    }
}

fn achieved_ratio(target_rate: f64, achieved_rate: f64, limit: f64) -> CheckResult {
    let ratio = if target_rate > 0.0 {
        achieved_rate / target_rate
    } else {
        // Nothing was asked for, so nothing fell behind.
        1.0
    };
    let passed = ratio >= limit;
    let detail = if passed {
        format!(
            "achieved {achieved_rate:.1}/s of {target_rate:.1}/s asked (ratio {ratio:.3}, at least {limit} required)"
        )
    } else {
        format!(
            "the client fell behind: achieved {achieved_rate:.1}/s of {target_rate:.1}/s asked (ratio {ratio:.3} < {limit})"
        )
    };
    CheckResult {
        name: "achieved_rate_ratio".to_owned(),
        passed,
        observed: ratio,
        limit: Some(limit),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::latency::{Percentiles, StepLatency};

    fn latency(p95: f64, p99: f64) -> LatencySummary {
        LatencySummary {
            overall: StepLatency {
                count: 100,
                errors: 0,
                corrected: Percentiles {
                    p95_ms: p95,
                    p99_ms: p99,
                    ..Percentiles::default()
                },
                uncorrected: Percentiles::default(),
            },
            ..LatencySummary::default()
        }
    }

    fn find<'a>(results: &'a [CheckResult], name: &str) -> &'a CheckResult {
        match results.iter().find(|r| r.name == name) {
            Some(r) => r,
            None => panic!("no check named {name} in {results:#?}"),
        }
    }

    #[test]
    fn money_checks_allow_nothing_by_default() {
        let t = CheckThresholds::default();
        let clean = t.evaluate_money(&ViolationCounts::default());
        assert!(clean.iter().all(|r| r.passed));
        let counts = ViolationCounts {
            double_charges: 1,
            unresolved: 500,
            ..ViolationCounts::default()
        };
        let results = t.evaluate_money(&counts);
        let double = find(&results, "double_charges");
        assert!(!double.passed);
        assert_eq!((double.observed, double.limit), (1.0, Some(0.0)));
        // Unresolved orders are allowed unless a limit is set.
        let unresolved = find(&results, "unresolved");
        assert!(unresolved.passed);
        assert_eq!(unresolved.limit, None);
    }

    #[test]
    fn thresholds_from_the_scenario_are_applied() {
        let t: CheckThresholds =
            match toml::from_str("max_double_charges = 3\nmax_unresolved = 10\n") {
                Ok(t) => t,
                Err(e) => panic!("{e}"),
            };
        let counts = ViolationCounts {
            double_charges: 3,
            lost_charges: 1,
            unresolved: 11,
            ..ViolationCounts::default()
        };
        let results = t.evaluate_money(&counts);
        assert!(find(&results, "double_charges").passed);
        assert!(!find(&results, "lost_charges").passed);
        assert!(!find(&results, "unresolved").passed);
    }

    #[test]
    fn merchant_view_checks_appear_only_when_views_were_read_and_allow_nothing_by_default() {
        let t = CheckThresholds::default();
        let without = t.evaluate_money(&ViolationCounts::default());
        assert!(without.iter().all(|r| r.name != "charged_not_paid"));

        let counts = ViolationCounts {
            merchant: Some(MerchantViewCounts {
                views: 10,
                charged_not_paid: 2,
                ..MerchantViewCounts::default()
            }),
            ..ViolationCounts::default()
        };
        let results = t.evaluate_money(&counts);
        for name in [
            "double_fulfilments",
            "paid_not_charged",
            "state_regressions",
            "refund_mismatches",
        ] {
            assert!(find(&results, name).passed, "{name}: {results:#?}");
        }
        assert!(!find(&results, "charged_not_paid").passed);

        let lenient: CheckThresholds = match toml::from_str("max_charged_not_paid = 2\n") {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        };
        assert!(lenient.evaluate_money(&counts).iter().all(|r| r.passed));
    }

    #[test]
    fn unknown_keys_in_checks_are_rejected() {
        let err = toml::from_str::<CheckThresholds>("p95 = 10.0\n");
        assert!(err.is_err());
    }

    #[test]
    fn slo_checks_apply_only_when_set() {
        let none = CheckThresholds::default().evaluate(
            &ViolationCounts::default(),
            &latency(900.0, 2000.0),
            1000.0,
            10.0,
            0.9,
        );
        assert!(none.iter().all(|r| r.passed));
        assert_eq!(none.len(), 5);

        let t = CheckThresholds {
            p95_ms: Some(250.0),
            p99_ms: Some(1000.0),
            max_error_rate: Some(0.05),
            min_achieved_rate_ratio: Some(0.98),
            ..CheckThresholds::default()
        };
        let good = t.evaluate(
            &ViolationCounts::default(),
            &latency(200.0, 999.0),
            1000.0,
            990.0,
            0.01,
        );
        assert!(good.iter().all(|r| r.passed), "{good:#?}");
        let bad = t.evaluate(
            &ViolationCounts::default(),
            &latency(251.0, 1001.0),
            1000.0,
            970.0,
            0.06,
        );
        for name in ["p95_ms", "p99_ms", "error_rate", "achieved_rate_ratio"] {
            assert!(!find(&bad, name).passed, "{name} should fail: {bad:#?}");
        }
        assert!((find(&bad, "achieved_rate_ratio").observed - 0.97).abs() < 1e-9);
    }

    #[test]
    fn nan_latency_fails_a_set_limit() {
        let t = CheckThresholds {
            p95_ms: Some(10.0),
            ..CheckThresholds::default()
        };
        let results = t.evaluate(
            &ViolationCounts::default(),
            &latency(f64::NAN, 0.0),
            0.0,
            0.0,
            0.0,
        );
        assert!(!find(&results, "p95_ms").passed);
    }
}
