//! `loadgen merge`: several workers' report directories (`loadgen run --worker I/N`, on one
//! machine or many) become one report, as if one client had played every order.
//!
//! What is merged, and how:
//! - Latency: every worker's `latency.hlog` is read back and its histograms are ADDED
//!   (HdrHistogram `add`: bucket counts summed), per step and per second, so the merged
//!   percentiles are those of one histogram holding every request, to histogram precision.
//!   Percentiles are never averaged: the mean of two p99s is not a p99.
//! - Counts (orders, requests, errors) and rates (target and achieved) are summed; the users
//!   too (each worker had its own).
//! - Time: the merged run starts at the earliest worker's start; each worker's seconds are
//!   shifted by its start offset rounded to a whole second (the timeline's resolution).
//! - Money: the check runs ONCE over every worker's outcomes against the gateway's ledger
//!   (several ledgers when the gateway is sharded), never as a sum of per-worker checks: a
//!   worker's own check sees the other workers' payments as unknown charges.
//!
//! Guards: the same worker twice, workers of different `N`, or an order id in two directories
//! is an error (exit 2); a missing worker is a warning (the merged figures then cover the
//! workers given).
//!
//! The merged directory holds the usual `report.json`, `report.html`, `junit.xml`,
//! `outcomes.ndjson` and `latency.hlog`, the `ledger.ndjson` the check read (so
//! `loadgen check` can re-run it offline, and merges can be merged again), plus
//! [`MERGED_JSON`] naming the inputs.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use gateway_sim::LedgerEntry;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use serde::{Deserialize, Serialize};

use crate::latency::{
    CurvePoint, LatencySummary, Percentiles, SecondStats, StepLatency, new_histogram,
};
use crate::outcomes::OrderOutcome;
use crate::reconcile::reconcile;
use crate::report::{
    LATENCY_HLOG, OUTCOMES_NDJSON, REPORT_JSON, ReportError, ReportFiles, RunMeta, RunReport,
    error_rate, read_hlog, read_json, write_report_dir,
};
use crate::run::{LEDGER_NDJSON, WORKER_JSON, WorkerRecord, write_ledger};
use crate::thresholds::CheckThresholds;

/// Written into the merged directory: which directories went in, and where the ledger came from.
pub const MERGED_JSON: &str = "merged.json";

/// Percentiles of the merged curve when no input had a curve to copy the points from.
const FALLBACK_CURVE: [f64; 9] = [0.0, 50.0, 90.0, 95.0, 99.0, 99.9, 99.99, 99.999, 100.0];

/// Everything a merge needs.
#[derive(Debug, Clone, Default)]
pub struct MergeOptions {
    /// The workers' report directories.
    pub dirs: Vec<PathBuf>,
    /// Where the ledger is read: URLs or NDJSON files, comma-separated. `None`: every input's
    /// saved `ledger.ndjson` (embedded gateways), else the ledger the workers read (from their
    /// `worker.json`), else the gateway they all targeted.
    pub ledger: Option<String>,
    /// The `[checks]` to judge the merged run by (default: money only, no violation allowed).
    pub thresholds: CheckThresholds,
    /// `None`: `reports/<scenario>-merged-<unix time>`.
    pub report_dir: Option<PathBuf>,
    /// gateway-sim's admin token, for ledger URLs.
    pub admin_token: Option<String>,
}

/// Why a merge could not judge anything (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge: give at least one report directory")]
    NoInput,
    #[error("{}: {detail}", dir.display())]
    Input { dir: PathBuf, detail: String },
    #[error("these runs do not merge: {0}")]
    Mismatch(String),
    #[error(
        "no ledger to check against: {0}; give --ledger URL_OR_FILE[,URL_OR_FILE...] (every shard of the gateway)"
    )]
    NoLedger(String),
    #[error(transparent)]
    Ledger(#[from] crate::ledger_source::LedgerError),
    #[error("cannot write the merged reports: {0}")]
    Report(#[from] ReportError),
    #[error("the money check stopped unexpectedly: {0}")]
    Check(String),
}

/// One input directory, summed up for [`MERGED_JSON`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergedInput {
    pub dir: PathBuf,
    /// `I/N` when the directory is a worker's.
    pub worker: Option<String>,
    pub started_at_unix_ms: u64,
    pub orders: u64,
    pub requests: u64,
    pub target_rate: f64,
    pub achieved_rate: f64,
}

/// The content of [`MERGED_JSON`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeRecord {
    pub inputs: Vec<MergedInput>,
    /// Where the ledger was read.
    pub ledger: String,
}

/// A finished merge.
#[derive(Debug, Clone)]
pub struct MergedRun {
    pub report: RunReport,
    pub report_dir: PathBuf,
    pub files: ReportFiles,
    pub record: MergeRecord,
    /// Things to know that are not check failures (a worker missing, seeds that differ).
    pub warnings: Vec<String>,
}

