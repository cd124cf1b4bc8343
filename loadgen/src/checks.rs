//! Pass/fail thresholds: the scenario's `[checks]` table, and their evaluation against a run's
//! money reconciliation and latency figures.
//!
//! Money checks apply even when absent (0 allowed: money must never go wrong by default);
//! latency and rate checks apply only when set; `unresolved` is allowed by default (an unresolved
//! order's charges are still checked by the money checks).

use serde::{Deserialize, Serialize};

use crate::check::ViolationCounts;
use crate::latency::LatencySummary;

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
    /// Overall corrected p95, ms. Checked only when set.
    pub p95_ms: Option<f64>,
    /// Overall corrected p99, ms. Checked only when set.
    pub p99_ms: Option<f64>,
    /// errors / requests, 0..=1. Checked only when set.
    pub max_error_rate: Option<f64>,
    /// achieved rate / target rate. Checked only when set.
    pub min_achieved_rate_ratio: Option<f64>,
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
        let _ = counts;
        todo!()
    }

    /// Every check: money, then latency and rates.
    pub fn evaluate(
        &self,
        counts: &ViolationCounts,
        latency: &LatencySummary,
        target_rate: f64,
        achieved_rate: f64,
        error_rate: f64,
    ) -> Vec<CheckResult> {
        let _ = (counts, latency, target_rate, achieved_rate, error_rate);
        todo!()
    }
}
