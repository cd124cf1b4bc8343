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

use std::cell::Cell;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

/// Latencies above this (one hour, in µs) are recorded as this: it bounds histogram growth.
pub const MAX_RECORDABLE_US: u64 = 3_600_000_000;

/// Significant figures kept by every histogram (0.1% value resolution).
const SIGFIG: u8 = 3;

/// Per shard and step, the seconds kept uncompressed; older ones are compressed ("sealed").
/// Two, so the second before the current one is still at hand for the progress line.
const OPEN_SECONDS: usize = 2;

/// Percentiles of the report's percentile curve (kept as written, so they print as written).
const CURVE_PERCENTILES: [f64; 17] = [
    0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.99,
    99.999, 100.0,
];

/// Shared recorder; clones share the same data. See the module doc.
///
/// Contention: records go to one of several shards chosen by the recording thread, so the tokio
/// worker threads rarely meet on a lock; readers ([`LatencyRecorder::summary`] and friends) merge
/// the shards.
#[derive(Clone)]
pub struct LatencyRecorder {
    inner: Arc<Inner>,
}

struct Inner {
    start: Instant,
    started_at: SystemTime,
    shards: Vec<Mutex<Shard>>,
}

#[derive(Default)]
struct Shard {
    /// Few steps per run: a linear scan by name beats hashing a &str on every record.
    steps: Vec<StepData>,
}

struct StepData {
    name: String,
    corrected: Histogram<u64>,
    uncorrected: Histogram<u64>,
    count: u64,
    errors: u64,
    /// Oldest first; at most [`OPEN_SECONDS`].
    open: VecDeque<OpenSecond>,
    /// Oldest first.
    sealed: Vec<SealedSecond>,
}

struct OpenSecond {
    second: u64,
    count: u64,
    errors: u64,
    corrected: Histogram<u64>,
    uncorrected: Histogram<u64>,
}

/// A finished second kept compressed: a run of hours would otherwise hold one uncompressed
/// histogram pair per step per second.
struct SealedSecond {
    second: u64,
    count: u64,
    errors: u64,
    corrected: Stored,
    uncorrected: Stored,
}

enum Stored {
    /// V2 deflate encoding.
    Encoded(Vec<u8>),
    /// Kept as is if encoding failed (it writes into memory, so it should not).
    Raw(Histogram<u64>),
}

impl Stored {
    fn store(h: &Histogram<u64>, serializer: &mut V2DeflateSerializer) -> Stored {
        let mut buf = Vec::new();
        match serializer.serialize(h, &mut buf) {
            Ok(_) => Stored::Encoded(buf),
            Err(_) => Stored::Raw(h.clone()),
        }
    }

    fn add_into(&self, target: &mut Histogram<u64>, deserializer: &mut Deserializer) {
        match self {
            Stored::Encoded(bytes) => {
                if let Ok(h) = deserializer.deserialize::<u64, _>(&mut bytes.as_slice()) {
                    add(target, &h);
                }
            }
            Stored::Raw(h) => add(target, h),
        }
    }
}

/// An empty auto-resizing histogram: it grows to the largest value seen (at most
/// [`MAX_RECORDABLE_US`]), so a fast run does not pay for an hour-wide range.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new(SIGFIG).expect("3 significant figures is a valid histogram precision")
}

fn record_value(h: &mut Histogram<u64>, value_us: u64) {
    let value = value_us.min(MAX_RECORDABLE_US);
    if h.record(value).is_err() {
        // Only on a failed resize (usize overflow): keep the sample at the edge rather than lose it.
        h.saturating_record(value);
    }
}

fn add(target: &mut Histogram<u64>, source: &Histogram<u64>) {
    // Targets auto-resize, so this cannot fail short of usize overflow; then the sample set
    // stays as it was rather than half-merged garbage being reported.
    let _ = target.add(source);
}

fn us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn ms(value_us: u64) -> f64 {
    value_us as f64 / 1000.0
}