/// One worker's directory, read.
struct Input {
    dir: PathBuf,
    report: RunReport,
    outcomes: Vec<OrderOutcome>,
    /// Per (second since this worker's start, step): (corrected, uncorrected).
    intervals: BTreeMap<(u64, String), (Histogram<u64>, Histogram<u64>)>,
    worker: Option<WorkerRecord>,
    has_ledger_file: bool,
}

fn input_error(dir: &Path, detail: impl std::fmt::Display) -> MergeError {
    MergeError::Input {
        dir: dir.to_path_buf(),
        detail: detail.to_string(),
    }
}

fn read_input(dir: &Path) -> Result<Input, MergeError> {
    if !dir.is_dir() {
        return Err(input_error(dir, "not a directory"));
    }
    let report = read_json(&dir.join(REPORT_JSON)).map_err(|e| input_error(dir, e))?;
    let outcomes = crate::outcomes::read_ndjson(&dir.join(OUTCOMES_NDJSON))
        .map_err(|e| input_error(dir, e))?;
    let hlog = read_hlog(&dir.join(LATENCY_HLOG)).map_err(|e| input_error(dir, e))?;
    let mut intervals: BTreeMap<(u64, String), (Histogram<u64>, Histogram<u64>)> = BTreeMap::new();
    for interval in hlog {
        // The untagged intervals are the sum of the step ones; summing the steps again keeps
        // the merged overall and per-step figures consistent by construction.
        let Some(tag) = interval.tag else { continue };
        let (step, uncorrected) = match tag.strip_suffix(".uncorrected") {
            Some(step) => (step.to_owned(), true),
            None => (tag, false),
        };
        let entry = intervals
            .entry((interval.start.as_secs(), step))
            .or_insert_with(|| (new_histogram(), new_histogram()));
        let target = if uncorrected {
            &mut entry.1
        } else {
            &mut entry.0
        };
        add(target, &interval.histogram)
            .map_err(|e| input_error(dir, format!("{LATENCY_HLOG}: {e}")))?;
    }
    // The interval log and report.json come from the same recorder: a different count means
    // files from different runs were put in one directory.
    let mut hlog_counts: BTreeMap<&str, u64> = BTreeMap::new();
    for ((_, step), (corrected, _)) in &intervals {
        *hlog_counts.entry(step.as_str()).or_default() += corrected.len();
    }
    for (step, latency) in &report.latency.steps {
        let in_hlog = hlog_counts.remove(step.as_str()).unwrap_or(0);
        if in_hlog != latency.count {
            return Err(input_error(
                dir,
                format!(
                    "{LATENCY_HLOG} holds {in_hlog} '{step}' requests but {REPORT_JSON} counts {}: not the same run",
                    latency.count
                ),
            ));
        }
    }
    if let Some((step, n)) = hlog_counts.into_iter().find(|(_, n)| *n > 0) {
        return Err(input_error(
            dir,
            format!("{LATENCY_HLOG} holds {n} '{step}' requests that {REPORT_JSON} does not list"),
        ));
    }
    let worker_path = dir.join(WORKER_JSON);
    let worker = if worker_path.exists() {
        let text = std::fs::read_to_string(&worker_path).map_err(|e| input_error(dir, e))?;
        Some(
            serde_json::from_str::<WorkerRecord>(&text)
                .map_err(|e| input_error(dir, format!("{WORKER_JSON}: {e}")))?,
        )
    } else {
        None
    };
    Ok(Input {
        dir: dir.to_path_buf(),
        report,
        outcomes,
        intervals,
        worker,
        has_ledger_file: dir.join(LEDGER_NDJSON).is_file(),
    })
}

fn add(target: &mut Histogram<u64>, source: &Histogram<u64>) -> Result<(), String> {
    target.add(source).map_err(|e| format!("{e:?}"))
}

fn ms(value_us: u64) -> f64 {
    value_us as f64 / 1000.0
}

