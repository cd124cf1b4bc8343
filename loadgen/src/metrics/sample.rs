//! What one scrape shows, as plain data ([`LiveSample`]), and the latency histogram's buckets
//! derived from loadgen's HDR histogram ([`LatencyBuckets`]).
//!
//! Plain data so that `exposition.rs` renders it without a run behind it, and its tests build
//! one by hand.

use hdrhistogram::Histogram;

use crate::flows::ErrorKind;
use crate::outcomes::ClientResult;
use crate::reconcile::{Reconciliation, ViolationKind};

/// The upper bounds of the latency histogram's buckets, in seconds (`+Inf` is implied): fixed,
/// so a dashboard's queries do not change from run to run, and wide enough for a gateway in a
/// brownout (10 s) as well as a healthy one (1 ms).
pub const LATENCY_BOUNDS_S: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Everything one scrape of `/metrics` shows.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveSample {
    /// `run` or `capacity`.
    pub command: &'static str,
    pub scenario: String,
    /// `embedded`, `target` or `service`.
    pub mode: &'static str,
    /// The capacity step being run (1-based); `None` in a plain run.
    pub step: Option<u32>,
    /// Orders per second the schedule asks for (the current step's).
    pub target_rate: f64,
    /// Orders started in the last complete second of the schedule.
    pub achieved_rate: f64,
    /// Orders the schedules of this run will start in all (so far, in a climb).
    pub orders_scheduled: u64,
    pub orders_started: u64,
    /// Finished orders by client result; every result listed.
    pub orders_finished: Vec<(ClientResult, u64)>,
    /// Finished orders whose client was told of more than one payment id.
    pub several_payments: u64,
    pub late_starts: u64,
    pub requests: u64,
    /// Failed requests by kind; every kind listed.
    pub errors: Vec<(ErrorKind, u64)>,
    /// Corrected request latency.
    pub latency: LatencyBuckets,
    /// The money check's counts once it has run.
    pub money: Option<CheckedMoney>,
}

impl LiveSample {
    /// Orders started and not yet finished.
    pub fn in_flight(&self) -> u64 {
        let finished: u64 = self.orders_finished.iter().map(|(_, n)| n).sum();
        self.orders_started.saturating_sub(finished)
    }
}

/// A Prometheus histogram's figures: cumulative counts at [`LATENCY_BOUNDS_S`], the count and
/// the sum of every observation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LatencyBuckets {
    /// Observations at or below each bound of [`LATENCY_BOUNDS_S`], same order.
    pub cumulative: Vec<u64>,
    /// All observations (the `+Inf` bucket).
    pub count: u64,
    /// Their sum, seconds.
    pub sum_s: f64,
}

impl LatencyBuckets {
    /// The buckets of a histogram of microseconds. A value counts under the first bound at or
    /// above it, as HDR recorded it (3 significant figures: a value within 0.1% of a bound may
    /// land on either side). The sum is HDR's mean times the count, to the same precision.
    pub fn from_histogram(h: &Histogram<u64>) -> Self {
        let mut per_bucket = vec![0u64; LATENCY_BOUNDS_S.len()];
        for v in h.iter_recorded() {
            let seconds = h.median_equivalent(v.value_iterated_to()) as f64 / 1e6;
            if let Some(i) = LATENCY_BOUNDS_S.iter().position(|&b| seconds <= b) {
                per_bucket[i] += v.count_at_value();
            }
        }
        let mut running = 0;
        let cumulative = per_bucket
            .into_iter()
            .map(|n| {
                running += n;
                running
            })
            .collect();
        let count = h.len();
        LatencyBuckets {
            cumulative,
            count,
            sum_s: if count == 0 {
                0.0
            } else {
                h.mean() * count as f64 / 1e6
            },
        }
    }
}

/// What the money check found, for the gauges shown once it has run.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedMoney {
    /// Violations by kind; every kind listed.
    pub violations: Vec<(ViolationKind, u64)>,
    /// Orders whose client never learned the outcome (not violations by themselves).
    pub unresolved: u64,
}

impl CheckedMoney {
    pub fn of(rec: &Reconciliation) -> Self {
        let violations = ViolationKind::ALL
            .iter()
            .map(|&kind| {
                let n = rec.violations.iter().filter(|v| v.kind == kind).count();
                (kind, n as u64)
            })
            .collect();
        CheckedMoney {
            violations,
            unresolved: rec.counts.unresolved,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::latency::new_histogram;

    #[test]
    fn buckets_are_cumulative_and_end_at_the_count() {
        let mut h = new_histogram();
        // 0.5 ms, 2 ms twice, 40 ms, 3 s, and 20 s (above every bound: only in +Inf).
        for us in [500, 2_000, 2_000, 40_000, 3_000_000, 20_000_000] {
            h.record(us).expect("in range");
        }
        let b = LatencyBuckets::from_histogram(&h);
        assert_eq!(b.count, 6);
        //            1ms 2.5 5 10 25 50 100 250 500 1s 2.5 5s 10s
        assert_eq!(b.cumulative, vec![1, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 5, 5]);
        assert!(b.cumulative.windows(2).all(|w| w[0] <= w[1]));
        assert!((b.sum_s - 23.0445).abs() < 0.03, "{}", b.sum_s);
    }

    #[test]
    fn a_value_on_a_bound_counts_under_it_and_nothing_is_zero() {
        let mut h = new_histogram();
        h.record(1_000).expect("in range");
        let b = LatencyBuckets::from_histogram(&h);
        assert_eq!(b.cumulative[0], 1, "1 ms is at or below le=0.001");
        let empty = LatencyBuckets::from_histogram(&new_histogram());
        assert_eq!(empty.count, 0);
        assert_eq!(empty.sum_s, 0.0);
        assert!(empty.cumulative.iter().all(|&n| n == 0));
        assert_eq!(empty.cumulative.len(), LATENCY_BOUNDS_S.len());
    }
}