thread_local! {
    static SHARD_HINT: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Each thread gets the next shard in turn, once.
fn shard_hint() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    SHARD_HINT.with(|hint| match hint.get() {
        Some(h) => h,
        None => {
            let h = NEXT.fetch_add(1, Ordering::Relaxed);
            hint.set(Some(h));
            h
        }
    })
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // A panic mid-record leaves at most one sample half-counted: still worth reporting.
    shard
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl StepData {
    fn new(name: &str) -> Self {
        StepData {
            name: name.to_owned(),
            corrected: new_histogram(),
            uncorrected: new_histogram(),
            count: 0,
            errors: 0,
            open: VecDeque::with_capacity(OPEN_SECONDS + 1),
            sealed: Vec::new(),
        }
    }

    fn open_second(&mut self, second: u64) -> &mut OpenSecond {
        let newest = self.open.back().map(|o| o.second);
        match newest {
            Some(newest) if second > newest => self.push_second(second),
            None => self.push_second(second),
            Some(_) => {}
        }
        // A sample completed in an already sealed second (only if it arrived well over a second
        // late) is counted in the oldest open one rather than reopening a sealed interval.
        let index = self
            .open
            .iter()
            .position(|o| o.second == second)
            .unwrap_or(0);
        &mut self.open[index]
    }

    fn push_second(&mut self, second: u64) {
        let reused = if self.open.len() >= OPEN_SECONDS {
            self.open.pop_front().map(|oldest| self.seal(oldest))
        } else {
            None
        };
        let (mut corrected, mut uncorrected) =
            reused.unwrap_or_else(|| (new_histogram(), new_histogram()));
        corrected.reset();
        uncorrected.reset();
        self.open.push_back(OpenSecond {
            second,
            count: 0,
            errors: 0,
            corrected,
            uncorrected,
        });
    }

    /// Compresses a finished second and hands its histograms back for reuse.
    fn seal(&mut self, done: OpenSecond) -> (Histogram<u64>, Histogram<u64>) {
        let mut serializer = V2DeflateSerializer::new();
        self.sealed.push(SealedSecond {
            second: done.second,
            count: done.count,
            errors: done.errors,
            corrected: Stored::store(&done.corrected, &mut serializer),
            uncorrected: Stored::store(&done.uncorrected, &mut serializer),
        });
        (done.corrected, done.uncorrected)
    }
}

/// One second of one step, merged over shards (for the `.hlog` interval log).
pub struct StepInterval {
    /// Seconds since the recorder started; the interval is [second, second + 1).
    pub second: u64,
    pub step: String,
    pub count: u64,
    pub errors: u64,
    pub corrected: Histogram<u64>,
    pub uncorrected: Histogram<u64>,
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
        let since_start = Instant::now().saturating_duration_since(start);
        let now = SystemTime::now();
        let started_at = now.checked_sub(since_start).unwrap_or(now);
        let shard_count = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(2, 16)
            * 2;
        LatencyRecorder {
            inner: Arc::new(Inner {
                start,
                started_at,
                shards: (0..shard_count)
                    .map(|_| Mutex::new(Shard::default()))
                    .collect(),
            }),
        }
    }

    /// Records one request of `step`: `intended` is when the schedule wanted it sent, `sent`
    /// when it actually left, `done` when the answer (or the error) arrived. A `done` before
    /// `intended` or `sent` counts as 0 µs.
    pub fn record(&self, step: &str, intended: Instant, sent: Instant, done: Instant, ok: bool) {
        let corrected = us(done.saturating_duration_since(intended));
        let uncorrected = us(done.saturating_duration_since(sent));
        let second = done.saturating_duration_since(self.inner.start).as_secs();
        let shards = &self.inner.shards;
        let mut shard = lock(&shards[shard_hint() % shards.len()]);
        let index = match shard.steps.iter().position(|s| s.name == step) {
            Some(index) => index,
            None => {
                shard.steps.push(StepData::new(step));
                shard.steps.len() - 1
            }
        };
        let data = &mut shard.steps[index];
        record_value(&mut data.corrected, corrected);
        record_value(&mut data.uncorrected, uncorrected);
        let error = u64::from(!ok);
        data.count += 1;
        data.errors += error;
        let open = data.open_second(second);
        record_value(&mut open.corrected, corrected);
        record_value(&mut open.uncorrected, uncorrected);
        open.count += 1;
        open.errors += error;
    }

    /// Totals so far, per step and overall.
    pub fn summary(&self) -> LatencySummary {
        let mut steps: BTreeMap<String, (u64, u64, Histogram<u64>, Histogram<u64>)> =
            BTreeMap::new();
        for shard in &self.inner.shards {
            let shard = lock(shard);
            for data in &shard.steps {
                let entry = steps
                    .entry(data.name.clone())
                    .or_insert_with(|| (0, 0, new_histogram(), new_histogram()));
                entry.0 += data.count;
                entry.1 += data.errors;
                add(&mut entry.2, &data.corrected);
                add(&mut entry.3, &data.uncorrected);
            }
        }
        let mut all = (0, 0, new_histogram(), new_histogram());
        let mut summary = LatencySummary::default();
        for (name, (count, errors, corrected, uncorrected)) in &steps {
            all.0 += count;
            all.1 += errors;
            add(&mut all.2, corrected);
            add(&mut all.3, uncorrected);
            summary.steps.insert(
                name.clone(),
                StepLatency::from_histograms(*count, *errors, corrected, uncorrected),
            );
        }
        summary.overall = StepLatency::from_histograms(all.0, all.1, &all.2, &all.3);
        if all.0 > 0 {
            summary.curve = CURVE_PERCENTILES
                .iter()
                .map(|&p| CurvePoint {
                    percentile: p,
                    corrected_ms: ms(all.2.value_at_percentile(p)),
                    uncorrected_ms: ms(all.3.value_at_percentile(p)),
                })
                .collect();
        }
        summary
    }

    /// Every corrected latency so far, all steps merged (microseconds): what the live metrics'
    /// histogram is read from on each scrape.
    pub fn corrected_histogram(&self) -> Histogram<u64> {
        let mut all = new_histogram();
        for shard in &self.inner.shards {
            let shard = lock(shard);
            for data in &shard.steps {
                add(&mut all, &data.corrected);
            }
        }
        all
    }

    /// Per-second figures for every second that saw a completion, in order.
    pub fn timeline(&self) -> Vec<SecondStats> {
        let mut seconds: BTreeMap<u64, (u64, u64, Histogram<u64>)> = BTreeMap::new();
        let mut deserializer = Deserializer::new();
        for shard in &self.inner.shards {
            let shard = lock(shard);
            for data in &shard.steps {
                for sealed in &data.sealed {
                    let entry = seconds
                        .entry(sealed.second)
                        .or_insert_with(|| (0, 0, new_histogram()));
                    entry.0 += sealed.count;
                    entry.1 += sealed.errors;
                    sealed.corrected.add_into(&mut entry.2, &mut deserializer);
                }
                for open in &data.open {
                    let entry = seconds
                        .entry(open.second)
                        .or_insert_with(|| (0, 0, new_histogram()));
                    entry.0 += open.count;
                    entry.1 += open.errors;
                    add(&mut entry.2, &open.corrected);
                }
            }
        }
        seconds
            .into_iter()
            .map(|(second, (count, errors, h))| {
                SecondStats::from_histogram(second, count, errors, &h)
            })
            .collect()
    }

    /// The last complete second (the one before the current one), for a progress line. Cheap
    /// enough to call once a second while the run goes on.
    pub fn snapshot_last_second(&self) -> SecondStats {
        let Some(second) = self.elapsed_seconds().checked_sub(1) else {
            return SecondStats::default();
        };
        let (mut count, mut errors, mut h) = (0, 0, new_histogram());
        let mut deserializer = Deserializer::new();
        for shard in &self.inner.shards {
            let shard = lock(shard);
            for data in &shard.steps {
                if let Some(open) = data.open.iter().find(|o| o.second == second) {
                    count += open.count;
                    errors += open.errors;
                    add(&mut h, &open.corrected);
                } else if let Some(sealed) = data.sealed.iter().rev().find(|s| s.second == second) {
                    // Only when the shard has since seen two newer seconds, which a progress
                    // line read once a second seldom meets.
                    count += sealed.count;
                    errors += sealed.errors;
                    sealed.corrected.add_into(&mut h, &mut deserializer);
                }
            }
        }
        SecondStats::from_histogram(second, count, errors, &h)
    }

    /// Every (second, step) interval, merged over shards, ordered by second then step: what the
    /// `.hlog` interval log is written from.
    pub fn intervals(&self) -> Vec<StepInterval> {
        let mut merged: BTreeMap<(u64, String), StepInterval> = BTreeMap::new();
        let mut deserializer = Deserializer::new();
        for shard in &self.inner.shards {
            let shard = lock(shard);
            for data in &shard.steps {
                for sealed in &data.sealed {
                    let key = (sealed.second, data.name.clone());
                    let interval = merged
                        .entry(key)
                        .or_insert_with(|| StepInterval::empty(sealed.second, &data.name));
                    interval.count += sealed.count;
                    interval.errors += sealed.errors;
                    sealed
                        .corrected
                        .add_into(&mut interval.corrected, &mut deserializer);
                    sealed
                        .uncorrected
                        .add_into(&mut interval.uncorrected, &mut deserializer);
                }
                for open in &data.open {
                    let key = (open.second, data.name.clone());
                    let interval = merged
                        .entry(key)
                        .or_insert_with(|| StepInterval::empty(open.second, &data.name));
                    interval.count += open.count;
                    interval.errors += open.errors;
                    add(&mut interval.corrected, &open.corrected);
                    add(&mut interval.uncorrected, &open.uncorrected);
                }
            }
        }
        merged.into_values().collect()
    }

    /// Whole seconds since second 0.
    pub fn elapsed_seconds(&self) -> u64 {
        self.inner.start.elapsed().as_secs()
    }

    /// When second 0 began, by the monotonic clock.
    pub fn start(&self) -> Instant {
        self.inner.start
    }

    /// When second 0 began, by the wall clock (for the `.hlog` StartTime).
    pub fn started_at(&self) -> SystemTime {
        self.inner.started_at
    }
}