/// Checks that the inputs are shares of one run that fit together; returns warnings.
fn check_inputs(inputs: &[Input]) -> Result<Vec<String>, MergeError> {
    let mut warnings = Vec::new();
    let workers: Vec<(&Input, &WorkerRecord)> = inputs
        .iter()
        .filter_map(|i| i.worker.as_ref().map(|w| (i, w)))
        .collect();
    if !workers.is_empty() && workers.len() < inputs.len() {
        warnings.push(format!(
            "{} of {} directories are not --worker runs; merging them all the same",
            inputs.len() - workers.len(),
            inputs.len()
        ));
    }
    let counts: BTreeSet<u32> = workers.iter().map(|(_, w)| w.count).collect();
    if counts.len() > 1 {
        let list: Vec<String> = workers
            .iter()
            .map(|(i, w)| format!("{} is worker {}", i.dir.display(), w.worker))
            .collect();
        return Err(MergeError::Mismatch(format!(
            "workers of runs split differently: {}",
            list.join(", ")
        )));
    }
    let mut seen: BTreeMap<u32, &Path> = BTreeMap::new();
    for (input, w) in &workers {
        if let Some(other) = seen.insert(w.index, &input.dir) {
            return Err(MergeError::Mismatch(format!(
                "worker {} given twice: {} and {}",
                w.worker,
                other.display(),
                input.dir.display()
            )));
        }
    }
    if let Some(&count) = counts.first() {
        let missing: Vec<String> = (1..=count)
            .filter(|i| !seen.contains_key(i))
            .map(|i| format!("{i}/{count}"))
            .collect();
        if !missing.is_empty() {
            warnings.push(format!(
                "merging {} of {count} workers (missing {}): the figures cover only the workers given",
                seen.len(),
                missing.join(", ")
            ));
        }
    }
    let seeds: BTreeSet<u64> = inputs.iter().map(|i| i.report.meta.seed).collect();
    if seeds.len() > 1 {
        warnings.push(format!(
            "the runs used different seeds ({}): they played different orders",
            seeds
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let modes: BTreeSet<&str> = inputs.iter().map(|i| i.report.meta.mode.as_str()).collect();
    if modes.len() > 1 {
        warnings.push(format!(
            "the runs drove different kinds of endpoint ({}); the report names the first",
            modes.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    // One order id in two directories means two runs played the same order: the money
    // check could not tell whose charge is whose.
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for (at, input) in inputs.iter().enumerate() {
        for o in &input.outcomes {
            if let Some(&first) = owner.get(o.order_id.as_str()) {
                let also = &inputs[first].dir;
                return Err(MergeError::Mismatch(if first == at {
                    format!(
                        "order {} appears twice in {}",
                        o.order_id,
                        input.dir.display()
                    )
                } else {
                    format!(
                        "order {} is in both {} and {}: the same worker's share twice, or runs with the same seed against fresh gateways",
                        o.order_id,
                        also.display(),
                        input.dir.display()
                    )
                }));
            }
            owner.insert(&o.order_id, at);
        }
    }
    Ok(warnings)
}

/// Where the merged check reads the ledger, as a list of `ledger_source::load` specs.
fn ledger_specs(inputs: &[Input], given: Option<&str>) -> Result<Vec<String>, MergeError> {
    if let Some(spec) = given {
        return Ok(vec![spec.to_string()]);
    }
    // Embedded gateways only: a run against a running gateway saves the ledger it read too,
    // and workers sharing one gateway would each bring a copy of the same ledger (every
    // charge counted once per worker).
    if inputs
        .iter()
        .all(|i| i.has_ledger_file && i.report.meta.mode == crate::report::RunMode::Embedded)
    {
        // One ledger per worker, each saved with its reports. Loaded one by one, so a comma
        // in a path cannot split it.
        return Ok(inputs
            .iter()
            .map(|i| i.dir.join(LEDGER_NDJSON).display().to_string())
            .collect());
    }
    let read: BTreeSet<&str> = inputs
        .iter()
        .filter_map(|i| i.worker.as_ref())
        .map(|w| w.ledger.as_str())
        .collect();
    if read.len() == 1
        && inputs.iter().all(|i| i.worker.is_some())
        && let Some(spec) = read.first().filter(|s| **s != LEDGER_NDJSON)
    {
        return Ok(vec![(*spec).to_string()]);
    }
    let targets: BTreeSet<&str> = inputs
        .iter()
        .map(|i| i.report.meta.target_url.as_str())
        .collect();
    let all_target = inputs
        .iter()
        .all(|i| i.report.meta.mode == crate::report::RunMode::Target);
    if all_target
        && targets.len() == 1
        && let Some(url) = targets.first()
    {
        return Ok(vec![(*url).to_string()]);
    }
    Err(MergeError::NoLedger(
        "the runs did not all save a ledger, nor read one and the same".into(),
    ))
}

/// The merged latency histograms, per step and per second of the merged run.
#[derive(Default)]
struct Merged {
    /// step → (corrected, uncorrected), the whole run.
    steps: BTreeMap<String, (Histogram<u64>, Histogram<u64>)>,
    /// (second, step) → (corrected, uncorrected).
    intervals: BTreeMap<(u64, String), (Histogram<u64>, Histogram<u64>)>,
}

fn merge_histograms(inputs: &[Input], offsets: &[u64]) -> Result<Merged, MergeError> {
    let mut merged = Merged::default();
    for (input, offset) in inputs.iter().zip(offsets) {
        let fail = |e: String| input_error(&input.dir, format!("cannot add its histograms: {e}"));
        for ((second, step), (corrected, uncorrected)) in &input.intervals {
            let whole = merged
                .steps
                .entry(step.clone())
                .or_insert_with(|| (new_histogram(), new_histogram()));
            add(&mut whole.0, corrected).map_err(fail)?;
            add(&mut whole.1, uncorrected).map_err(fail)?;
            let at = merged
                .intervals
                .entry((second + offset, step.clone()))
                .or_insert_with(|| (new_histogram(), new_histogram()));
            add(&mut at.0, corrected).map_err(fail)?;
            add(&mut at.1, uncorrected).map_err(fail)?;
        }
    }
    Ok(merged)
}

fn latency_summary(inputs: &[Input], merged: &Merged) -> LatencySummary {
    let mut summary = LatencySummary::default();
    let mut all = (new_histogram(), new_histogram());
    let mut errors_total = 0;
    for (step, (corrected, uncorrected)) in &merged.steps {
        // The interval log has no error flag per request: errors come from the reports.
        let errors: u64 = inputs
            .iter()
            .filter_map(|i| i.report.latency.steps.get(step))
            .map(|s| s.errors)
            .sum();
        errors_total += errors;
        let _ = all.0.add(corrected);
        let _ = all.1.add(uncorrected);
        summary.steps.insert(
            step.clone(),
            StepLatency {
                count: corrected.len(),
                errors,
                corrected: Percentiles::from_histogram(corrected),
                uncorrected: Percentiles::from_histogram(uncorrected),
            },
        );
    }
    summary.overall = StepLatency {
        count: all.0.len(),
        errors: errors_total,
        corrected: Percentiles::from_histogram(&all.0),
        uncorrected: Percentiles::from_histogram(&all.1),
    };
    if !all.0.is_empty() {
        let points: Vec<f64> = inputs
            .iter()
            .map(|i| &i.report.latency.curve)
            .find(|c| !c.is_empty())
            .map(|c| c.iter().map(|p| p.percentile).collect())
            .unwrap_or_else(|| FALLBACK_CURVE.to_vec());
        summary.curve = points
            .into_iter()
            .map(|p| CurvePoint {
                percentile: p,
                corrected_ms: ms(all.0.value_at_percentile(p)),
                uncorrected_ms: ms(all.1.value_at_percentile(p)),
            })
            .collect();
    }
    summary
}

fn timeline(inputs: &[Input], offsets: &[u64], merged: &Merged) -> Vec<SecondStats> {
    let mut seconds: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for (input, offset) in inputs.iter().zip(offsets) {
        for s in &input.report.timeline {
            let entry = seconds.entry(s.second + offset).or_default();
            entry.0 += s.count;
            entry.1 += s.errors;
        }
    }
    let mut per_second: BTreeMap<u64, Histogram<u64>> = BTreeMap::new();
    for ((second, _), (corrected, _)) in &merged.intervals {
        let _ = per_second
            .entry(*second)
            .or_insert_with(new_histogram)
            .add(corrected);
        seconds.entry(*second).or_default();
    }
    seconds
        .into_iter()
        .map(|(second, (count, errors))| {
            let (p95_ms, p99_ms) = match per_second.get(&second) {
                Some(h) if !h.is_empty() => {
                    (ms(h.value_at_quantile(0.95)), ms(h.value_at_quantile(0.99)))
                }
                _ => (0.0, 0.0),
            };
            SecondStats {
                second,
                count,
                errors,
                p95_ms,
                p99_ms,
            }
        })
        .collect()
}

fn distinct_joined<'a>(values: impl Iterator<Item = &'a str>, separator: &str) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for v in values {
        if !seen.contains(&v) {
            seen.push(v);
        }
    }
    seen.join(separator)
}

fn merged_meta(inputs: &[Input], t0_ms: u64) -> Result<RunMeta, MergeError> {
    let first = inputs.first().ok_or(MergeError::NoInput)?;
    let end_s = inputs
        .iter()
        .map(|i| {
            let offset = i.report.meta.started_at_unix_ms.saturating_sub(t0_ms) as f64 / 1000.0;
            offset + i.report.meta.duration_s
        })
        .fold(0.0, f64::max);
    Ok(RunMeta {
        scenario: distinct_joined(inputs.iter().map(|i| i.report.meta.scenario.as_str()), "+"),
        mode: first.report.meta.mode,
        target_url: distinct_joined(
            inputs.iter().map(|i| i.report.meta.target_url.as_str()),
            ",",
        ),
        seed: first.report.meta.seed,
        started_at_unix_ms: t0_ms,
        target_rate: inputs.iter().map(|i| i.report.meta.target_rate).sum(),
        achieved_rate: inputs.iter().map(|i| i.report.meta.achieved_rate).sum(),
        duration_s: end_s,
        users: inputs.iter().map(|i| i.report.meta.users).sum(),
        // Every worker's, or none: a partial sum would understate the cost per request.
        cpu_seconds: inputs.iter().map(|i| i.report.meta.cpu_seconds).sum(),
    })
}

/// A step's name with its corrected and uncorrected histograms.
type StepPair<'a> = (&'a str, &'a Histogram<u64>, &'a Histogram<u64>);

/// Writes the merged interval log in the same layout as a run's (`report::write_hlog`):
/// per second an untagged all-steps interval, then `Tag=<step>` and `Tag=<step>.uncorrected`.
fn write_merged_hlog(path: &Path, t0_ms: u64, merged: &Merged) -> Result<(), ReportError> {
    let hlog_err = |detail: String| ReportError::Hlog {
        path: path.to_owned(),
        detail,
    };
    let start = UNIX_EPOCH + Duration::from_millis(t0_ms);
    let mut buf = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    {
        let mut log = IntervalLogWriterBuilder::new()
            .add_comment("loadgen latency, microseconds, one interval per second (merged workers)")
            .add_comment("untagged: all steps (corrected); Tag=<step>: corrected; Tag=<step>.uncorrected: from the actual send time")
            .with_start_time(start)
            .with_base_time(start)
            .with_max_value_divisor(1000.0)
            .begin_log_with(&mut buf, &mut serializer)
            .map_err(|e| hlog_err(e.to_string()))?;
        let one_second = Duration::from_secs(1);
        let mut by_second: BTreeMap<u64, Vec<StepPair<'_>>> = BTreeMap::new();
        for ((second, step), (corrected, uncorrected)) in &merged.intervals {
            by_second
                .entry(*second)
                .or_default()
                .push((step, corrected, uncorrected));
        }
        for (second, steps) in by_second {
            let at = Duration::from_secs(second);
            let mut all = new_histogram();
            for (_, corrected, _) in &steps {
                let _ = all.add(*corrected);
            }
            log.write_histogram(&all, at, one_second, None)
                .map_err(|e| hlog_err(e.to_string()))?;
            for (step, corrected, uncorrected) in steps {
                let uncorrected_tag = format!("{step}.uncorrected");
                for (h, tag) in [(corrected, step), (uncorrected, uncorrected_tag.as_str())] {
                    log.write_histogram(h, at, one_second, Tag::new(tag))
                        .map_err(|e| hlog_err(e.to_string()))?;
                }
            }
        }
    }
    std::fs::write(path, buf).map_err(|source| ReportError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Merges the workers' directories into one report. See the module doc.
pub async fn merge(options: MergeOptions) -> Result<MergedRun, MergeError> {
    if options.dirs.is_empty() {
        return Err(MergeError::NoInput);
    }
    let inputs: Vec<Input> = options
        .dirs
        .iter()
        .map(|d| read_input(d))
        .collect::<Result<_, _>>()?;
    let warnings = check_inputs(&inputs)?;
    let specs = ledger_specs(&inputs, options.ledger.as_deref())?;
    let mut ledger: Vec<LedgerEntry> = Vec::new();
    for spec in &specs {
        let mut part = crate::ledger_source::load(spec, options.admin_token.as_deref()).await?;
        ledger.append(&mut part);
    }

    let t0_ms = inputs
        .iter()
        .map(|i| i.report.meta.started_at_unix_ms)
        .min()
        .unwrap_or(0);
    let offsets: Vec<u64> = inputs
        .iter()
        .map(|i| (i.report.meta.started_at_unix_ms.saturating_sub(t0_ms) + 500) / 1000)
        .collect();
    let merged = merge_histograms(&inputs, &offsets)?;
    let latency = latency_summary(&inputs, &merged);
    let timeline = timeline(&inputs, &offsets, &merged);
    let meta = merged_meta(&inputs, t0_ms)?;

    let record = MergeRecord {
        inputs: inputs
            .iter()
            .map(|i| MergedInput {
                dir: i.dir.clone(),
                worker: i.worker.as_ref().map(|w| w.worker.clone()),
                started_at_unix_ms: i.report.meta.started_at_unix_ms,
                orders: i.report.orders.total,
                requests: i.report.requests,
                target_rate: i.report.meta.target_rate,
                achieved_rate: i.report.meta.achieved_rate,
            })
            .collect(),
        ledger: specs.join(","),
    };
    let mut outcomes: Vec<OrderOutcome> =
        Vec::with_capacity(inputs.iter().map(|i| i.outcomes.len()).sum());
    for input in inputs {
        outcomes.extend(input.outcomes);
    }

    // CPU-bound for large runs: keep it off the runtime, like `loadgen run` does.
    let (outcomes, ledger, reconciliation) = tokio::task::spawn_blocking(move || {
        let rec = reconcile(&outcomes, &ledger);
        (outcomes, ledger, rec)
    })
    .await
    .map_err(|e| MergeError::Check(e.to_string()))?;
    let errors = error_rate(&latency);
    let checks = options.thresholds.evaluate(
        &reconciliation.counts,
        &latency,
        meta.target_rate,
        meta.achieved_rate,
        errors,
    );
    let report_dir = options
        .report_dir
        .clone()
        .unwrap_or_else(|| crate::run::default_report_dir(&format!("{}-merged", meta.scenario)));
    let report = RunReport::new(
        meta,
        latency,
        timeline,
        &outcomes,
        Some(&reconciliation),
        checks,
    );
    let mut files = write_report_dir(&report_dir, &report, None, Some(&outcomes))?;
    // The ledger the check read, kept beside the merged outcomes: `loadgen check` can
    // re-run the check offline, and the merged directory can be merged again.
    write_ledger(&report_dir.join(LEDGER_NDJSON), &ledger)?;
    let hlog = report_dir.join(LATENCY_HLOG);
    write_merged_hlog(&hlog, t0_ms, &merged)?;
    files.hlog = Some(hlog);
    let merged_json = report_dir.join(MERGED_JSON);
    let text = serde_json::to_string_pretty(&record).map_err(|source| ReportError::Json {
        path: merged_json.clone(),
        source,
    })?;
    std::fs::write(&merged_json, text + "\n").map_err(|source| ReportError::Io {
        path: merged_json.clone(),
        source,
    })?;
    Ok(MergedRun {
        report,
        report_dir,
        files,
        record,
        warnings,
    })
}

/// Prints the merged summary, its violations, warnings and where the reports went.
pub fn print_merged(run: &MergedRun) {
    println!(
        "merged    {} directories: {}",
        run.record.inputs.len(),
        run.record
            .inputs
            .iter()
            .map(|i| match &i.worker {
                Some(w) => format!("{} (worker {w})", i.dir.display()),
                None => i.dir.display().to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("ledger    {}", run.record.ledger);
    print!("{}", crate::report::render_summary(&run.report));
    let money = &run.report.money;
    if money.violations_total > 0 {
        crate::run::print_violations(&money.violations, money.violations_total as usize);
    }
    for warning in &run.warnings {
        eprintln!("warning: {warning}");
    }
    println!("reports   {}", run.report_dir.display());
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use gateway_sim::EntryKind;

    use super::*;
    use crate::latency::LatencyRecorder;
    use crate::outcomes::{Attempt, ClientResult};
    use crate::report::RunMode;

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let nanos = SystemTimeNow::nanos();
            let dir = std::env::temp_dir().join(format!(
                "loadgen-merge-{name}-{}-{nanos}",
                std::process::id()
            ));
            std::fs::create_dir_all(&dir).expect("temp dir");
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    struct SystemTimeNow;

    impl SystemTimeNow {
        fn nanos() -> u128 {
            std::time::SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        }
    }

    /// A request sample: step, completion (ms after the worker's start), corrected latency (µs),
    /// ok.
    type Sample = (&'static str, u64, u64, bool);

    fn outcome(id: &str, result: ClientResult) -> OrderOutcome {
        OrderOutcome {
            order_id: id.to_owned(),
            flow: "purchase".to_owned(),
            merchant: "sk_test_loadgen_0".to_owned(),
            amount: 1000,
            currency: "usd".to_owned(),
            expected_capture: 1000,
            expected_refund: 0,
            result,
            attempts: vec![Attempt {
                step: "create".to_owned(),
                idempotency_key: Some(format!("{id}-k0")),
                status: Some(200),
                payment_id: None,
                error: None,
                latency_us: 1000,
            }],
            first_sent_ms: None,
            challenge: None,
        }
    }

    fn capture(seq: u64, reference: &str) -> LedgerEntry {
        LedgerEntry {
            seq,
            time_ms: 1_790_000_000_000,
            merchant: "sk_test_loadgen_0".to_owned(),
            payment_id: format!("pay_{seq}"),
            reference: Some(reference.to_owned()),
            idempotency_key: None,
            kind: EntryKind::Capture,
            amount: 1000,
            currency: "usd".to_owned(),
            decline_code: None,
            reason: None,
        }
    }

    fn record_samples(recorder: &LatencyRecorder, start: Instant, samples: &[Sample]) {
        for &(step, done_ms, latency_us, ok) in samples {
            let done = start + Duration::from_millis(done_ms) + Duration::from_secs(5);
            let intended = done - Duration::from_micros(latency_us);
            // Sent a little late, so the uncorrected figure differs from the corrected one.
            let sent = intended + Duration::from_micros(latency_us / 4);
            recorder.record(step, intended, sent, done, ok);
        }
    }

    /// Writes a worker's report directory as `loadgen run` would.
    #[allow(clippy::too_many_arguments)]
    fn worker_dir(
        root: &Path,
        name: &str,
        worker: Option<(u32, u32)>,
        started_at_unix_ms: u64,
        samples: &[Sample],
        outcomes: &[OrderOutcome],
        ledger: &[LedgerEntry],
    ) -> PathBuf {
        let dir = root.join(name);
        // Second 0 five seconds back, so every sample completes at a real instant.
        let start = Instant::now();
        let recorder = LatencyRecorder::with_start(start + Duration::from_secs(5));
        record_samples(&recorder, start, samples);
        let meta = RunMeta {
            scenario: "merge-test".into(),
            mode: RunMode::Embedded,
            target_url: "http://127.0.0.1:9".into(),
            seed: 7,
            started_at_unix_ms,
            target_rate: 50.0,
            achieved_rate: 49.0,
            duration_s: 2.0,
            users: 8,
            cpu_seconds: None,
        };
        let report = RunReport::new(
            meta,
            recorder.summary(),
            recorder.timeline(),
            outcomes,
            None,
            Vec::new(),
        );
        write_report_dir(&dir, &report, Some(&recorder), Some(outcomes)).expect("reports");
        let mut text = String::new();
        for entry in ledger {
            text.push_str(&serde_json::to_string(entry).expect("entry"));
            text.push('\n');
        }
        std::fs::write(dir.join(LEDGER_NDJSON), text).expect("ledger");
        if let Some((index, count)) = worker {
            let record = WorkerRecord {
                worker: format!("{index}/{count}"),
                index,
                count,
                run_rate: 100.0,
                rate: 50.0,
                scheduled_orders: outcomes.len() as u64,
                ledger: LEDGER_NDJSON.into(),
            };
            std::fs::write(
                dir.join(WORKER_JSON),
                serde_json::to_string(&record).expect("record"),
            )
            .expect("worker.json");
        }
        dir
    }

    fn options(dirs: Vec<PathBuf>, out: PathBuf) -> MergeOptions {
        MergeOptions {
            dirs,
            report_dir: Some(out),
            ..MergeOptions::default()
        }
    }

    /// Worker 1: many fast creates; worker 2: fewer, slow ones and some captures.
    fn fast_and_slow() -> (Vec<Sample>, Vec<Sample>) {
        let fast: Vec<Sample> = (0..1000)
            .map(|i| ("create", i * 2, 1_000 + i * 7, i % 50 != 0))
            .collect();
        let mut slow: Vec<Sample> = (0..60)
            .map(|i| ("create", 100 + i * 30, 250_000 + i * 1_000, true))
            .collect();
        slow.extend((0..40).map(|i| ("capture", 200 + i * 40, 3_000 + i * 100, i != 3)));
        (fast, slow)
    }

    #[tokio::test]
    async fn merged_percentiles_are_one_histogram_over_every_request_not_averages() {
        let tmp = TempDir::new("exact");
        let (fast, slow) = fast_and_slow();
        let t0 = 1_790_000_000_000;
        let a = worker_dir(
            &tmp.0,
            "w1",
            Some((1, 2)),
            t0,
            &fast,
            &[outcome("ord-7-w1of2-0", ClientResult::Failed)],
            &[],
        );
        // Started 2 s after worker 1: its seconds land 2 s later in the merged timeline.
        let b = worker_dir(
            &tmp.0,
            "w2",
            Some((2, 2)),
            t0 + 2_000,
            &slow,
            &[outcome("ord-7-w2of2-1", ClientResult::Failed)],
            &[],
        );
        let merged = merge(options(vec![a.clone(), b.clone()], tmp.0.join("merged")))
            .await
            .expect("merges");

        // The reference: one recorder that saw every request.
        let start = Instant::now();
        let one = LatencyRecorder::with_start(start + Duration::from_secs(5));
        record_samples(&one, start, &fast);
        record_samples(&one, start, &slow);
        let expected = one.summary();
        let got = &merged.report.latency;
        assert_eq!(got.overall, expected.overall);
        assert_eq!(got.steps, expected.steps);
        assert_eq!(got.curve, expected.curve);
        assert_eq!(merged.report.requests, 1100);
        assert_eq!(merged.report.errors, 20 + 1);

        // Averaging the workers' p99s would be far off: the slow worker's tail is 10% of
        // the merged requests, so the merged p99 sits inside it, not halfway.
        let wa = read_json(&a.join(REPORT_JSON)).expect("a");
        let wb = read_json(&b.join(REPORT_JSON)).expect("b");
        let averaged =
            (wa.latency.overall.corrected.p99_ms + wb.latency.overall.corrected.p99_ms) / 2.0;
        assert!(
            (got.overall.corrected.p99_ms - averaged).abs() > 50.0,
            "merged p99 {} vs averaged {averaged}",
            got.overall.corrected.p99_ms
        );

        // Counts and rates are summed; time runs from the first start.
        let meta = &merged.report.meta;
        assert_eq!(merged.report.orders.total, 2);
        assert!((meta.target_rate - 100.0).abs() < 1e-9);
        assert!((meta.achieved_rate - 98.0).abs() < 1e-9);
        assert_eq!(meta.users, 16);
        assert_eq!(meta.started_at_unix_ms, t0);
        assert!((meta.duration_s - 4.0).abs() < 1e-9);
        let timeline_total: u64 = merged.report.timeline.iter().map(|s| s.count).sum();
        assert_eq!(timeline_total, 1100);
        let count_at = |second: u64| {
            merged
                .report
                .timeline
                .iter()
                .find(|s| s.second == second)
                .map_or(0, |s| s.count)
        };
        let second_of = |samples: &[Sample], second: u64| {
            samples.iter().filter(|s| s.1 / 1000 == second).count() as u64
        };
        for second in 0..6 {
            let expected =
                second_of(&fast, second) + second.checked_sub(2).map_or(0, |s| second_of(&slow, s));
            assert_eq!(count_at(second), expected, "second {second}");
        }

        // The merged directory is itself mergeable: its interval log holds every request.
        let hlog = read_hlog(&merged.report_dir.join(LATENCY_HLOG)).expect("hlog");
        let untagged: u64 = hlog
            .iter()
            .filter(|i| i.tag.is_none())
            .map(|i| i.histogram.len())
            .sum();
        assert_eq!(untagged, 1100);
        let again = merge(options(
            vec![merged.report_dir.clone()],
            tmp.0.join("merged-again"),
        ))
        .await
        .expect("a merge merges again");
        assert_eq!(again.report.latency.overall, expected.overall);
        let record: MergeRecord = serde_json::from_str(
            &std::fs::read_to_string(merged.report_dir.join(MERGED_JSON)).expect("merged.json"),
        )
        .expect("parses");
        assert_eq!(record.inputs.len(), 2);
        assert_eq!(record.inputs[1].worker.as_deref(), Some("2/2"));
    }

    #[tokio::test]
    async fn money_is_checked_once_over_every_outcome_and_every_ledger() {
        let tmp = TempDir::new("money");
        let t0 = 1_790_000_000_000;
        let samples: Vec<Sample> = vec![("create", 10, 1_000, true)];
        // Worker 1's order was charged on the other gateway (a shard): alone, its own check
        // would call it lost. Worker 2's order was captured once on each: a double charge
        // that neither ledger shows alone.
        let a = worker_dir(
            &tmp.0,
            "w1",
            Some((1, 2)),
            t0,
            &samples,
            &[outcome("ord-7-w1of2-0", ClientResult::Succeeded)],
            &[capture(1, "ord-7-w2of2-1")],
        );
        let b = worker_dir(
            &tmp.0,
            "w2",
            Some((2, 2)),
            t0,
            &samples,
            &[outcome("ord-7-w2of2-1", ClientResult::Succeeded)],
            &[capture(2, "ord-7-w1of2-0"), capture(3, "ord-7-w2of2-1")],
        );
        let merged = merge(options(vec![a, b], tmp.0.join("merged")))
            .await
            .expect("merges");
        let money = &merged.report.money;
        assert!(money.checked);
        assert_eq!(money.ledger_entries, 3);
        assert_eq!(money.counts.lost_charges, 0);
        assert_eq!(money.counts.double_charges, 1);
        assert_eq!(money.violations[0].order_id, "ord-7-w2of2-1");
        assert!(
            !merged.report.passed,
            "a double charge fails the merged run"
        );
    }

    #[tokio::test]
    async fn shares_that_do_not_fit_together_are_refused_or_warned_about() {
        let tmp = TempDir::new("guards");
        let t0 = 1_790_000_000_000;
        let samples: Vec<Sample> = vec![("create", 10, 1_000, true)];
        let dir = |name: &str, worker: Option<(u32, u32)>, id: &str| {
            worker_dir(
                &tmp.0,
                name,
                worker,
                t0,
                &samples,
                &[outcome(id, ClientResult::Failed)],
                &[],
            )
        };
        let w1 = dir("w1", Some((1, 3)), "ord-7-w1of3-0");
        let w1_again = dir("w1-again", Some((1, 3)), "ord-7-w1of3-3");
        let w2 = dir("w2", Some((2, 3)), "ord-7-w2of3-1");
        let other_split = dir("other", Some((2, 2)), "ord-7-w2of2-1");
        let same_orders = dir("same", None, "ord-7-w1of3-0");
        let out = tmp.0.join("out");

        let e = merge(options(vec![w1.clone(), w1_again], out.clone()))
            .await
            .expect_err("same worker twice");
        assert!(e.to_string().contains("worker 1/3 given twice"), "{e}");
        let e = merge(options(vec![w1.clone(), other_split], out.clone()))
            .await
            .expect_err("different N");
        assert!(e.to_string().contains("split differently"), "{e}");
        let e = merge(options(vec![w1.clone(), same_orders], out.clone()))
            .await
            .expect_err("an order twice");
        assert!(e.to_string().contains("ord-7-w1of3-0"), "{e}");
        let e = merge(options(Vec::new(), out.clone()))
            .await
            .expect_err("nothing");
        assert!(matches!(e, MergeError::NoInput));

        let partial = merge(options(vec![w1.clone(), w2.clone()], out.clone()))
            .await
            .expect("two of three merge");
        assert!(
            partial.warnings.iter().any(|w| w.contains("missing 3/3")),
            "{:?}",
            partial.warnings
        );

        // An interval log from another run: its counts disagree with report.json.
        std::fs::copy(partial.report_dir.join(LATENCY_HLOG), w2.join(LATENCY_HLOG)).expect("copy");
        let e = merge(options(vec![w2.clone()], tmp.0.join("out2")))
            .await
            .expect_err("mismatched hlog");
        assert!(e.to_string().contains("not the same run"), "{e}");

        // Without saved ledgers or a --ledger, there is nothing to check money against.
        std::fs::remove_file(w1.join(LEDGER_NDJSON)).expect("rm");
        let e = merge(options(vec![w1.clone()], tmp.0.join("out3")))
            .await
            .expect_err("no ledger");
        assert!(e.to_string().contains("--ledger"), "{e}");
        let missing = merge(options(vec![tmp.0.join("nope")], tmp.0.join("out4")))
            .await
            .expect_err("no dir");
        assert!(missing.to_string().contains("nope"), "{missing}");
    }
}
