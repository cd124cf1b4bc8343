//! The run report: one [`RunReport`] value, written as `report.json`, `report.html`,
//! `junit.xml`, plus `latency.hlog` and `outcomes.ndjson`, and a terminal summary.
//!
//! (schema documentation: being written)

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::check::{Violation, ViolationCounts};
use crate::checks::CheckResult;
use crate::latency::{LatencySummary, SecondStats};

/// The current `schema_version` of `report.json`.
pub const SCHEMA_VERSION: u32 = 1;

/// How loadgen reached the payment API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    /// gateway-sim started in-process.
    Embedded,
    /// A gateway-sim already running (`--target`).
    Target,
    /// A merchant's own payment service (`--service`).
    Service,
}

/// What the run was; filled by the run loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    pub scenario: String,
    pub mode: RunMode,
    pub target_url: String,
    pub seed: u64,
    /// Unix ms when the measured run began.
    pub started_at_unix_ms: u64,
    /// Orders per second asked.
    pub target_rate: f64,
    /// Orders per second started on schedule.
    pub achieved_rate: f64,
    pub duration_s: f64,
    pub users: u64,
}

/// Order counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderCounts {
    pub total: u64,
    pub by_flow: BTreeMap<String, u64>,
    pub by_result: BTreeMap<String, u64>,
}

/// The money part of the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MoneySummary {
    /// False when the ledger could not be read (then counts are all 0 and a check says so).
    pub checked: bool,
    pub ledger_entries: u64,
    pub counts: ViolationCounts,
    /// Total violations found (may exceed `violations.len()`).
    pub violations_total: u64,
    /// The first [`VIOLATIONS_IN_REPORT`] violations.
    pub violations: Vec<Violation>,
    pub unresolved_sample: Vec<String>,
}

/// How many violations are listed in the report (all are counted).
pub const VIOLATIONS_IN_REPORT: usize = 1000;

/// The whole run, as `report.json` (see the module doc for the schema).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub schema_version: u32,
    pub loadgen_version: String,
    #[serde(flatten)]
    pub meta: RunMeta,
    pub orders: OrderCounts,
    pub requests: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub latency: LatencySummary,
    pub timeline: Vec<SecondStats>,
    pub money: MoneySummary,
    pub checks: Vec<CheckResult>,
    pub passed: bool,
}