impl Default for LatencyRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl StepInterval {
    fn empty(second: u64, step: &str) -> Self {
        StepInterval {
            second,
            step: step.to_owned(),
            count: 0,
            errors: 0,
            corrected: new_histogram(),
            uncorrected: new_histogram(),
        }
    }
}

impl Percentiles {
    /// Percentiles of a histogram of microseconds; all 0 when it is empty.
    pub fn from_histogram(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p95_ms: ms(h.value_at_quantile(0.95)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
            mean_ms: h.mean() / 1000.0,
        }
    }
}

impl StepLatency {
    fn from_histograms(
        count: u64,
        errors: u64,
        corrected: &Histogram<u64>,
        uncorrected: &Histogram<u64>,
    ) -> Self {
        StepLatency {
            count,
            errors,
            corrected: Percentiles::from_histogram(corrected),
            uncorrected: Percentiles::from_histogram(uncorrected),
        }
    }
}

impl SecondStats {
    fn from_histogram(second: u64, count: u64, errors: u64, h: &Histogram<u64>) -> Self {
        let (p95_ms, p99_ms) = if h.is_empty() {
            (0.0, 0.0)
        } else {
            (ms(h.value_at_quantile(0.95)), ms(h.value_at_quantile(0.99)))
        };
        SecondStats {
            second,
            count,
            errors,
            p95_ms,
            p99_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[test]
    fn corrected_latency_counts_from_the_intended_send_time() {
        let start = Instant::now();
        let rec = LatencyRecorder::with_start(start);
        // Sent 90 ms late (the client stalled), answered 10 ms after leaving.
        rec.record("create", at(start, 0), at(start, 90), at(start, 100), true);
        let s = rec.summary();
        let create = &s.steps["create"];
        assert_eq!(create.count, 1);
        assert!((create.corrected.max_ms - 100.0).abs() < 0.2, "{create:?}");
        assert!(
            (create.uncorrected.max_ms - 10.0).abs() < 0.02,
            "{create:?}"
        );
    }

    #[test]
    fn summary_splits_steps_counts_errors_and_merges_overall() {
        let start = Instant::now();
        let rec = LatencyRecorder::with_start(start);
        for i in 0..100 {
            rec.record(
                "create",
                at(start, i),
                at(start, i),
                at(start, i + 1 + i % 10),
                i % 20 != 0,
            );
        }
        for i in 0..50 {
            rec.record(
                "capture",
                at(start, i),
                at(start, i),
                at(start, i + 200),
                true,
            );
        }
        let s = rec.summary();
        assert_eq!(s.steps["create"].count, 100);
        assert_eq!(s.steps["create"].errors, 5);
        assert_eq!(s.steps["capture"].count, 50);
        assert_eq!(s.steps["capture"].errors, 0);
        assert_eq!(s.overall.count, 150);
        assert_eq!(s.overall.errors, 5);
        // A third of all requests took 200 ms, so the overall p90 is the capture latency.
        assert!(
            (s.overall.corrected.p90_ms - 200.0).abs() < 0.5,
            "{:?}",
            s.overall
        );
        assert!(s.steps["create"].corrected.p99_ms <= 10.1);
        assert_eq!(s.curve.first().map(|p| p.percentile), Some(0.0));
        assert_eq!(s.curve.last().map(|p| p.percentile), Some(100.0));
        assert!(
            s.curve
                .windows(2)
                .all(|w| w[0].corrected_ms <= w[1].corrected_ms)
        );
    }

    #[test]
    fn timeline_has_one_entry_per_second_of_completion_even_after_sealing() {
        let start = Instant::now();
        let rec = LatencyRecorder::with_start(start);
        // Five seconds, so every shard seals at least the first three (two stay open).
        for second in 0..5u64 {
            for i in 0..=second {
                let done = at(start, second * 1000 + 500 + i);
                let ok = i != 0 || second != 3;
                rec.record(
                    "create",
                    done - Duration::from_millis(20 * (second + 1)),
                    done,
                    done,
                    ok,
                );
            }
        }
        let timeline = rec.timeline();
        let counts: Vec<(u64, u64, u64)> = timeline
            .iter()
            .map(|s| (s.second, s.count, s.errors))
            .collect();
        assert_eq!(
            counts,
            vec![(0, 1, 0), (1, 2, 0), (2, 3, 0), (3, 4, 1), (4, 5, 0)]
        );
        for s in &timeline {
            let expected = 20.0 * (s.second + 1) as f64;
            assert!((s.p95_ms - expected).abs() < 0.1, "{s:?}");
        }
        let intervals = rec.intervals();
        assert_eq!(intervals.len(), 5);
        assert_eq!(intervals.iter().map(|i| i.corrected.len()).sum::<u64>(), 15);
        assert!(
            intervals
                .iter()
                .all(|i| i.step == "create" && i.uncorrected.len() == i.count)
        );
    }

    #[test]
    fn snapshot_reports_the_previous_second_only() {
        let start = Instant::now() - Duration::from_millis(2500);
        let rec = LatencyRecorder::with_start(start);
        rec.record(
            "create",
            at(start, 100),
            at(start, 100),
            at(start, 105),
            true,
        );
        rec.record(
            "create",
            at(start, 1100),
            at(start, 1100),
            at(start, 1130),
            false,
        );
        rec.record(
            "capture",
            at(start, 1200),
            at(start, 1200),
            at(start, 1210),
            true,
        );
        let snap = rec.snapshot_last_second();
        assert_eq!(snap.second, 1);
        assert_eq!(snap.count, 2);
        assert_eq!(snap.errors, 1);
        assert!((snap.p95_ms - 30.0).abs() < 0.1, "{snap:?}");
    }

    #[test]
    fn clones_from_many_threads_share_one_record() {
        let rec = LatencyRecorder::new();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let rec = rec.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        let now = Instant::now();
                        rec.record("create", now, now, now + Duration::from_micros(300), true);
                    }
                })
            })
            .collect();
        for t in threads {
            assert!(t.join().is_ok());
        }
        assert_eq!(rec.summary().overall.count, 8000);
        assert_eq!(rec.timeline().iter().map(|s| s.count).sum::<u64>(), 8000);
    }

    #[test]
    fn the_corrected_histogram_merges_every_step() {
        let start = Instant::now();
        let rec = LatencyRecorder::with_start(start);
        rec.record("create", start, at(start, 5), at(start, 10), true);
        rec.record("capture", start, start, at(start, 30), false);
        let h = rec.corrected_histogram();
        assert_eq!(h.len(), 2);
        assert_eq!(h.max(), rec.corrected_histogram().max());
        assert!((ms(h.max()) - 30.0).abs() < 0.05, "{}", h.max());
        assert!(
            (ms(h.min()) - 10.0).abs() < 0.02,
            "corrected, from intended"
        );
    }

    #[test]
    fn empty_recorder_reports_zeros() {
        let rec = LatencyRecorder::new();
        let s = rec.summary();
        assert_eq!(s.overall.count, 0);
        assert_eq!(s.overall.corrected, Percentiles::default());
        assert!(s.curve.is_empty());
        assert!(rec.timeline().is_empty());
        assert_eq!(rec.snapshot_last_second().count, 0);
    }

    #[test]
    fn absurd_latencies_are_clamped_not_lost() {
        let start = Instant::now();
        let rec = LatencyRecorder::with_start(start);
        let late = start + Duration::from_secs(5 * 3600);
        rec.record("create", start, start, late, false);
        let s = rec.summary();
        assert_eq!(s.overall.count, 1);
        assert!(s.overall.corrected.max_ms >= 3_600_000.0 * 0.999);
    }
}
