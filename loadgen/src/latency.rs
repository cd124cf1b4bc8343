//! Honest latency measurement: per flow step, into HdrHistograms in microseconds, both corrected
//! for coordinated omission (from the intended send time) and uncorrected (from the actual send).
//!
//! Why both: under an open-model schedule a request that could not be sent on time (the client or
//! the server stalled) has already waited before it left; measuring from the actual send time
//! hides exactly the stalls a load test exists to find. The corrected figure is the one checks use;
//! the uncorrected one is shown beside it so the gap itself tells how far the client fell behind.
//!
//! Every request is recorded, errors and timeouts included (a timed-out client really waited that
//! long), and counted as an error when `ok` is false.
//!
//! Also kept: one interval per second (by completion time) for the report's timeline, the
//! progress line and the `.hlog` interval log.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};

use serde::{Deserialize, Serialize};

/// Shared recorder; clones share the same data. See the module doc.
#[derive(Clone)]
pub struct LatencyRecorder {
    _todo: (),
}

/// Percentiles of one latency distribution, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

/// The latency of one flow step (or of all steps together).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepLatency {
    /// Requests recorded.
    pub count: u64,
    /// Requests recorded with `ok == false`.
    pub errors: u64,
    /// From the intended send time: the honest figure, used by checks.
    pub corrected: Percentiles,
    /// From the actual send time.
    pub uncorrected: Percentiles,
}

/// One point of the full percentile curve (for the report's percentile plot).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// 0..=100
    pub percentile: f64,
    pub corrected_ms: f64,
    pub uncorrected_ms: f64,
}

/// Everything the report needs about latency.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// All steps together.
    pub overall: StepLatency,
    /// Per step ("create", "capture", ...), sorted by name.
    pub steps: BTreeMap<String, StepLatency>,
    /// The overall percentile curve, corrected and uncorrected.
    pub curve: Vec<CurvePoint>,
}

/// One second of the run, all steps together, by completion time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SecondStats {
    /// Seconds since the recorder started (0-based); this interval is [second, second + 1).
    pub second: u64,
    /// Requests completed in this second.
    pub count: u64,
    pub errors: u64,
    /// Corrected p95 of the requests completed in this second, ms.
    pub p95_ms: f64,
    /// Corrected p99 of the requests completed in this second, ms.
    pub p99_ms: f64,
}

impl LatencyRecorder {
    /// A recorder whose second 0 starts now.
    pub fn new() -> Self {
        Self::with_start(Instant::now())
    }

    /// A recorder whose second 0 starts at `start` (the run's start).
    pub fn with_start(start: Instant) -> Self {
        let _ = start;
        todo!()
    }

    /// Records one request of `step`: `intended` is when the schedule wanted it sent, `sent`
    /// when it actually left, `done` when the answer (or the error) arrived.
    pub fn record(&self, step: &str, intended: Instant, sent: Instant, done: Instant, ok: bool) {
        let _ = (step, intended, sent, done, ok);
        todo!()
    }

    /// Totals so far, per step and overall.
    pub fn summary(&self) -> LatencySummary {
        todo!()
    }

    /// Per-second figures for every second that saw a completion, in order.
    pub fn timeline(&self) -> Vec<SecondStats> {
        todo!()
    }

    /// The last complete second (the one before the current one), for a progress line. Cheap
    /// enough to call once a second while the run goes on.
    pub fn snapshot_last_second(&self) -> SecondStats {
        todo!()
    }

    /// When second 0 began, by the wall clock (for the `.hlog` StartTime).
    pub fn started_at(&self) -> SystemTime {
        todo!()
    }
}

impl Default for LatencyRecorder {
    fn default() -> Self {
        Self::new()
    }
}
